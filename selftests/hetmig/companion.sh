#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The companion against the live module: output, exit codes, and what it
# says when hetmig.ko is missing. Needs root (rmmod/insmod); TAP output.
ko=${HETMIG_KO:-/lib/modules/hetmig.ko}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

echo "TAP version 13"
echo "1..37"

has() { case $1 in *"$2"*) true ;; *) echo "# expected '$2' in: $1"; false ;; esac; }

out=$(hetmig version 2>&1); rc=$?
check "companion.version_exit_0" [ $rc -eq 0 ]
check "companion.version_names_arch_and_kernel" has "$out" "on $(uname -m) $(uname -r),"

out=$(hetmig version --json 2>&1)
check "companion.version_json" has "$out" "\"arch\":\"$(uname -m)\",\"kernel\":\"$(uname -r)\""

hetmig no-such-command >/dev/null 2>&1; rc=$?
check "companion.unknown_command_is_usage_error" [ $rc -eq 64 ]

# An option is no file name: `keygen --help` once wrote a key named --help.
kdir=$(mktemp -d)
(cd "$kdir" && hetmig keygen --help) >/dev/null 2>&1; rc=$?
check "companion.keygen_option_is_usage_error" [ $rc -eq 64 ]
check "companion.keygen_makes_no_file_named_option" [ ! -e "$kdir/--help" ]
rm -rf "$kdir"

# --live and --lazy are two answers to one problem: asking both is a
# usage error, said before anything is touched.
out=$(hetmig send $$ 127.0.0.1 --live --lazy 2>&1); rc=$?
check "companion.send_live_and_lazy_is_usage_error" [ $rc -eq 64 ]
check "companion.send_live_and_lazy_says_choose_one" has "$out" "choose one"

rmmod hetmig
out=$(hetmig version 2>&1); rc=$?
check "companion.missing_module_exit_69" [ $rc -eq 69 ]
check "companion.missing_module_says_so" has "$out" "is hetmig.ko loaded"
insmod "$ko"

# Load and unload cycles leave the family registered exactly once and working.
good=1
for i in 1 2 3 4 5 6 7 8 9 10; do
	rmmod hetmig && insmod "$ko" && hetmig version >/dev/null || { good=0; break; }
done
check "companion.reload_cycles" [ $good -eq 1 ]

# A busy process whose progress we watch by the CPU time it uses.
sh -c 'while :; do :; done' &
busy=$!
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$busy/stat; }
progresses() { a=$(cpu_ticks); usleep 400000; b=$(cpu_ticks); [ "$a" != "$b" ]; }
stands_still() { ! progresses; }
usleep 200000

out=$(hetmig inspect $busy 2>&1); rc=$?
check "companion.inspect_exit_0" [ $rc -eq 0 ]
check "companion.inspect_names_threads_and_arch" has "$out" "process $busy: 1 thread(s), $(uname -m)"
check "companion.inspect_lists_the_stack" has "$out" "[stack]"
check "companion.inspect_lists_signals" has "$out" "signals:"
check "companion.inspect_lets_the_process_run_on" progresses
out=$(hetmig inspect $busy --json 2>&1)
check "companion.inspect_json" has "$out" "\"pid\": $busy"

# A process stopped just as it takes a signal: ptrace reports the signal to
# the tracer in place of the stop asked for, and a tracer that let go
# without handing it back would lose it. 100 stops of a process that does
# nothing but raise a signal and count it hit that (2 CPUs) within a few.
raiser=/usr/lib/hetmig/selftests/raiser
$raiser > /tmp/raiser.out 2>&1 &
rpid=$!
usleep 200000
for i in $(seq 100); do hetmig inspect $rpid > /dev/null 2>&1; done
kill -TERM $rpid
wait $rpid; rc=$?
echo "# $(cat /tmp/raiser.out)"
check "companion.stopping_loses_no_signal" [ $rc -eq 0 ]

hetmig inspect 4194303 >/dev/null 2>&1; rc=$?
check "companion.inspect_missing_pid_fails" [ $rc -eq 1 ]
hetmig inspect nope >/dev/null 2>&1; rc=$?
check "companion.inspect_bad_pid_is_usage_error" [ $rc -eq 64 ]

