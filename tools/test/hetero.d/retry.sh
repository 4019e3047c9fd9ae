#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# One machine's part of a move of retry.c (tools/test/hetero.d) by a plain
# `hetmig send`, not --parked, so that send asks at the next point and,
# when the converter refuses that point, at the ones after it:
#   retry.sh SIDE TAG PORT [SEND-OPTION...]
# Side a starts /root/retry.x86_64, waits for its cue (its first line:
# it is in the refused region, waiting for requests) and sends it to side
# b with the options given (e.g. --max-points 2); side b receives it with
# `hetmig recv --once --wait`, then counts the processes left there that
# map the program. Prints what side.sh prints (each line hetmig said as
# "# TAG hop N: ...", "@@OUT", "@@NOEOL", "@@STATUS", "@@FAILED"), and
# "@@LEFT TAG N" on b.
side=$1 tag=$2 port=$3; shift 3
key=/root/key

. "$(dirname "$0")/trip-lib.sh"

if [ "$side" = b ]; then
	out=$(hetmig recv --key "$key" --once --wait --allow-root --listen "0.0.0.0:$port" \
		--output "/tmp/out.$tag.1" 2>&1); rc=$?
	echo "$out" | sed "s/^/# $tag hop 1: /"
	if echo "$out" | grep -q 'runs here as pid'; then
		show 1
		echo "@@STATUS $tag $rc"
	fi
	# Nothing of a refused move may stay: no process maps the program.
	echo "@@LEFT $tag $(grep -l /root/retry.aarch64 /proc/[0-9]*/maps 2>/dev/null | wc -l)"
	exit 0
fi

/root/retry.x86_64 120 > "/tmp/out.$tag.0" &
pid=$!
for _ in $(seq 600); do
	grep -q '^refused region' "/tmp/out.$tag.0" && break
	usleep 100000
done
send_to_peer "$pid" "$port" "$@"
echo "$out" | sed "s/^/# $tag hop 0: /"
wait $pid; status=$?
show 0
if [ "$rc" -ne 0 ]; then
	echo "@@FAILED $tag the move after hop 0: $(echo "$out" | tail -n1)"
	echo "@@STATUS $tag $status"  # the source ran on to its end
fi
exit 0
