#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hetmig dump and restore through a file on one machine: a multi-threaded
# program (migratee: threads, FP, TLS, heap, file mappings, signal handlers,
# an open file) moved mid-run gives the output of an unmoved run, and every
# bad image or unsupported process is refused with the source running on.
# Needs root; TAP output.
dir=$(dirname "$0")
M=$dir/migratee
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
has() { case $1 in *"$2"*) true ;; *) echo "# expected '$2' in: $1"; false ;; esac; }
hasnt() { case $1 in *"$2"*) echo "# did not expect '$2' in: $1"; false ;; *) true ;; esac; }

echo "TAP version 13"
echo "1..145"

work=$(mktemp -d)
head -c 65536 /dev/urandom > "$work/in"
STEPS=16
"$M" "$work/in" $STEPS 20 > "$work/ref" 2>/dev/null

# wait_for FILE TEXT: up to 60 s for TEXT to appear in FILE.
wait_for() { i=0; until grep -q "$2" "$1" 2>/dev/null || [ $i -ge 300 ]; do usleep 200000; i=$((i + 1)); done; }
# start: migratee in the background, after its first lines. The last run's
# output goes first: the background shell truncates it only when it gets
# to run, and until then wait_for would find that run's "step 2 " in it.
start() { rm -f "$work/run"; "$M" "$work/in" $STEPS 20 > "$work/run" 2>"$work/err" & pid=$!; wait_for "$work/run" "step 2 "; }
runs_on() { a=$(awk '{print $14}' /proc/$pid/stat); usleep 300000; b=$(awk '{print $14}' /proc/$pid/stat); [ "$a" != "$b" ]; }
finishes_intact() { wait $pid; rc=$?; [ $rc -eq 0 ] && cmp -s "$work/run" "$work/ref"; }

# 1. The move itself. Its stdout and stderr are regular files that are
# here as they were: carried, the restored process writes on in them at
# its offset, and nothing goes to --output.
start
out=$(hetmig dump $pid -o "$work/img" 2>&1); rc=$?
check "dump_restore.dump_exit_0" [ $rc -eq 0 ]
check "dump_restore.dump_reports_threads" has "$out" "(4 threads,"
wait $pid 2>/dev/null
check "dump_restore.source_stopped_for_good" [ ! -d /proc/$pid ]
before=$(wc -l < "$work/run")
out=$(hetmig restore "$work/img" --allow-root --output "$work/after" 2>&1); rc=$?
check "dump_restore.restore_exit_0" [ $rc -eq 0 ]
check "dump_restore.restore_keeps_the_pid" has "$out" "restored as pid $pid "
check "dump_restore.carried_stdout_not_replaced" hasnt "$out" "stdout was"
wait_for "$work/run" "^done"
check "dump_restore.output_equals_an_unmoved_run" cmp "$work/run" "$work/ref"
check "dump_restore.nothing_went_to_output" [ ! -s "$work/after" ]
check "dump_restore.moved_mid_run" [ "$before" -lt $((STEPS + 1)) ]

# The same move through a compressed image: format 2, its records
# compressed side by side, one thread per CPU.
start
hetmig dump $pid -o "$work/imgz" --compress > /dev/null 2>&1; rc=$?
check "dump_restore.compressed_dump_exit_0" [ $rc -eq 0 ]
wait $pid 2>/dev/null
check "dump_restore.image_format_2" [ "$(od -An -tu4 -j8 -N4 "$work/imgz" | tr -d ' ')" = 2 ]
hetmig restore "$work/imgz" --allow-root --output /dev/null > /dev/null 2>&1; rc=$?
check "dump_restore.compressed_restore_exit_0" [ $rc -eq 0 ]
wait_for "$work/run" "^done"
check "dump_restore.compressed_output_equals_an_unmoved_run" cmp "$work/run" "$work/ref"

# A log file written to meanwhile is not here as it was: stdout becomes
# --output, and restore says so.
start
hetmig dump $pid -o "$work/img5" > /dev/null 2>&1
wait $pid 2>/dev/null
echo "meanwhile" >> "$work/run"
cp "$work/run" "$work/run5"
out=$(hetmig restore "$work/img5" --allow-root --output "$work/after5" 2>&1)
check "dump_restore.changed_stdout_named" has "$out" "stdout was $work/run on the source, which differs here (size or mtime): it is now $work/after5"
wait_for "$work/after5" "^done"
grep -v "^meanwhile" "$work/run5" | cat - "$work/after5" > "$work/all5"
check "dump_restore.changed_stdout_goes_to_output" cmp "$work/all5" "$work/ref"

# A log whose open file is shared with a process that stays (the shell
# that started the program and waits for it): two offsets in one file
# would overwrite each other, so it is left to --output, with the reason.
rm -f "$work/run7"
sh -c "\"$M\" \"$work/in\" $STEPS 20 & echo \$! > \"$work/pid7\"; wait" > "$work/run7" 2>/dev/null &
shell=$!
wait_for "$work/run7" "step 2 "
pid=$(cat "$work/pid7")
hetmig dump $pid -o "$work/img7" > /dev/null 2>&1
wait $shell 2>/dev/null
out=$(hetmig restore "$work/img7" --allow-root --output "$work/after7" 2>&1)
check "dump_restore.shared_log_named" has "$out" "stdout was $work/run7 (shared with process $shell, which stays): it is now $work/after7"
wait_for "$work/after7" "^done"
check "dump_restore.shared_log_goes_to_output" grep -q "^done" "$work/after7"

