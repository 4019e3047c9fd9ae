#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest A of tools/test/migrate-test: starts migratee, tries to send it
# through the failure cases, then for real, and takes it back at the end.
# Prints TAP lines of its own checks and @@ lines of output for the host.
M=/usr/lib/hetmig/selftests/migratee
STEPS=60
. /root/tap.sh
# start: migratee in the background, after its first lines (the last run's
# output removed first, or wait_for could find its "step 2 " before the
# background shell truncates the file).
start() { rm -f /tmp/run; "$M" /root/in $STEPS 100 > /tmp/run 2>/tmp/run.err & pid=$!; wait_for /tmp/run "step 2 "; }
# send ARGS...: retried while the receiver is not listening yet (nothing
# is frozen before the connection is authenticated).
send() {
	for i in $(seq 100); do
		out=$(hetmig send $pid $HETMIG_PEER "$@" 2>&1); rc=$?
		case $out in *"cannot connect"*) usleep 300000 ;; *) break ;; esac
	done
	echo "# $out"
}
# stop_if_not_sent: a tree a failed send left running here, told to end
# (its root checks itself on SIGTERM), so that waiting for it ends too.
stop_if_not_sent() { [ $rc -eq 0 ] || kill -TERM $pid; }
runs_on() { a=$(awk '{print $14}' /proc/$pid/stat); usleep 300000; b=$(awk '{print $14}' /proc/$pid/stat); [ "$a" != "$b" ]; }
# intact: the source ended with 0 and wrote what an unmoved run writes; if
# not, its status, what it said on stderr and where its output went wrong.
intact() {
	wait $pid; st=$?
	[ $st -eq 0 ] && cmp -s /tmp/run /tmp/ref && return 0
	echo "# migratee exited with $st"
	grep -v '^migratee: pid' /tmp/run.err | head -5 | sed 's/^/# stderr: /'
	diff /tmp/ref /tmp/run | head -8 | sed 's/@@/==/g; s/^/# diff: /'
	false
}

echo "TAP version 13"
"$M" /root/in $STEPS 100 > /tmp/ref 2>/dev/null
sed 's/^/@@REF /' /tmp/ref

start
send --key /root/badkey
check "send.wrong_key_fails_not_permitted" [ $rc -eq 77 ]
check "send.wrong_key_says_so" has "$out" "authentication failed"
check "send.wrong_key_source_runs_on" runs_on
check "send.wrong_key_source_output_intact" intact

start
send --key /root/key --no-compress
check "send.receiver_killed_fails" [ $rc -eq 1 ]
check "send.receiver_killed_source_runs_on" runs_on
check "send.receiver_killed_source_output_intact" intact

start
HETMIG_FAULT_FLIP_BYTE=300000 send --key /root/key --no-compress
check "send.flipped_byte_fails" [ $rc -eq 1 ]
check "send.flipped_byte_says_so" has "$out" "authentication"
check "send.flipped_byte_source_runs_on" runs_on
check "send.flipped_byte_source_output_intact" intact

# The connection cut at a random point: early (handshake, metadata) and
# in the middle of the pages.
for range in 4000 6000000; do
	at=$(awk -v r=$range 'BEGIN { srand(); print int(rand() * r) + 1 }')
	echo "# dropping the connection after $at bytes"
	start
	HETMIG_FAULT_DROP_AT=$at send --key /root/key --no-compress
	check "send.dropped_connection_before_$range.fails" [ $rc -ne 0 ]
	check "send.dropped_connection_before_$range.source_runs_on" runs_on
	check "send.dropped_connection_before_$range.source_output_intact" intact
done

start
HETMIG_FAULT_DIE_AFTER=ready send --key /root/key
check "send.sender_killed_after_ready_died" [ $rc -eq 137 ]
check "send.sender_killed_after_ready_source_runs_on" runs_on
check "send.sender_killed_after_ready_source_output_intact" intact

start
send --key /root/key
check "send.receiver_killed_after_ready_fails" [ $rc -eq 1 ]
check "send.receiver_killed_after_ready_source_runs_on" runs_on
check "send.receiver_killed_after_ready_source_output_intact" intact

start
send --key /root/key
check "send.receiver_out_of_memory_fails" [ $rc -eq 1 ]
check "send.receiver_out_of_memory_source_runs_on" runs_on
check "send.receiver_out_of_memory_source_output_intact" intact

