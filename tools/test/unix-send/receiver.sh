#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest B of tools/test/unix-send-test: a process listening at the moved
# process's path, which the first move must leave alone; then a receiver
# where the path is free, and the process, received, checks its sockets.
# TAP lines.
. /root/tap.sh
U=/usr/lib/hetmig/selftests/unixsock
recv() { out=$(hetmig recv --key /root/key --once --allow-root --output /tmp/after 2>&1); rc=$?; echo "# $out"; }
echo "TAP version 13"
mkdir -p /tmp/us
"$U" /tmp/us listen > /tmp/listener 2>&1 &
listener=$!
wait_for /tmp/listener "^unixsock: listening"

recv
check "recv.live_listener_refused" [ $rc -ne 0 ]
check "recv.live_listener_named" has "$out" "/tmp/us/listen.sock is a unix socket that a process here listens on"
check "recv.live_listener_left_alone" kill -0 $listener
check "recv.live_listener_nothing_ran" [ ! -s /tmp/after ]
kill -TERM $listener
wait $listener

recv
check "recv.received" [ $rc -eq 0 ]
pid=$(echo "$out" | sed -n 's/.*runs here as pid \([0-9]*\).*/\1/p')
kill -TERM $pid
wait_for /tmp/after "^unixsock: [^r]"
check "recv.carried" grep -q "^unixsock: intact" /tmp/after
grep -q "^unixsock: intact" /tmp/after || sed 's/^/# /' /tmp/after