# freeze in the background, thaw from elsewhere
hetmig freeze $busy > /tmp/freeze.out 2>&1 &
holder=$!
usleep 500000
check "companion.frozen_stands_still" stands_still
kill -CONT $busy
check "companion.sigcont_does_not_thaw" stands_still
# Another hetmig reads the frozen process (it cannot stop it: the holder
# traces it), and it stays frozen. (Another user may not: freeze.c's
# the_holders_user_reads_a_frozen_process.)
hetmig inspect $busy --json > /tmp/inspect-frozen.json 2>&1; rc=$?
check "companion.inspect_reads_a_frozen_process" \
	sh -c "[ $rc -eq 0 ] && grep -q '\"pid\": $busy' /tmp/inspect-frozen.json"
check "companion.frozen_after_inspect_stands_still" stands_still
# A dump of it cannot stop it again: refused, naming the freeze and the
# way out, and the process stays frozen.
out=$(hetmig dump $busy -o /tmp/frozen.img 2>&1); rc=$?
check "companion.dump_of_a_frozen_process_fails_and_writes_nothing" \
	sh -c "[ $rc -ne 0 ] && [ ! -e /tmp/frozen.img ]"
check "companion.dump_of_a_frozen_process_names_the_freeze" \
	has "$out" "is frozen by 'hetmig freeze' (process $holder); thaw it first ('hetmig thaw $busy')"
check "companion.frozen_after_refused_dump_stands_still" stands_still
hetmig thaw $busy; rc=$?
check "companion.thaw_exit_0" [ $rc -eq 0 ]
wait $holder; rc=$?
check "companion.holder_ends_with_0_after_thaw" [ $rc -eq 0 ]
check "companion.thawed_runs_on" progresses

# Ctrl-C on the holder thaws
hetmig freeze $busy > /tmp/freeze.out 2>&1 &
holder=$!
usleep 500000
kill -INT $holder
wait $holder; rc=$?
check "companion.sigint_thaws" [ $rc -eq 0 ]
check "companion.after_sigint_runs_on" progresses

# rmmod with a process frozen: it is thawed first, then the module goes
hetmig freeze $busy > /tmp/freeze.out 2>&1 &
holder=$!
usleep 500000
rmmod hetmig; rc=$?
wait $holder
check "companion.rmmod_while_frozen_thaws_and_unloads" [ $rc -eq 0 ]
check "companion.after_rmmod_runs_on" progresses
insmod "$ko"

kill $busy

# recv --once stops listening once it has its sender: while it serves or
# waits (--wait) for the process it rebuilt, a second sender is refused at
# once, so it retries, instead of queueing on a socket about to close.
ticker=$(dirname "$0")/ticker
w=$(mktemp -d)
hetmig keygen "$w/key" > /dev/null
hetmig recv --key "$w/key" --once --wait --allow-root --listen 127.0.0.1:7301 \
	--output "$w/moved" > "$w/recv" 2>&1 &
recv=$!
i=0; until grep -q "receiving on" "$w/recv" || [ $i -ge 100 ]; do usleep 100000; i=$((i + 1)); done
"$ticker" 30 > "$w/ticks" &
tick=$!
i=0; until grep -q "tick  1/" "$w/ticks" || [ $i -ge 100 ]; do usleep 100000; i=$((i + 1)); done
out=$(hetmig send $tick 127.0.0.1:7301 --key "$w/key" 2>&1); rc=$?
check "companion.send_to_self_exit_0" [ $rc -eq 0 ]
moved=$(sed -n 's/.*runs here as pid \([0-9]*\).*/\1/p' "$w/recv")
# A queued connection would hang nc until recv ended: timeout 5 ends that.
out=$(timeout 5 nc 127.0.0.1 7301 < /dev/null 2>&1)
check "companion.recv_once_refuses_second_sender" has "$out" "refused"
check "companion.recv_once_waits_for_its_process" kill -0 $recv
[ -n "$moved" ] && kill "$moved"
wait $recv
rm -rf "$w"
exit $failed