# stdout and stderr as one file (> log 2>&1): one open file, one offset,
# after the restore too (two opens would each have their own).
rm -f "$work/both"
"$M" "$work/in" $STEPS 20 > "$work/both" 2>&1 & pid=$!
wait_for "$work/both" "step 2 "
hetmig dump $pid -o "$work/img6" > /dev/null 2>&1
wait $pid 2>/dev/null
hetmig restore "$work/img6" --allow-root --output "$work/after6" > /dev/null 2>&1
wait_for "$work/both" "step 4 "
pos() { sed -n 's/^pos:[[:space:]]*//p' /proc/$pid/fdinfo/$1; }
# Read with the process stopped, so that no write falls between the two
# reads (five tries at equal readings failed under the debug kernel, where
# each read takes longer than a step of migratee's).
one_offset() {
	kill -STOP $pid; a=$(pos 1); b=$(pos 2); kill -CONT $pid
	[ -n "$a" ] && [ "$a" = "$b" ] || { echo "# stdout at '$a', stderr at '$b'"; false; }
}
check "dump_restore.shared_stdout_stderr_one_offset" one_offset
wait_for "$work/both" "^done"
check "dump_restore.shared_stdout_stderr_output" sh -c "grep -v '^migratee: pid' '$work/both' | cmp - '$work/ref'"

# Resource limits come along (CRIU's zdtm tests found them reset to the
# restorer's): the file limit a shell set before exec, soft and hard.
rm -f "$work/run8"
sh -c "ulimit -n 200 && exec \"$M\" \"$work/in\" $STEPS 20" > "$work/run8" 2>/dev/null &
pid=$!
wait_for "$work/run8" "step 2 "
open_files() { awk '/^Max open files/ {print $4, $5}' /proc/$pid/limits; }
limits_before=$(open_files)
hetmig dump $pid -o "$work/img8" > /dev/null 2>&1
wait $pid 2>/dev/null
hetmig restore "$work/img8" --allow-root --output /dev/null > /dev/null 2>&1
same_limits() { [ "${limits_before%% *}" = 200 ] && [ "$(open_files)" = "$limits_before" ]; }
check "dump_restore.rlimits_carried" same_limits
wait_for "$work/run8" "^done"

# Thousands of mappings: one RESTORE_MM request carries them all (a
# page-sized request once held about sixty, and restore refused more).
rm -f "$work/maps"
"$dir/manymaps" 5000 > "$work/maps" 2>&1 &
pid=$!
wait_for "$work/maps" "mappings"
hetmig dump $pid -o "$work/img9" > /dev/null 2>&1
wait $pid 2>/dev/null
out=$(hetmig restore "$work/img9" --allow-root --output /dev/null 2>&1); rc=$?
check "dump_restore.thousands_of_mappings_restored" [ $rc -eq 0 ]
new_pid=$(echo "$out" | sed -n 's/.*restored as pid \([0-9]*\).*/\1/p')
[ -n "$new_pid" ] && kill -TERM "$new_pid"
wait_for "$work/maps" "intact"
check "dump_restore.thousands_of_mappings_intact" grep -q "^manymaps: 5000 intact" "$work/maps"
# Thousands of mappings of one file: one descriptor for them all while
# the restore maps them (one each ran past RLIMIT_NOFILE, 1024 here: zdtm's
# maps06, after the source was gone).
head -c 4096 /dev/urandom > "$work/mapped"
rm -f "$work/maps"
"$dir/manymaps" 3000 "$work/mapped" > "$work/maps" 2>&1 &
pid=$!
wait_for "$work/maps" "mappings"
hetmig dump $pid -o "$work/img9b" > /dev/null 2>&1
wait $pid 2>/dev/null
out=$(hetmig restore "$work/img9b" --allow-root --output /dev/null 2>&1); rc=$?
[ $rc -eq 0 ] || echo "# $out"
check "dump_restore.thousands_of_file_mappings_restored" [ $rc -eq 0 ]
new_pid=$(echo "$out" | sed -n 's/.*restored as pid \([0-9]*\).*/\1/p')
[ -n "$new_pid" ] && kill -TERM "$new_pid"
wait_for "$work/maps" "intact"
check "dump_restore.thousands_of_file_mappings_intact" grep -q "^manymaps: 3000 intact" "$work/maps"

# oom_score_adj comes along (zdtm found it reset to the restorer's). Root
# may lower it (CAP_SYS_RESOURCE); a receiver that is not root carries a
# value the process raised, and refuses one below its own, naming it.
pid_of() { echo "$1" | sed -n 's/.*restored as pid \([0-9]*\).*/\1/p'; }
# A helper program that checks itself once told to finish (SIGTERM):
# PROG's output LOG says "PROG: intact" and PID (empty when there was
# none) was running; else what it and the last command said is shown.
intact() { [ -n "$3" ] && grep -q "^$2: intact" "$1" || { echo "# ${out:-}"; sed 's/^/# /' "$1"; false; }; }
# PROG ARGS started, dumped to IMG, restored and told to finish: checks
# dump_restore.NAME_dumped and dump_restore.NAME_carried; the restored
# pid is left in $new.
moved_intact() { # NAME IMG LOG PROG [ARG...]
	what=$1 img=$2 log=$3 prog=$4
	shift 3
	"$dir/$@" > "$log" 2>&1 &
	pid=$!
	wait_for "$log" "ready"
	out=$(hetmig dump $pid -o "$img" 2>&1); rc=$?
	[ $rc -eq 0 ] || { echo "# $out"; kill -9 $pid; }
	check "dump_restore.${what}_dumped" [ $rc -eq 0 ]
	wait $pid 2>/dev/null
	out=$(hetmig restore "$img" --allow-root 2>&1)
	new=$(pid_of "$out")
	[ -n "$new" ] && kill -TERM "$new" && wait_for "$log" "^$prog: [^r]"
	check "dump_restore.${what}_carried" intact "$log" "$prog" "$new"
}
# wait_comm PID NAME: up to 30 s for PID to run NAME (after its exec).
wait_comm() { i=0; until [ "$(cat /proc/$1/comm 2>/dev/null)" = "$2" ] || [ $i -ge 300 ]; do usleep 100000; i=$((i + 1)); done; }
oom_is() {
	[ -n "$1" ] && [ "$(cat /proc/$1/oom_score_adj 2>/dev/null)" = "$2" ] && return 0
	echo "# oom_score_adj of restored pid '$1': $(cat /proc/$1/oom_score_adj 2>&1), not $2"
	false
}
sh -c 'echo -300 > /proc/self/oom_score_adj && exec sleep 600' < /dev/null > /dev/null 2>&1 &
pid=$!
wait_comm $pid sleep
exe=$(readlink /proc/$pid/exe)
hetmig dump $pid -o "$work/img10" > /dev/null 2>&1
wait $pid 2>/dev/null
out=$(hetmig restore "$work/img10" --allow-root 2>&1)
new=$(pid_of "$out")
check "dump_restore.oom_score_adj_lowered_by_root" oom_is "$new" -300
# Its /proc/PID/exe is its own again, not the restorer's (ps, systemd and
# programs that re-execute /proc/self/exe read it).
exe_is() { [ -n "$1" ] && [ "$(readlink /proc/$1/exe)" = "$2" ] && return 0; echo "# exe of restored pid '$1': $(readlink /proc/$1/exe 2>&1), not $2"; false; }
check "dump_restore.exe_link_kept_by_root" exe_is "$new" "$exe"
check "dump_restore.exe_link_nothing_said" hasnt "$out" "/exe is"
[ -n "$new" ] && kill -9 "$new"
pub=$(mktemp -d) && chmod 755 "$pub"
"$dir/asuser" 1000 1000 sh -c 'cd / && echo 300 > /proc/self/oom_score_adj && exec sleep 600' \
	< /dev/null > /dev/null 2>&1 &
