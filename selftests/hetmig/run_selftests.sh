#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs every hetmig selftest in this folder (inside a guest) and passes their
# TAP output through. A program that dies without reporting a failed test
# gets a "not ok" of its own, so a crash is never counted as a pass.
# HETMIG_SELFTESTS="fuzz_genl restore" runs only those (make fuzz).
dir=$(dirname "$0")
status=0
for t in "$dir"/*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	name=$(basename "$t")
	[ "$name" = run_selftests.sh ] && continue
	case $name in migratee|ticker|memhog|raiser|manymaps|dirfds|pipes|asuser|timers|epoll|signalfd|signals|sockpair|scmrights|epollclosed|tree|treefds|tcp|fifos|sharedfile|caps|unixsock|ghosts|stopped|fdkinds|postcopy|procattrs) continue ;; esac	# programs the tests run
	case " ${HETMIG_SELFTESTS:-$name} " in *" $name "*) ;; *) continue ;; esac
	echo "# selftest: $name"
	out=/tmp/selftest.$name.out
	"$t" > "$out" 2>&1
	rc=$?
	cat "$out"
	# kselftest: 0 pass, 4 skip (KSFT_SKIP), anything else a failure.
	if [ $rc -ne 0 ] && [ $rc -ne 4 ]; then
		status=1
		grep -q '^not ok' "$out" ||
			echo "not ok 0 $name exited with status $rc without reporting a failed test"
	fi
done
# Whatever the tests did, the kernel must not have complained about it.
# Reports from before hetmig.ko was first loaded cannot be ours (an early
# boot report of the debug kernel under TCG was seen once in five boots):
# they are shown, not counted.
echo "# selftest: kernel log"
complaint='BUG:|WARNING:|Oops|general protection|UBSAN:|KASAN:|suspected memory leak|hetmig.*(leak|lock)'
dmesg | sed '/hetmig: version .* loaded/,$d' | grep -E "$complaint" | sed 's/^/# before hetmig.ko, not counted: /'
if dmesg | sed -n '/hetmig: version .* loaded/,$p' | grep -E "$complaint"; then
	echo "not ok 1 kernel_log_clean"
	status=1
else
	echo "ok 1 kernel_log_clean"
fi
exit $status
