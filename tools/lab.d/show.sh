# SPDX-License-Identifier: GPL-2.0
# Sourced by side.sh and tools/test/hetero.d/retry.sh (in the guest, from
# their own folder). show HOP: print /tmp/out.$tag.HOP, the program's output
# of hop HOP run here, as "@@OUT TAG HOP line". A last line without a
# newline (the move came mid-line) still ends its console line, and
# "@@NOEOL TAG HOP" tells the host to join it with the next hop's first
# line.
show() {
	sed "s/^/@@OUT $tag $1 /" "/tmp/out.$tag.$1"
	if [ -s "/tmp/out.$tag.$1" ] && [ -n "$(tail -c1 "/tmp/out.$tag.$1" | tr -d '\n')" ]; then
		echo
		echo "@@NOEOL $tag $1"
	fi
	true
}
