#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest A of tools/test/tcp-send-test: tcp (selftests) with its connection
# to B's peer from a service address, 10.0.2.100, that A has; sent to B
# first while B lacks the address (refused, the source runs on), then
# once B has it. TAP lines.
. /root/tap.sh
T=/usr/lib/hetmig/selftests/tcp
send() {
	for i in $(seq 100); do
		out=$(hetmig send $pid $HETMIG_PEER --key /root/key 2>&1); rc=$?
		case $out in *"cannot connect"*) usleep 300000 ;; *) break ;; esac
	done
	echo "# $out"
}
echo "TAP version 13"
ip addr add 10.0.2.100/32 dev eth0
HETMIG_TCP_PEER=$HETMIG_PEER HETMIG_TCP_LOCAL=10.0.2.100 "$T" 7201 > /tmp/tcp 2>&1 &
pid=$!
wait_for /tmp/tcp "^tcp: ready"
sed 's/^/# /' /tmp/tcp
p=$(sed -n 's/.* P \([0-9]*\) .*/\1/p' /tmp/tcp)

# 1. The destination lacks 10.0.2.100: refused before the commit, naming
# the fd, the address and the port.
send
check "send.missing_address_fails" [ $rc -ne 0 ]
check "send.missing_address_named" has "$out" "fd $p, a TCP connection 10.0.2.100:"
check "send.missing_address_explained" has "$out" "that address is not on this machine (add it to an interface first"
check "send.missing_address_source_thawed" has "$out" "process $pid thawed: it runs on here"
check "send.missing_address_source_runs_on" [ -d /proc/$pid ]

# 2. Moved once the destination has it (receiver.sh): the source is gone
# without a word to the peer, and the address goes with the process.
send
check "send.moved" [ $rc -eq 0 ]
wait $pid 2>/dev/null
check "send.source_gone" [ ! -d /proc/$pid ]
ip addr del 10.0.2.100/32 dev eth0
