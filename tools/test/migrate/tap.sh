# SPDX-License-Identifier: GPL-2.0
# TAP helpers for the guest sides of tools/test/migrate-test (sourced).
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
has() { case $1 in *"$2"*) true ;; *) echo "# expected '$2' in: $1"; false ;; esac; }
# wait_for FILE TEXT: up to two minutes for TEXT to appear in FILE.
wait_for() { i=0; until grep -q "$2" "$1" 2>/dev/null || [ $i -ge 600 ]; do usleep 200000; i=$((i + 1)); done; }
