#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest B of tools/test/tcp-send-test: the peer of the moved process (not
# moved), a receiver that lacks the process's address, then one that has
# it; the process, received, checks its connections with the peer. TAP.
. /root/tap.sh
T=/usr/lib/hetmig/selftests/tcp
recv() { out=$(hetmig recv --key /root/key --once --allow-root --output /tmp/after 2>&1); rc=$?; echo "# $out"; }
echo "TAP version 13"
HETMIG_TCP_PEER=$HETMIG_SELF HETMIG_TCP_PORT=7201 "$T" peer > /tmp/peer 2>&1 &
peer=$!

recv
check "recv.missing_address_refused" [ $rc -ne 0 ]
check "recv.missing_address_named" has "$out" "binding to 10.0.2.100:"
check "recv.missing_address_nothing_ran" [ ! -s /tmp/after ]

ip addr add 10.0.2.100/32 dev eth0
recv
check "recv.received" [ $rc -eq 0 ]
pid=$(echo "$out" | sed -n 's/.*runs here as pid \([0-9]*\).*/\1/p')
kill -TERM $peer $pid
wait_for /tmp/after "^tcp: [ib]"
wait $peer
# Their own checks' TAP lines ("ok - NAME"), numbered by the host.
sed -n 's/^ok - /ok 0 moved./p; s/^not ok - /not ok 0 moved./p' /tmp/after /tmp/peer
check "recv.carried" grep -q "^tcp: intact" /tmp/after
check "recv.peer_never_noticed" grep -q "^peer: intact" /tmp/peer
grep -q "^tcp: intact" /tmp/after && grep -q "^peer: intact" /tmp/peer ||
	sed 's/^/# /' /tmp/after /tmp/peer
