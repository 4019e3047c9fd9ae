#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest B of tools/test/migrate-test: the receiving side of each case in
# sender.sh, then it sends the process back. TAP lines and @@ output.
. /root/tap.sh
recv() { out=$(hetmig recv --key /root/key --once --allow-root --output /tmp/after "$@" 2>&1); rc=$?; echo "# $out"; }
echo "TAP version 13"
# The trees sent here keep their pids, and refuse the move when one is
# taken. Our own processes (this script's every usleep and grep, each
# recv) take pids from far above A's, which the two guests would
# otherwise hand out in step: a recv that had a tree member's pid failed
# the tree's move (CI, once).
echo 30000 > /proc/sys/kernel/ns_last_pid

recv
check "recv.wrong_key_refused" has "$out" "authentication failed"

# Killed while the image streams in: an established connection on 7117.
hetmig recv --key /root/key --once --allow-root --output /tmp/after > /dev/null 2>&1 &
r=$!
until grep -q ':1BCD [0-9A-F:]* 01 ' /proc/net/tcp; do usleep 50000; done
usleep 300000
kill -9 $r
wait $r
check "recv.killed_left_nothing_running" [ ! -s /tmp/after ]

recv
check "recv.flipped_byte_refused" has "$out" "failed authentication"

migratees() { ps | grep -c '[m]igratee'; }

for range in 4000 6000000; do
	recv
	check "recv.dropped_connection_before_$range.refused" [ $rc -ne 0 ]
	check "recv.dropped_connection_before_$range.nothing_ran" [ ! -s /tmp/after ]
done

recv
check "recv.sender_gone_discards_its_copy" has "$out" "copy here was discarded"
check "recv.sender_gone_nothing_ran" [ ! -s /tmp/after ]
check "recv.sender_gone_no_copy_left" [ "$(migratees)" -eq 0 ]

HETMIG_FAULT_DIE_AFTER=ready recv
check "recv.killed_after_ready_died" [ $rc -eq 137 ]
usleep 500000
check "recv.killed_after_ready_no_copy_left" [ "$(migratees)" -eq 0 ]

# A receiver that runs out of memory (a 6 MiB cgroup) while the image comes.
mkdir -p /sys/fs/cgroup/small
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
echo 6M > /sys/fs/cgroup/small/memory.max
echo 0 > /sys/fs/cgroup/small/memory.swap.max 2>/dev/null
out=$(sh -c 'echo $$ > /sys/fs/cgroup/small/cgroup.procs; exec hetmig recv --key /root/key --once --allow-root --output /tmp/after' 2>&1); rc=$?
echo "# $out"
check "recv.out_of_memory_killed" [ $rc -eq 137 ]
check "recv.out_of_memory_no_copy_left" [ "$(migratees)" -eq 0 ]

# --live (sender.sh): memhog checks itself and exits 0 once here.
touch /tmp/arrived
HETMIG_FAULT_RECV_BEFORE_LIVE=1 recv
check "recv.live.old_receiver.refused" [ $rc -ne 0 ]
check "recv.live.old_receiver.nothing_ran" [ ! -s /tmp/after ]
recv
check "recv.live.dropped_in_precopy.refused" [ $rc -ne 0 ]
check "recv.live.dropped_in_precopy.nothing_ran" [ ! -s /tmp/after ]
rm -f /tmp/after
recv --wait
check "recv.live.arrived_with_its_memory_intact" [ $rc -eq 0 ]
check "recv.live.checked_here" grep -q "checked after the move: ok" /tmp/after
[ $rc -eq 0 ] || tail -3 /tmp/after | sed 's/^/# hog: /'
rm -f /tmp/after
recv --wait
check "recv.live.too_fast.arrived_with_its_memory_intact" [ $rc -eq 0 ]
check "recv.live.too_fast.checked_here" grep -q "checked after the move: ok" /tmp/after
[ $rc -eq 0 ] || tail -3 /tmp/after | sed 's/^/# hog: /'
rm -f /tmp/after
recv
check "recv.live.max_downtime.refused" [ $rc -ne 0 ]
check "recv.live.max_downtime.nothing_ran" [ ! -s /tmp/after ]

recv
check "recv.exit_0" [ $rc -eq 0 ]
pid=$(echo "$out" | sed -n 's/.*runs here as pid \([0-9]*\).*/\1/p')
wait_for /tmp/after "sum"
check "recv.process_runs_here" grep -q sum /tmp/after

# And back to A.
for i in $(seq 100); do
	out=$(hetmig send $pid $HETMIG_PEER --key /root/key 2>&1); rc=$?
	case $out in *"cannot connect"*) usleep 300000 ;; *) break ;; esac
