# SPDX-License-Identifier: GPL-2.0
# Shell functions for one machine's part of a trip, sourced in the guest
# from the caller's own folder by side.sh and tools/test/hetero.d's
# retry.sh and killed.sh; they use the caller's $tag and $key.

# show HOP: print /tmp/out.$tag.HOP, the program's output of hop HOP run
# here, as "@@OUT TAG HOP line". A last line without a newline (the move
# came mid-line) still ends its console line, and "@@NOEOL TAG HOP" tells
# the host to join it with the next hop's first line.
show() {
	sed "s/^/@@OUT $tag $1 /" "/tmp/out.$tag.$1"
	if [ -s "/tmp/out.$tag.$1" ] && [ -n "$(tail -c1 "/tmp/out.$tag.$1" | tr -d '\n')" ]; then
		echo
		echo "@@NOEOL $tag $1"
	fi
	true
}

# send_to_peer PID PORT [SEND-OPTION...]: `hetmig send PID` to the other
# machine's PORT, tried again while nothing listens there yet (its recv
# may start later than we do; up to 40 s). Sets $out, what send said, and
# $rc, its exit status.
send_to_peer() {
	_pid=$1 _port=$2
	shift 2
	for _ in $(seq 200); do
		out=$(hetmig send "$_pid" "$HETMIG_PEER:$_port" --key "$key" "$@" 2>&1); rc=$?
		case $out in *"cannot connect"*) usleep 200000 ;; *) break ;; esac
	done
}
