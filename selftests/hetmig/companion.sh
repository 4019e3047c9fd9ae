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
echo "1..7"

has() { case $1 in *"$2"*) true ;; *) echo "# expected '$2' in: $1"; false ;; esac; }

out=$(hetmig version 2>&1); rc=$?
check "companion.version_exit_0" [ $rc -eq 0 ]
check "companion.version_names_arch_and_kernel" has "$out" "on $(uname -m) $(uname -r),"

out=$(hetmig version --json 2>&1)
check "companion.version_json" has "$out" "\"arch\":\"$(uname -m)\",\"kernel\":\"$(uname -r)\""

hetmig no-such-command >/dev/null 2>&1; rc=$?
check "companion.unknown_command_is_usage_error" [ $rc -eq 64 ]

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
exit $failed