done
echo "# $out"
check "send.back_exit_0" [ $rc -eq 0 ]
sed 's/^/@@DST /' /tmp/after

# A's process tree: its stdout (a file on A) is our --output here; told
# to check itself, it finds its links, groups, sessions, shared memory
# and zombies as they were.
out=$(hetmig recv --key /root/key --once --allow-root --output /tmp/tree 2>&1); rc=$?
echo "# $out"
check "recv.tree_exit_0" [ $rc -eq 0 ]
pid=$(echo "$out" | sed -n 's/.*runs here as pid \([0-9]*\).*/\1/p')
[ -n "$pid" ] && kill -TERM $pid
wait_for /tmp/tree "^tree: [^r]"
sed 's/^/# /' /tmp/tree
check "recv.tree_intact" grep -q "^tree: intact" /tmp/tree

# A's tree with pipes and an eventfd between its processes: each reads
# the bytes of the dump once and the others' writes after it.
out=$(hetmig recv --key /root/key --once --allow-root --output /tmp/treefds 2>&1); rc=$?
echo "# $out"
check "recv.treefds_exit_0" [ $rc -eq 0 ]
pid=$(echo "$out" | sed -n 's/.*runs here as pid \([0-9]*\).*/\1/p')
[ -n "$pid" ] && kill -TERM $pid
wait_for /tmp/treefds "^treefds: [^r]"
sed 's/^/# /' /tmp/treefds
check "recv.treefds_intact" grep -q "^treefds: intact" /tmp/treefds
# sender.sh's 64 MiB memhog, without --live: streamed, so this receiver's
# peak memory stays below the process's size (it held the whole image
# before: 64 MiB and more), and memhog finds its memory whole here.
touch /tmp/arrived
rm -f /tmp/after
recv --wait
check "recv.streamed.arrived_with_its_memory_intact" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -3 /tmp/after | sed 's/^/# hog: /'
peak=$(echo "$out" | sed -n 's/.*peak memory during the move: \([0-9]*\).*/\1/p')
check "recv.streamed.peak_memory_below_the_process_size" [ "${peak:-999}" -lt 48 ]

# sender.sh's --lazy moves: memhog checks all of its memory here as it
# comes; a copy whose sender died is killed, not left running on zeros;
# postcopy.c checks its memory through fork, mremap, madvise, munmap and
# the kernel's reads.
rm -f /tmp/after
recv --wait
check "recv.lazy.arrived_with_its_memory_intact" [ $rc -eq 0 ]
check "recv.lazy.checked_here" grep -q "checked after the move: ok" /tmp/after
check "recv.lazy.filled_as_it_ran" has "$out" "post-copy: 64.0 MiB filled"
[ $rc -eq 0 ] || tail -3 /tmp/after | sed 's/^/# hog: /'
rm -f /tmp/after
recv
check "recv.lazy.sender_killed.refused" [ $rc -ne 0 ]
check "recv.lazy.sender_killed.says_copy_killed" has "$out" "was killed"
# no_memhog_left NAME: the copy of a failed lazy move is gone, and it
# never passed a check here (a check reads all of its memory).
no_memhog_left() {
	usleep 500000
	check "$1.no_copy_left" [ "$(ps | grep -c '[m]emhog')" -eq 0 ]
	check "$1.never_checked_here" [ "$(grep -c 'checked after the move' /tmp/after)" -eq 0 ]
}
no_memhog_left recv.lazy.sender_killed
rm -f /tmp/after
HETMIG_FAULT_DIE_AFTER=filling recv
check "recv.lazy.receiver_killed.died" [ $rc -eq 137 ]
no_memhog_left recv.lazy.receiver_killed
rm -f /tmp/after
HETMIG_FAULT_DIE_AFTER=forked recv
check "recv.lazy.receiver_killed_after_fork.died" [ $rc -eq 137 ]
usleep 500000
check "recv.lazy.receiver_killed_after_fork.no_copy_left" [ "$(ps | grep -c '[p]ostcopy')" -eq 0 ]
check "recv.lazy.receiver_killed_after_fork.child_read_no_zeros" sh -c '! grep -q differs /tmp/after 2>/dev/null'
rm -f /tmp/after
recv --wait
check "recv.lazy.events.exit_0" [ $rc -eq 0 ]
check "recv.lazy.events.memory_right_through_each" grep -q "^postcopy: ok" /tmp/after
[ $rc -eq 0 ] || sed 's/^/# postcopy: /' /tmp/after
rm -f /tmp/after
recv
check "recv.lazy.tree.refused" [ $rc -ne 0 ]
check "recv.lazy.tree.nothing_ran" [ ! -s /tmp/after ]
echo "1..$n"
