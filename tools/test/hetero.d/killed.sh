#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# One machine's part of a cross-ISA move whose sender is killed once the
# receiver is ready (HETMIG_FAULT_DIE_AFTER=ready), after the program was
# parked, frozen and converted:
#   killed.sh SIDE TAG PORT
# Side a runs /root/recurse.x86_64 parked at its 25th point and sends it
# with --parked; the kill ends the freeze, and the program must let itself
# go from its point (its holder is gone) and run on to its end. Side b
# receives; it must discard its copy. Prints "# TAG hop N: ..." lines,
# "@@OUT"/"@@NOEOL"/"@@STATUS" as side.sh, "@@KILLED TAG RC" (send's exit
# status), "@@STUCK TAG" when the program did not end within 120 s, and
# "@@LEFT TAG N" on b.
side=$1 tag=$2 port=$3
key=/root/key
. "$(dirname "$0")/trip-lib.sh"

if [ "$side" = b ]; then
	out=$(hetmig recv --key "$key" --once --allow-root --listen "0.0.0.0:$port" \
		--output "/tmp/out.$tag.1" 2>&1)
	echo "$out" | sed "s/^/# $tag hop 1: /"
	usleep 500000
	echo "@@LEFT $tag $(grep -l /root/recurse.aarch64 /proc/[0-9]*/maps 2>/dev/null | wc -l)"
	exit 0
fi

# shellcheck disable=SC2046
HETMIG_PARK_AT=25 /root/recurse.x86_64 $(cat /root/args.1) > "/tmp/out.$tag.0" &
pid=$!
while [ "$(readlink /proc/$pid/exe)" = "$(readlink /proc/$$/exe)" ]; do :; done
export HETMIG_FAULT_DIE_AFTER=ready
send_to_peer "$pid" "$port" --parked --park-timeout 600
unset HETMIG_FAULT_DIE_AFTER
echo "$out" | sed "s/^/# $tag hop 0: /"
echo "@@KILLED $tag $rc"
# Before parked processes watched their holder, this one waited for ever.
i=0
while [ -d /proc/$pid ] && [ "$(awk '{print $3}' /proc/$pid/stat)" != Z ] && [ $i -lt 1200 ]; do
	usleep 100000; i=$((i + 1))
done
if [ $i -ge 1200 ]; then
	echo "@@STUCK $tag"
	kill -9 $pid
fi
wait $pid; status=$?
show 0
echo "@@STATUS $tag $status"
exit 0