# --live: memhog rewrites RATE MiB/s of its 16 MiB and checks its whole
# memory each second (every page whole, the generations adding up to the
# writes it made: a stale page fails); it exits 0 after a check once
# /tmp/arrived exists, which only B has.
H=/usr/lib/hetmig/selftests/memhog
hog() { rm -f /tmp/hog /tmp/arrived; "$H" "${2:-16}" "$1" /tmp/arrived > /tmp/hog 2>&1 & pid=$!; wait_for /tmp/hog "check 1 ok"; }
checks() { grep -c "^check" /tmp/hog; }
# postcopy_started [tree]: postcopy.c running here, waiting for
# /tmp/arrived (which only B has) before it uses its memory.
postcopy_started() {
	rm -f /tmp/arrived /tmp/pc
	/usr/lib/hetmig/selftests/postcopy /tmp/arrived "$@" > /tmp/pc 2>&1 &
	pid=$!
	wait_for /tmp/pc "ready"
}
# runs_on_intact NAME TRIES: memhog, left here by a failed move, makes a
# new check within TRIES fifths of a second (it checks once a second), and
# told to end, ends with its memory whole.
runs_on_intact() {
	before=$(checks); i=0
	until [ "$(checks)" -gt "$before" ] || [ $i -ge "$2" ]; do usleep 200000; i=$((i + 1)); done
	check "$1.source_runs_on" [ "$(checks)" -gt "$before" ]
	touch /tmp/arrived; wait $pid; st=$?
	[ $st -eq 0 ] || tail -3 /tmp/hog | sed 's/^/# hog: /'
	check "$1.source_memory_intact" [ $st -eq 0 ]
}

# A receiver from before --live (HETMIG_FAULT_RECV_BEFORE_LIVE) refuses
# it, and the process was never stopped.
hog 4
send --key /root/key --live
check "live.old_receiver.fails" [ $rc -ne 0 ]
check "live.old_receiver.says_so" has "$out" "does not take pre-copy rounds"
check "live.old_receiver.says_not_stopped" has "$out" "was not stopped"
touch /tmp/arrived; wait $pid
check "live.old_receiver.source_memory_intact" [ $? -eq 0 ]

# The connection cut in the first round: the source was never frozen.
hog 4
HETMIG_FAULT_DROP_AT=3000000 send --key /root/key --live
check "live.dropped_in_precopy.fails" [ $rc -ne 0 ]
check "live.dropped_in_precopy.says_not_stopped" has "$out" "was not stopped"
runs_on_intact live.dropped_in_precopy 15

hog 4
send --key /root/key --live
check "live.exit_0" [ $rc -eq 0 ]
check "live.sent_rounds" has "$out" "pre-copy round 1:"
check "live.reports_the_final_round" has "$out" "MiB in the final round"
wait $pid
check "live.source_gone" [ $? -eq 137 ]

# Dirtying faster than the wire carries: the rounds give up and it moves
# by stop-and-copy all the same.
hog 64
send --key /root/key --live --max-rounds 2
check "live.too_fast.exit_0" [ $rc -eq 0 ]
check "live.too_fast.gave_up" has "$out" "pre-copy gave up"
wait $pid
check "live.too_fast.source_gone" [ $? -eq 137 ]

# The same with --max-downtime 1: the final round would stop it longer,
# so the move is refused before the process is stopped, with the estimate.
hog 64
send --key /root/key --live --max-rounds 2 --max-downtime 1
check "live.max_downtime.fails" [ $rc -ne 0 ]
check "live.max_downtime.says_the_estimate" has "$out" "than --max-downtime 1 ms"
check "live.max_downtime.says_not_stopped" has "$out" "was not stopped"
touch /tmp/arrived; wait $pid; st=$?
[ $st -eq 0 ] || tail -3 /tmp/hog | sed 's/^/# hog: /'
check "live.max_downtime.source_memory_intact" [ $st -eq 0 ]

# The real move is --live: migratee (4 threads, a private file page
# written, signals) goes in rounds, and its output across A, B and A
# again must still equal an unmoved run's. B sends it back without.
start
send --key /root/key --live
check "send.exit_0" [ $rc -eq 0 ]
check "send.reports_new_pid_and_downtime" has "$out" "now runs on $HETMIG_PEER as pid"
check "send.live_sent_rounds" has "$out" "pre-copy round 1:"
wait $pid
check "send.source_gone" [ $? -eq 137 ]
sed 's/^/@@SRC /' /tmp/run

