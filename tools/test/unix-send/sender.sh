#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest A of tools/test/unix-send-test: unixsock (selftests) with its
# sockets under /tmp/us, sent to B first while a process there listens at
# /tmp/us/listen.sock (refused, the source runs on), then once it is gone.
# TAP lines.
. /root/tap.sh
U=/usr/lib/hetmig/selftests/unixsock
send() {
	for i in $(seq 100); do
		out=$(hetmig send $pid $HETMIG_PEER --key /root/key 2>&1); rc=$?
		case $out in *"cannot connect"*) usleep 300000 ;; *) break ;; esac
	done
	echo "# $out"
}
echo "TAP version 13"
mkdir -p /tmp/us
"$U" /tmp/us > /tmp/unixsock 2>&1 &
pid=$!
wait_for /tmp/unixsock "^unixsock: ready"
sed 's/^/# /' /tmp/unixsock

# 1. A process on B listens at the path: refused before the commit,
# naming it, and the source thaws.
send
check "send.live_listener_fails" [ $rc -ne 0 ]
check "send.live_listener_named" has "$out" "/tmp/us/listen.sock is a unix socket that a process here listens on"
check "send.live_listener_source_thawed" has "$out" "process $pid thawed: it runs on here"
check "send.live_listener_source_runs_on" [ -d /proc/$pid ]

# 2. Moved once B's listener is gone (receiver.sh checks it there).
send
check "send.moved" [ $rc -eq 0 ]
wait $pid 2>/dev/null
check "send.source_gone" [ ! -d /proc/$pid ]
