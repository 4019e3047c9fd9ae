#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# One machine's part of a trip along hops, for tools/lab and the tests:
#   side.sh SIDE START HOPS EVERY PROG [TAG [ARGSFILE [PORT]]]
# SIDE is a or b; hop i runs on side START if i is even, else on the other.
# HOPS is the number of hops; EVERY is N or FIRST,N: the first move at
# the FIRST-th migration point of the run (exact: the program parks there
# by itself, HETMIG_PARK_AT), each later one N points after the process
# arrived. PROG is the program's path without its ISA suffix; its
# arguments are in ARGSFILE (default /root/args). PORT (default 7117) is
# the trip's own, so that trips can run side by side. Prints the
# program's output of each hop run here as "@@OUT TAG HOP line", its exit
# status "@@STATUS TAG n" and a failure "@@FAILED TAG reason". Both
# machines run the same trips in the same order: each hop's send and recv
# pair them up. HETMIG_SEND_OPTS, if set, goes to every send (--live).
side=$1 start=$2 hops=$3 every=$4 prog=$5 tag=${6:-0} argsfile=${7:-/root/args} port=${8:-7117}
first_at=${every%%,*} then=${every#*,}
isa=$(uname -m)
key=/root/key
first=0; [ "$side" != "$start" ] && first=1

. "$(dirname "$0")/trip-lib.sh"

# Hops run here are shown when the trip ends here: printing a long output
# on the console takes a while, and the next hop's recv must be ready.
shown=
finish() { for h in $shown; do show "$h"; done; }

i=$first
while [ $i -lt "$hops" ]; do
	last=0; [ $((i + 1)) -eq "$hops" ] && last=1
	if [ $i -eq 0 ]; then
		# It stops at point FIRST and waits for the send below, however
		# long that takes to come: no race with a short program.
		# shellcheck disable=SC2046
		park=$first_at; [ $last -eq 1 ] && park=
		HETMIG_PARK_AT=$park "$prog.$isa" $(cat "$argsfile") > /tmp/out.$tag.0 &
		pid=$!
		# send must see the program, not the shell's child before its exec.
		while [ "$(readlink /proc/$pid/exe)" = "$(readlink /proc/$$/exe)" ]; do :; done
		how="--parked --park-timeout 600"
	else
		how="--at-point $then"
		wait_flag=; [ $last -eq 1 ] && wait_flag=--wait
		out=$(hetmig recv --key $key --once --allow-root --listen 0.0.0.0:$port \
			--output /tmp/out.$tag.$i $wait_flag 2>&1); rc=$?
		echo "$out" | sed "s/^/# $tag hop $i: /"
		pid=$(echo "$out" | sed -n 's/.*runs here as pid \([0-9]*\).*/\1/p')
		if [ -z "$pid" ]; then
			finish
			echo "@@FAILED $tag receiving hop $i: $(echo "$out" | tail -n1)"
			exit 0
		fi
		# Its exe link, while it runs here (the last hop's has ended):
		# "@@EXE TAG HOP LINK BUILD", LINK this machine's BUILD.
		[ $last -eq 1 ] || echo "@@EXE $tag $i $(readlink /proc/$pid/exe) $prog.$isa"
	fi
	if [ $last -eq 1 ]; then
		if [ $i -eq 0 ]; then wait $pid; rc=$?; fi
		shown="$shown $i"; finish
		echo "@@STATUS $tag $rc"
		exit 0
	fi
	# shellcheck disable=SC2086
	send_to_peer "$pid" "$port" $how ${HETMIG_SEND_OPTS:-}
	echo "$out" | sed "s/^/# $tag hop $i: /"
	if [ $rc -ne 0 ]; then
		echo "@@FAILED $tag the move after hop $i: $(echo "$out" | tail -n1)"
		# The source runs on: let it finish so its output is complete.
		# A process received here is not our child: its output as far
		# as it got (it may have ended before the request reached it).
		if [ $i -eq 0 ]; then wait $pid; fi
		shown="$shown $i"
		finish
		exit 0
	fi
	[ $i -eq 0 ] && wait $pid
	shown="$shown $i"
	i=$((i + 2))
done
finish