# The process comes back here (A to B to A).
out=$(hetmig recv --key /root/key --once --allow-root --output /tmp/back 2>&1); rc=$?
echo "# $out"
check "recv.back_exit_0" [ $rc -eq 0 ]
wait_for /tmp/back "^done"
sed 's/^/@@BACK /' /tmp/back

# A process tree (tree.c: children, a grandchild, groups, a session,
# shared memory, zombies) moved to B whole; B checks it there.
/usr/lib/hetmig/selftests/tree > /tmp/tree 2>&1 &
pid=$!
wait_for /tmp/tree "ready"
send --key /root/key
check "send.tree_exit_0" [ $rc -eq 0 ]
check "send.tree_moved_whole" has "$out" "and 4 processes of its tree"
stop_if_not_sent
wait $pid
check "send.tree_source_gone" [ $? -eq 137 ]

# A tree whose processes share pipes with bytes in them and an eventfd
# (treefds.c) moved to B whole; B checks they are one pipe and one eventfd.
/usr/lib/hetmig/selftests/treefds > /tmp/treefds 2>&1 &
pid=$!
wait_for /tmp/treefds "ready"
send --key /root/key
check "send.treefds_exit_0" [ $rc -eq 0 ]
check "send.treefds_moved_whole" has "$out" "and 2 processes of its tree"
stop_if_not_sent
wait $pid
check "send.treefds_source_gone" [ $? -eq 137 ]
# 64 MiB without --live: B streams it into the process being rebuilt,
# holding a record at a time, never the image; memhog checks its memory
# there.
hog 1 64
send --key /root/key
check "streamed.exit_0" [ $rc -eq 0 ]
wait $pid
check "streamed.source_gone" [ $? -eq 137 ]

# --lazy: memhog (64 MiB) runs on B at once, its memory following it
# (post-copy) while it checks all of it there.
hog 1 64
send --key /root/key --lazy
check "lazy.exit_0" [ $rc -eq 0 ]
check "lazy.served_the_memory_after" has "$out" "post-copy:"
wait $pid
check "lazy.source_gone" [ $? -eq 137 ]

# The sender dies during post-copy: B kills its copy (its memory cannot
# be completed), and the source, whose freeze died with the sender, runs
# on here from where it stopped, its memory whole.
hog 1 64
HETMIG_FAULT_DIE_AFTER=postcopy send --key /root/key --lazy
check "lazy.sender_killed.died" [ $rc -eq 137 ]
runs_on_intact lazy.sender_killed 25

# The receiver dies during post-copy: its keeper kills the copy there
# (pages not yet there would read as zeros), send fails, and the source
# runs on here.
hog 1 64
send --key /root/key --lazy
check "lazy.receiver_killed.fails" [ $rc -ne 0 ]
check "lazy.receiver_killed.says_thawed" has "$out" "thawed"
runs_on_intact lazy.receiver_killed 25

# The receiver dies right after the copy forked during post-copy: the
# keeper holds the child's userfaultfd too (so the child never reads
# zeros) and kills both; the source runs on here and checks its memory.
postcopy_started
send --key /root/key --lazy
check "lazy.receiver_killed_after_fork.fails" [ $rc -ne 0 ]
touch /tmp/arrived; wait $pid; st=$?
[ $st -eq 0 ] || sed 's/^/# postcopy: /' /tmp/pc
check "lazy.receiver_killed_after_fork.source_memory_intact" [ $st -eq 0 ]
rm -f /tmp/arrived

# Forks, mremap, MADV_DONTNEED, munmap and kernel reads of pages still
# on their way (postcopy.c): the program checks its memory through each.
postcopy_started
send --key /root/key --lazy
check "lazy.events.exit_0" [ $rc -eq 0 ]
wait $pid
check "lazy.events.source_gone" [ $? -eq 137 ]

# The same as a tree: a child made before the move holds other bytes at
# the same addresses. Refused for now (a tree's lazy move failed once in
# four runs, not understood yet): the tree is thawed and checks its memory
# here.
postcopy_started tree
send --key /root/key --lazy
check "lazy.tree.refused" [ $rc -ne 0 ]
check "lazy.tree.says_why" has "$out" "child processes"
touch /tmp/arrived; wait $pid; st=$?
[ $st -eq 0 ] || sed 's/^/# postcopy: /' /tmp/pc
check "lazy.tree.source_runs_on_intact" [ $st -eq 0 ]
echo "1..$n"