pid=$!
wait_comm $pid sleep
hetmig dump $pid -o "$pub/img11" > /dev/null 2>&1 && chmod 644 "$pub/img11"
wait $pid 2>/dev/null
out=$("$dir/asuser" 1000 1000 hetmig restore "$pub/img11" 2>&1)
new=$(pid_of "$out")
check "dump_restore.oom_score_adj_raised_unprivileged" oom_is "$new" 300
# A restorer that is not root cannot give the process CAP_SYS_RESOURCE
# to set its exe link: it stays the restorer's, and the restore says so.
check "dump_restore.exe_link_unprivileged_restorer_said" has "$out" \
	"process $new's /proc/$new/exe is hetmig's, not $exe: it runs as uid 1000, and only a restorer running as root can give it CAP_SYS_RESOURCE to set it"
[ -n "$new" ] && kill -9 "$new"
# Restored by root as the user it ran as (migratee, 4 threads): its own
# exe link too, and then no thread has uid 0 or a capability left, and
# its user may still trace it and read its /proc files (dumpable).
dropped() { # PID UID: every thread's uids UID, no capability
	[ -n "$1" ] && [ "$(ls /proc/$1/task | wc -l)" -gt 1 ] || { echo "# restored pid '$1' has not its threads"; return 1; }
	for t in /proc/$1/task/*; do
		grep -q "^Uid:	$2	$2	$2	$2$" $t/status && grep -q '^CapPrm:	0000000000000000$' $t/status &&
			grep -q '^CapEff:	0000000000000000$' $t/status && continue
		grep -E '^(Uid|CapPrm|CapEff):' $t/status | sed "s|^|# $t: |"
		return 1
	done
}
mkdir "$pub/u" && cp "$work/in" "$pub/u/in" && : > "$pub/u/run" && chown -R 1000:1000 "$pub/u"
(cd / && exec "$dir/asuser" 1000 1000 "$M" "$pub/u/in" $STEPS 20 > "$pub/u/run" 2>/dev/null) &
pid=$!
wait_for "$pub/u/run" "step 2 "
exe=$(readlink /proc/$pid/exe)
out=$(hetmig dump $pid -o "$pub/img11b" 2>&1) || echo "# $out"
wait $pid 2>/dev/null
out=$(hetmig restore "$pub/img11b" 2>&1)
new=$(pid_of "$out")
[ -n "$new" ] || echo "# $out"
check "dump_restore.exe_link_kept_for_another_user" exe_is "$new" "$exe"
check "dump_restore.exe_link_root_dropped_by_every_thread" dropped "$new" 1000
check "dump_restore.exe_link_user_process_still_dumpable" "$dir/asuser" 1000 1000 sh -c "cat /proc/$new/environ > /dev/null"
wait_for "$pub/u/run" "^done"
check "dump_restore.exe_link_user_process_finishes_intact" cmp "$pub/u/run" "$work/ref"
sh -c "cd / && echo -200 > /proc/self/oom_score_adj && exec $dir/asuser 1000 1000 sleep 600" \
	< /dev/null > /dev/null 2>&1 &
pid=$!
wait_comm $pid sleep
hetmig dump $pid -o "$pub/img12" > /dev/null 2>&1 && chmod 644 "$pub/img12"
wait $pid 2>/dev/null
out=$("$dir/asuser" 1000 1000 hetmig restore "$pub/img12" 2>&1); rc=$?
new=$(pid_of "$out")
[ -n "$new" ] && kill -9 "$new"
check "dump_restore.oom_score_adj_below_receivers_refused" has "$out" \
	"setting the process's oom_score_adj to -200 here (lowering it below this receiver's own, 0, needs CAP_SYS_RESOURCE)"
rm -rf "$pub"

# Supplementary groups come along (zdtm's groups; they were dropped),
# unless the receiver chooses the process's group.
groups_are() { [ -n "$1" ] && [ "$(sed -n 's/^Groups:[[:space:]]*//p' /proc/$1/status | tr -s ' ' | sed 's/ $//')" = "$2" ] && return 0; echo "# groups of restored pid '$1': $(grep Groups /proc/$1/status 2>&1), not '$2'"; false; }
(cd / && exec "$dir/asuser" 1000 1000,27,100 sleep 600) < /dev/null > /dev/null 2>&1 &
pid=$!
wait_comm $pid sleep
hetmig dump $pid -o "$work/img_groups" > /dev/null 2>&1
wait $pid 2>/dev/null
out=$(hetmig restore "$work/img_groups" 2>&1)
new=$(pid_of "$out")
check "dump_restore.supplementary_groups_carried" groups_are "$new" "27 100"
[ -n "$new" ] && kill -9 "$new"
out=$(hetmig restore "$work/img_groups" --group 1000 2>&1)
new=$(pid_of "$out")
check "dump_restore.supplementary_groups_not_with_another_group" groups_are "$new" ""
[ -n "$new" ] && kill -9 "$new"

# A working directory that was deleted is made again as a removed
# directory (zdtm's cwd01): the restored process is in it, and
# /proc/PID/cwd reads as it did; nothing of it is left at its name.
mkdir "$work/gone"
(cd "$work/gone" && rmdir "$work/gone" && exec sleep 600) < /dev/null > /dev/null 2>&1 &
pid=$!
wait_comm $pid sleep
out=$(hetmig dump $pid -o "$work/img_cwd" 2>&1); rc=$?
[ $rc -eq 0 ] || echo "# $out"
check "dump_restore.deleted_cwd_dumped" [ $rc -eq 0 ]
wait $pid 2>/dev/null
out=$(hetmig restore "$work/img_cwd" --allow-root 2>&1)
new=$(pid_of "$out")
cwd_is() { [ -n "$1" ] && [ "$(readlink /proc/$1/cwd)" = "$2" ] && [ ! -e "$work/gone" ] && return 0; echo "# cwd of restored pid '$1': $(readlink /proc/$1/cwd 2>&1); $out"; false; }
check "dump_restore.deleted_cwd_made_again" cwd_is "$new" "$work/gone (deleted)"
[ -n "$new" ] && kill -9 "$new"

# A process stopped by job control (SIGSTOP) is carried stopped (zdtm's
# stopped and stopped12 were refused, and before that a system call made
# for us failed in it): a dump that keeps the source leaves it stopped,
# and the restored one is stopped until SIGCONT.
state_of() { awk '{print $3}' /proc/$1/stat 2>/dev/null; }
# state_becomes PID STATE: up to 5 s for PID's /proc state to be STATE.
state_becomes() { i=0; until [ "$(state_of $1)" = "$2" ] || [ $i -ge 100 ]; do usleep 50000; i=$((i + 1)); done; [ "$(state_of $1)" = "$2" ] || { echo "# process '$1' is in state '$(state_of $1)', not $2"; false; }; }
sleep 600 < /dev/null > /dev/null 2>&1 &
pid=$!
wait_comm $pid sleep
kill -STOP $pid
state_becomes $pid T
out=$(hetmig dump $pid -o "$work/img_stopped" --keep 2>&1); rc=$?
[ $rc -eq 0 ] || echo "# $out"
check "dump_restore.job_stopped_dumped" [ $rc -eq 0 ]
check "dump_restore.job_stopped_kept_stopped" state_becomes $pid T
kill -9 $pid
wait $pid 2>/dev/null
out=$(hetmig restore "$work/img_stopped" --allow-root 2>&1)
new=$(pid_of "$out")
check "dump_restore.job_stopped_restored_stopped" state_becomes "$new" T
[ -n "$new" ] && kill -CONT "$new"
check "dump_restore.job_stopped_continues" state_becomes "$new" S
[ -n "$new" ] && kill -9 "$new"
# A stopped child, as zdtm's stopped: its parent's waitpid(WUNTRACED)
# reports it stopped after the move, it has run nothing, and it goes on
# once continued (stopped.c).
moved_intact stopped_child "$work/img_stopped2" "$work/stopped" stopped
# zdtm's pid00, zombie01, maps02 and clone_fs in one tree (procattrs.c): a
# child whose real, effective, saved and file system ids all differ, with
# a thread (its tid kept) and our log, which only root may open, as its
# stdout; a zombie in a process group whose leader has gone; mappings
# with madvise advice, MAP_NORESERVE and MAP_LOCKED, VmFlags as they were.
moved_intact procattrs "$work/img_procattrs" "$work/procattrs.log" procattrs

# Directories held open (zdtm's harness keeps its working directory for
# renameat; daemons scan one and hold the stream): carried with their
# positions, O_PATH ones too (dirfds checks them all after the restore).
# One read part-way needs the same directory unchanged; a missing one is
# named.
populate() { mkdir "$1" && printf f0 > "$1/f0" && i=0 && while [ $i -lt 200 ]; do : > "$1/e$i"; i=$((i + 1)); done; }
populate "$work/dir"
moved_intact directory_fds "$work/img13" "$work/dirs" dirfds "$work/dir"
populate "$work/dir2"
"$dir/dirfds" "$work/dir2" > "$work/dirs2" 2>&1 &
pid=$!
wait_for "$work/dirs2" "ready"
hetmig dump $pid -o "$work/img14" > /dev/null 2>&1 || kill -9 $pid
wait $pid 2>/dev/null
: > "$work/dir2/new"
out=$(hetmig restore "$work/img14" --allow-root 2>&1)
fd=$(sed -n "s/.* of fd \([0-9]*\),.*/\1/p" "$work/dirs2")
check "dump_restore.changed_directory_refused" has "$out" "directory $work/dir2 of the process (fd $fd) was read up to position"
rm -rf "$work/dir2"
out=$(hetmig restore "$work/img14" --allow-root 2>&1)
check "dump_restore.missing_directory_named" has "$out" "directory $work/dir2 of the process (fd $fd) is missing here"

# Pipes whose ends are all in the process (a daemon's self-pipe), with
# bytes written and not read, eventfds and devices that are the same
# everywhere: made anew (pipes checks them all after the restore). A dump
# reads the bytes without taking them: with --keep the source finds them.
moved_intact pipes "$work/img15" "$work/pipes" pipes
"$dir/pipes" > "$work/pipes2" 2>&1 &
pid=$!
wait_for "$work/pipes2" "ready"
out=$(hetmig dump $pid -o "$work/img16" --keep 2>&1); rc=$?
kill -TERM $pid && wait_for "$work/pipes2" "^pipes: [^r]"
kept() { [ $rc -eq 0 ] && intact "$work/pipes2" pipes $pid; }
check "dump_restore.pipes_keep_leaves_their_bytes" kept
# A pipe that leads out of the process (its write end is a sleep's, which
# is not moved) is refused, naming the pipe and the process at its other
# end, and the source runs on with its own pipes untouched.
sh -c "echo \$\$ > $work/writer; exec sleep 1000" | sh -c "exec 7<&0 </dev/null; exec $dir/pipes" > "$work/pipes3" 2>&1 &
pid=$!
wait_for "$work/pipes3" "ready"
wait_for "$work/writer" "[0-9]"
writer=$(cat "$work/writer")
out=$(hetmig dump $pid -o "$work/img17" 2>&1)
check "dump_restore.pipe_leading_out_refused" has "$out" "fd 7 is pipe:["
check "dump_restore.pipe_leading_out_names_its_other_end" has "$out" "whose write end process $writer (sleep) holds"
kill -TERM $pid && wait_for "$work/pipes3" "^pipes: [^r]"
check "dump_restore.pipe_leading_out_source_runs_on" intact "$work/pipes3" pipes $pid
kill $writer 2>/dev/null
# Timers (setitimer, timer_create, the timer slack): only the process can
# read them, so the dump has it make the calls; restored with their ids, a
# gap between them, and the time they had left (timers checks them all and
# that they still fire).
moved_intact timers "$work/img18" "$work/timers" timers
# An event loop: an epoll with its interest list (epoll checks that each
# target is reported with its data, edge-triggered and one-shot entries as
# they were, and an epoll watching the epoll); a signalfd; signals pending
# in the process and in each of its threads, standard and real-time, with
# their siginfo (signals checks their order, codes, values and senders).
moved_intact epoll "$work/img19" "$work/epoll" epoll
moved_intact signalfd "$work/img20" "$work/signalfd" signalfd
moved_intact signals "$work/img21" "$work/signals" signals
# Unix socket pairs with both ends in the process, with what each end has
# to read (a stream's bytes, datagrams with their boundaries), one with its
# own stream socket in flight (SCM_RIGHTS) too.
moved_intact sockpair "$work/img24" "$work/sockpair" sockpair
moved_intact sockpair_rights "$work/img25" "$work/sockpair2" sockpair rights
# Descriptors in flight (scmrights.c): pipe ends no fd holds any more, both
# ends of a pipe in one message, the process's own eventfd, at a pair and
# at a named datagram socket, between messages without: each message
# received after the move in order with its descriptors, the pipes with
# their bytes (image format 8). A regular file in flight that no fd holds
# is refused, naming it, and the source runs on.
moved_intact scmrights "$work/img26" "$work/scmrights" scmrights
check "dump_restore.scmrights_image_format_8" [ "$(od -An -tu4 -j8 -N4 "$work/img26" | tr -d ' ')" = 8 ]
"$dir/scmrights" file "$work/in" > "$work/scmrights2" 2>&1 &
pid=$!
wait_for "$work/scmrights2" "ready"
d1=$(sed -n 's/.* D1 \([0-9]*\) .*/\1/p' "$work/scmrights2")
out=$(hetmig dump $pid -o "$work/img27" 2>&1)
check "dump_restore.scmrights_file_refused" has "$out" "fd $d1 (socket:["
check "dump_restore.scmrights_file_named" has "$out" "has $work/in in flight in its queue (SCM_RIGHTS), which no fd of the process holds"
kill -TERM $pid && wait_for "$work/scmrights2" "^scmrights: [^r]"
check "dump_restore.scmrights_file_source_runs_on" intact "$work/scmrights2" scmrights $pid
# Named unix sockets (unixsock.c): listeners at a path (its file's mode
# kept) and at an abstract name, a connection one of them accepted, a
# bound datagram socket with its queue and one connected to it, pairs shut
# down; the source's stale socket files replaced; image format 6.
mkdir -p "$work/us"
"$dir/unixsock" "$work/us" > "$work/unixsock" 2>&1 &
pid=$!
wait_for "$work/unixsock" "ready"
out=$(hetmig dump $pid -o "$work/img50" 2>&1); rc=$?
[ $rc -eq 0 ] || { echo "# $out"; kill -9 $pid; }
check "dump_restore.unixsock_dumped" [ $rc -eq 0 ]
wait $pid 2>/dev/null
check "dump_restore.unixsock_image_format_6" [ "$(od -An -tu4 -j8 -N4 "$work/img50" | tr -d ' ')" = 6 ]
# A process here listens at the path: the restore fails before anything
# runs, naming it, and the listener is left alone.
"$dir/unixsock" "$work/us" listen > "$work/unixsock_l" 2>&1 &
listener=$!
wait_for "$work/unixsock_l" "listening"
out=$(hetmig restore "$work/img50" --allow-root 2>&1); rc=$?
check "dump_restore.unixsock_live_listener_refused" has "$out" "$work/us/listen.sock is a unix socket that a process here listens on"
refused() { [ $rc -ne 0 ] && [ ! -d /proc/$pid ] && kill -0 $listener; }
check "dump_restore.unixsock_refused_nothing_runs" refused
kill -TERM $listener; wait $listener 2>/dev/null
# Once it is gone, the restore takes the stale file's place.
out=$(hetmig restore "$work/img50" --allow-root 2>&1)
new=$(pid_of "$out")
[ -n "$new" ] && kill -TERM "$new" && wait_for "$work/unixsock" "^unixsock: [^r]"
check "dump_restore.unixsock_carried" intact "$work/unixsock" unixsock "$new"
# A dump that keeps the source leaves every queue where it was.
"$dir/unixsock" "$work/us" > "$work/unixsock2" 2>&1 &
pid=$!
wait_for "$work/unixsock2" "ready"
out=$(hetmig dump $pid -o "$work/img51" --keep 2>&1); rc=$?
kill -TERM $pid && wait_for "$work/unixsock2" "^unixsock: [^r]"
kept() { [ $rc -eq 0 ] && intact "$work/unixsock2" unixsock $pid; }
check "dump_restore.unixsock_keep_leaves_the_queues" kept
# A tree's: a listener parent and child share, a connection between them
# with bytes queued both ways; made once, each keeps its own.
moved_intact unixsock_tree "$work/img52" "$work/unixsock3" unixsock "$work/us" tree
# Epoll entries whose fds were closed since (their files live on at other
# fds): added again under their old numbers, a stale and a live one under
# one number (epollclosed.c), the number put back as it was.
moved_intact epoll_closed_target "$work/img22" "$work/epoll2" epoll closed
moved_intact epollclosed "$work/img28" "$work/epollclosed" epollclosed
# A target that is refused itself (a device that is not the same
# everywhere) names the epoll too.
"$dir/epoll" file /dev/kmsg > "$work/epoll3" 2>&1 &
pid=$!
wait_for "$work/epoll3" "ready"
p=$(sed -n 's/.*(fds P \([0-9]*\) .*/\1/p' "$work/epoll3")
out=$(hetmig dump $pid -o "$work/img23" 2>&1)
check "dump_restore.epoll_refused_target_names_the_epoll" has "$out" "is /dev/kmsg: only regular files"
check "dump_restore.epoll_refused_target_names_the_epoll_fd" has "$out" "(watched by the epoll at fd $p)"
kill -TERM $pid && wait_for "$work/epoll3" "^epoll: [^r]"
check "dump_restore.epoll_refused_target_source_runs_on" intact "$work/epoll3" epoll $pid

# A process tree: a parent, three children (one its own process group with
# a child in it, one its own session, one in its sibling's group), shared anonymous memory, a shared
# /dev/zero page and a page only the group shares, a parent-death signal;
# moved whole, with its pids, and checked by its members (tree.c).
moved_intact tree "$work/img39" "$work/tree" tree
check "dump_restore.tree_restored_whole" has "$out" "restored as pid $pid with 4 processes of its tree"
# Moved twice: restored, its shared memory is a memfd mapped in each
# process, which the second dump carries as shared memory again.
"$dir/tree" > "$work/tree4" 2>&1 &
pid=$!
wait_for "$work/tree4" "ready"
hetmig dump $pid -o "$work/img32" > /dev/null 2>&1
wait $pid 2>/dev/null
hetmig restore "$work/img32" --allow-root > /dev/null 2>&1
check "dump_restore.tree_shared_memory_is_a_memfd" grep -q "/memfd:hetmig-shared-anon (deleted)" /proc/$pid/maps
out=$(hetmig dump $pid -o "$work/img33" 2>&1) || echo "# $out"
i=0; while [ -d /proc/$pid ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
out=$(hetmig restore "$work/img33" --allow-root 2>&1)
[ -n "$(pid_of "$out")" ] && kill -TERM $pid && wait_for "$work/tree4" "^tree: [^r]"
check "dump_restore.tree_moved_twice" intact "$work/tree4" tree "$(pid_of "$out")"
# The tree as another user (zdtm runs its tests as one), restored by root:
# its members' parent-death signals survive the uid changes that give the
# exe link (they cleared G's).
upub=$(mktemp -d) && chmod 755 "$upub" && : > "$upub/tree" && chown 1000:1000 "$upub/tree"
(cd / && exec "$dir/asuser" 1000 1000 "$dir/tree") > "$upub/tree" 2>&1 &
pid=$!
wait_for "$upub/tree" "ready"
out=$(hetmig dump $pid -o "$upub/img" 2>&1) || echo "# $out"
wait $pid 2>/dev/null
out=$(hetmig restore "$upub/img" 2>&1)
new=$(pid_of "$out")
[ -n "$new" ] && kill -TERM "$new" && wait_for "$upub/tree" "^tree: [^r]"
check "dump_restore.tree_as_another_user_intact" intact "$upub/tree" tree "$new"
rm -rf "$upub"
# A tree sharing memory with a process outside it: refused, naming both,
# no image written, and the tree runs on.
"$dir/tree" outside > "$work/tree2" 2>&1 &
pid=$!
wait_for "$work/tree2" "ready"
x=$(sed -n 's/^tree: ready \([0-9]*\)$/\1/p' "$work/tree2")
out=$(hetmig dump "$x" -o "$work/img30" 2>&1)
check "dump_restore.tree_sharing_memory_outside_refused" has "$out" "process $x shares the memory at"
check "dump_restore.tree_sharing_memory_outside_names_the_other" has "$out" "which is not in the tree"
check "dump_restore.tree_refused_leaves_no_image" [ ! -e "$work/img30" ]
kill -TERM $pid && wait_for "$work/tree2" "^tree: [^r]"
check "dump_restore.tree_refused_runs_on" intact "$work/tree2" tree "$x"
# A copy (--keep) restored where the tree still runs: its pids are taken,
# the restore is refused before anything runs, and the source runs on.
"$dir/tree" > "$work/tree3" 2>&1 &
pid=$!
wait_for "$work/tree3" "ready"
hetmig dump $pid -o "$work/img31" --keep > /dev/null 2>&1
out=$(hetmig restore "$work/img31" --allow-root 2>&1)
check "dump_restore.tree_pids_taken_refused" has "$out" "of the tree is taken here"
kill -TERM $pid && wait_for "$work/tree3" "^tree: [^r]"
check "dump_restore.tree_kept_source_intact" intact "$work/tree3" tree $pid
# A tree whose processes share pipes (bytes buffered in both directions,
# one between two children, one write end both children hold), a socket
# pair, an eventfd and a file written at one offset: one of each again
# after the move, nothing lost or doubled, the ends closed where they were
# (treefds.c); image format 4.
moved_intact treefds "$work/img40" "$work/treefds" treefds "$work/treefds.file"
# FIFOs, a process's own (three opens of one, with bytes in it; an empty
# one of 1 MiB) and its child's (one each opened, one open file both
# hold): opened again by name, the bytes of each once (fifos.c).
mkdir -p "$work/fifos"
moved_intact fifos "$work/img45" "$work/fifos.log" fifos "$work/fifos"
# Descriptors zdtm's tests hold: an O_PATH descriptor of a symbolic link,
# the process's own namespaces (the ones it is in after the move), /proc
# files of itself and of its child (opened again by path once the tree
# exists, at their offsets), a UDP-Lite socket with its checksum coverage,
# two UDP sockets shut down in a direction each, and a pipe that signals
# the process (F_SETOWN, F_SETSIG, O_ASYNC) when its child writes into it,
# a deleted FIFO with bytes in it, and a child whose working directory was
# removed (fdkinds.c).
mkdir -p "$work/fdkinds"
moved_intact fdkinds "$work/img80" "$work/fdkinds.log" fdkinds "$work/fdkinds"
# A file written through a shared mapping is the file: mapped again, not
# carried; what was written is there, writes go on reaching the file, a
# read-only shared mapping of a file open for writing may become writable
# (sharedfile.c).
moved_intact sharedfile "$work/img47" "$work/sharedfile.log" sharedfile "$work/shared.dat"
# Capabilities: a root process that gave some up (its bounding, effective
# and permitted sets less, an ambient one, no_new_privs), two threads,
# keeps exactly those, not a root's whole sets (caps.c). A user's process
# that set no_new_privs keeps it too.
moved_intact caps "$work/img48" "$work/caps.log" caps
users=$(mktemp -d) && chmod 755 "$users"	# $work is root's alone
: > "$users/caps2.log" && chmod 666 "$users/caps2.log"
(cd / && exec "$dir/asuser" 1000 1000 "$dir/caps" nnp >> "$users/caps2.log" 2>&1) &
pid=$!
wait_for "$users/caps2.log" "ready"
out=$(hetmig dump $pid -o "$work/img49" 2>&1) || echo "# $out"
wait $pid 2>/dev/null
out=$(hetmig restore "$work/img49" 2>&1)
new=$(pid_of "$out")
[ -n "$new" ] && kill -TERM "$new" && wait_for "$users/caps2.log" "^caps: [^r]"
check "dump_restore.no_new_privs_kept_for_a_user" intact "$users/caps2.log" caps "$new"
rm -rf "$users"
check "dump_restore.treefds_image_format_4" [ "$(od -An -tu4 -j8 -N4 "$work/img40" | tr -d ' ')" = 4 ]
# Restored again, now that the tree wrote into its file since the dump:
# refused before any process is made, naming the file.
out=$(hetmig restore "$work/img40" --allow-root 2>&1)
check "dump_restore.treefds_changed_file_refused" has "$out" "file $work/treefds.file differs here"
# A pipe of a tree whose other end a process outside it holds: refused,
# naming both, and the tree runs on.
"$dir/treefds" outside > "$work/treefds2" 2>&1 &
pid=$!
wait_for "$work/treefds2" "ready"
x=$(sed -n 's/^treefds: ready \([0-9]*\)$/\1/p' "$work/treefds2")
out=$(hetmig dump "$x" -o "$work/img41" 2>&1)
check "dump_restore.tree_pipe_outside_refused" has "$out" "process $x of the tree: fd 3 is pipe:["
check "dump_restore.tree_pipe_outside_names_the_other" has "$out" "whose write end process $pid (treefds) holds"
kill -TERM $pid && wait_for "$work/treefds2" "^treefds: [^r]"
check "dump_restore.tree_pipe_outside_runs_on" intact "$work/treefds2" treefds "$x"
# Its tree does not end with the process outside it: left running, it
# outlived the suite.
kill -KILL "$x" 2>/dev/null
# A shell pipeline moved mid-stream: seq has filled the pipe to a
# subshell that sleeps before it reads; the sum it prints after the move
# is an unmoved run's (both ends of the pipe were standard streams).
want=$(seq 1 100000 | md5sum)
sh -c "seq 1 100000 | (sleep 3; md5sum)" > "$work/sum" 2>&1 < /dev/null &
pid=$!
usleep 800000
out=$(hetmig dump $pid -o "$work/img42" 2>&1); rc=$?
check "dump_restore.tree_pipeline_dumped" has "$out" "processes of its tree dumped"
wait $pid 2>/dev/null
out=$(hetmig restore "$work/img42" --allow-root 2>&1)
wait_for "$work/sum" " -"
check "dump_restore.tree_pipeline_sum_as_unmoved" [ "$(cat "$work/sum")" = "$want" ]

# 2. Bad images: refused, clearly.
size=$(wc -c < "$work/img")
head -c $((size / 2)) "$work/img" > "$work/cut"
out=$(hetmig restore "$work/cut" --allow-root 2>&1); rc=$?
check "dump_restore.truncated_image_refused" [ $rc -eq 1 ]
check "dump_restore.truncated_image_says_so" has "$out" "truncated image"
cp "$work/img" "$work/flip"
# Another byte than the one there: a 'Z' over a 'Z' changes nothing.
was=$(dd if="$work/img" bs=1 skip=$((size / 3)) count=1 2>/dev/null)
byte=Z && [ "$was" = Z ] && byte=Y
printf '%s' "$byte" | dd of="$work/flip" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
out=$(hetmig restore "$work/flip" --allow-root 2>&1); rc=$?
check "dump_restore.corrupted_image_refused" has "$out" "corrupted image"
sizez=$(wc -c < "$work/imgz")
cp "$work/imgz" "$work/flipz"
b=$(dd if="$work/imgz" bs=1 skip=$((sizez / 2)) count=1 2>/dev/null)
[ "$b" = Z ] && b=Y || b=Z
printf '%s' "$b" | dd of="$work/flipz" bs=1 seek=$((sizez / 2)) conv=notrunc 2>/dev/null
out=$(hetmig restore "$work/flipz" --allow-root 2>&1)
check "dump_restore.corrupted_compressed_image_refused" has "$out" "corrupted image"
echo "not an image" > "$work/text"
out=$(hetmig restore "$work/text" 2>&1)
check "dump_restore.not_an_image_refused" has "$out" "not a hetmig image"
out=$(hetmig restore "$work/img" 2>&1)
check "dump_restore.root_refused_without_allow_root" has "$out" "does not allow"

# 3. --keep: a copy; the source runs on unharmed.
start
hetmig dump $pid -o "$work/img2" --keep > /dev/null 2>&1; rc=$?
check "dump_restore.keep_leaves_the_source_running" runs_on
check "dump_restore.keep_source_output_intact" finishes_intact

# A full disk: the dump fails, leaves no file, and the process runs on.
mkdir -p "$work/small" && mount -t tmpfs -o size=1m tmpfs "$work/small"
start
out=$(hetmig dump $pid -o "$work/small/img" 2>&1)
check "dump_restore.full_disk_fails" has "$out" "No space left"
check "dump_restore.full_disk_source_runs_on" runs_on
check "dump_restore.full_disk_leaves_no_file" [ -z "$(ls "$work/small")" ]
kill $pid; wait $pid 2>/dev/null
umount "$work/small"

# A tree holding files no name leads to any more (ghosts.c): a deleted
# log three fds hold (two opens, a dup; one description shared with a
# child), a deleted sparse file, a removed directory, a memfd mapped in
# part and sealed, a memfd sealed against writes. Each made again once,
# as it was; image format 7, without the sparse file's 16 MiB of holes.
mkdir -p "$work/ghostdir"
moved_intact ghosts "$work/img60" "$work/ghosts" ghosts "$work/ghostdir"
check "dump_restore.ghosts_image_format_7" [ "$(od -An -tu4 -j8 -N4 "$work/img60" | tr -d ' ')" = 7 ]
check "dump_restore.ghosts_holes_not_carried" [ "$(stat -c %s "$work/img60")" -lt 4194304 ]
names_gone() { [ ! -e "$work/ghostdir/ghost.log" ] && [ ! -e "$work/ghostdir/gone" ]; }
check "dump_restore.ghosts_names_gone_again" names_gone
# A deleted file with more data than --ghost-limit allows: refused, saying
# so, and the process runs on.
"$dir/ghosts" "$work/ghostdir" big > "$work/ghosts2" 2>&1 &
pid=$!
wait_for "$work/ghosts2" "ready"
x=$(sed -n 's/^ghosts: ready \([0-9]*\)$/\1/p' "$work/ghosts2")
out=$(hetmig dump $pid -o "$work/img61" --ghost-limit 1 2>&1)
check "dump_restore.ghost_over_limit_refused" has "$out" "fd $x is $work/ghostdir/refused (deleted)"
check "dump_restore.ghost_over_limit_says_why" has "$out" "more than the 1.0 MiB hetmig carries of one"
check "dump_restore.ghost_over_limit_leaves_no_image" [ ! -e "$work/img61" ]
kill -TERM $pid && wait_for "$work/ghosts2" "^ghosts: [^r]"
check "dump_restore.ghost_over_limit_runs_on" intact "$work/ghosts2" ghosts "$x"
# A file whose name was removed while another (a hard link) leads to it:
# a copy would not be that file; refused, and it runs on.
"$dir/ghosts" "$work/ghostdir" linked > "$work/ghosts3" 2>&1 &
pid=$!
wait_for "$work/ghosts3" "ready"
x=$(sed -n 's/^ghosts: ready \([0-9]*\)$/\1/p' "$work/ghosts3")
out=$(hetmig dump $pid -o "$work/img62" 2>&1)
check "dump_restore.ghost_hard_link_refused" has "$out" "fd $x is $work/ghostdir/refused (deleted), whose name was removed while the file has 1 other name(s)"
kill -TERM $pid && wait_for "$work/ghosts3" "^ghosts: [^r]"
check "dump_restore.ghost_hard_link_runs_on" intact "$work/ghosts3" ghosts "$x"

# 4. Unsupported resources: refused before anything is lost.
rm -f "$work/run"
sh -c "exec 8</dev/kmsg; exec $M $work/in $STEPS 20" > "$work/run" 2>/dev/null &
pid=$!
wait_for "$work/run" "step 2 "
out=$(hetmig dump $pid -o "$work/img3" 2>&1)
check "dump_restore.unsupported_fd_named" has "$out" "fd 8 is /dev/kmsg: only regular files"
check "dump_restore.refused_process_runs_on" runs_on
kill $pid
# A FIFO a process that is not moved holds too would have one buffer for
# two: refused naming it, and the source runs on.
mkfifo "$work/fifo3"
sh -c "exec 9<>$work/fifo3; exec sleep 1000" < /dev/null > /dev/null 2>&1 & holder=$!
rm -f "$work/run"
sh -c "exec 8<>$work/fifo3; exec $M $work/in $STEPS 20" > "$work/run" 2>/dev/null &
pid=$!
wait_for "$work/run" "step 2 "
out=$(hetmig dump $pid -o "$work/img46" 2>&1)
check "dump_restore.fifo_held_outside_named" has "$out" "fd 8 is the FIFO $work/fifo3, which process $holder holds too"
check "dump_restore.fifo_held_outside_runs_on" runs_on
kill $pid $holder
# A child that exited and was never waited for (the sleep that replaced
# the shell waits for nothing): the zombie is made again, with its pid,
# still the restored parent's child.
# Its streams are /dev/null: carried, so the restored sleep does not
# hold the pipe of $(hetmig restore) open.
sh -c "sleep 0 & exec sleep 30" < /dev/null > /dev/null 2>&1 & parent=$!
# its child, found by ppid (not every kernel has /proc/PID/task/TID/children)
zombie_of() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '$3 == "Z" && $4 == p { print $1 }'; }
i=0; until [ -n "$(zombie_of $parent)" ] || [ $i -ge 300 ]; do usleep 100000; i=$((i + 1)); done
zombie=$(zombie_of $parent)
hetmig dump $parent -o "$work/img4" > /dev/null 2>&1; rc=$?
dumped() { [ $rc -eq 0 ] && [ -n "$zombie" ]; }
check "dump_restore.zombie_child_dumped" dumped
wait $parent 2>/dev/null
i=0; while [ -d /proc/$zombie ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
out=$(hetmig restore "$work/img4" --allow-root 2>&1)
carried() { [ "$(zombie_of $parent)" = "$zombie" ] || { echo "# zombie $zombie of $parent: $out"; ls -d /proc/$zombie; false; }; }
check "dump_restore.zombie_child_carried" carried
kill $parent 2>/dev/null
rm -rf "$work"
