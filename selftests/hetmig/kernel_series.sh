#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hetmig.ko refuses a kernel series it does not support (6.1 and 6.12 are),
# saying so in the kernel log, unless loaded with allow_unsupported=1. The
# guests run supported kernels only, so the refusal is driven through the
# module's test_release parameter: a release checked beside the running
# kernel's, which can refuse a load and never allow one. The running
# kernel itself passes the same check (the module loads with no message).
# Needs root (rmmod/insmod); TAP output. Leaves the module loaded as it
# found it.
ko=${HETMIG_KO:-/lib/modules/hetmig.ko}
n=0 failed=0 out= rc=0 log=
ok() { n=$((n + 1)); echo "ok $n $1"; }
# A failure shows what the last load said and logged.
not_ok() {
	n=$((n + 1)); failed=1; echo "not ok $n $1"
	echo "# insmod: ${out:-nothing} (status $rc)"
	echo "${log:-nothing}" | sed 's/^/# log: /'
}
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
has() { case $1 in *"$2"*) true ;; *) echo "# expected '$2' in: $1"; false ;; esac; }

echo "TAP version 13"
echo "1..20"

loaded() { grep -q '^hetmig ' /proc/modules; }
# load [PARAM...]: insmod with PARAMs; $out is what insmod said, $rc its
# status and $log the kernel log lines the load added (busybox insmod
# tries finit_module, then init_module: a refusal is logged twice).
load() {
	rmmod hetmig 2>/dev/null
	before=$(dmesg | wc -l)
	out=$(insmod "$ko" "$@" 2>&1); rc=$?
	log=$(dmesg | tail -n +$((before + 1)))
}
refused() { [ $rc -ne 0 ] && ! loaded; }
silent() { ! echo "$log" | grep -q 'supported series'; }
works() { [ $rc -eq 0 ] && loaded && hetmig version > /dev/null; }
series_msg="is of no supported series (6.1, 6.12)"

# The running kernel is supported: no word about series.
load
check "series.running_kernel_loads" works
check "series.running_kernel_not_warned" silent

# Another series: refused, the log naming the release and the supported
# series, and how to load it anyway.
load test_release=6.16.3-amd64
check "series.other_series_refused" refused
check "series.other_series_says_operation_not_supported" has "$out" "not supported"
check "series.other_series_log_names_release_and_series" has "$log" "hetmig: kernel 6.16.3-amd64 $series_msg: not loaded"
check "series.other_series_log_says_how_to_load_anyway" has "$log" "allow_unsupported=1 to use it anyway, at your own risk"

# ... and loaded anyway with allow_unsupported=1, saying so.
load test_release=6.16.3-amd64 allow_unsupported=1
check "series.allow_unsupported_loads" works
check "series.allow_unsupported_log_warns" has "$log" "hetmig: kernel 6.16.3-amd64 $series_msg: loaded anyway (allow_unsupported=1), at your own risk"

# A series is MAJOR.MINOR exactly: releases of the supported series in
# every form Debian and kernel.org use are taken, their neighbours are not.
for r in 6.1.0-57-amd64 6.1.158 6.12.95+deb12-arm64 6.12.48+deb13-cloud-amd64 6.12-rc1 6.1; do
	load test_release="$r"
	if works && silent; then ok "series.supported_release_$r"; else not_ok "series.supported_release_$r"; fi
done
for r in 6.10.0-1-amd64 6.120 16.1.0 5.10.0-33-amd64 7.1 6; do
	load test_release="$r"
	if refused && has "$log" "kernel $r $series_msg"; then
		ok "series.unsupported_release_$r"
	else
		not_ok "series.unsupported_release_$r"
	fi
done

# As it was found: loaded, without parameters.
load
loaded || echo "# could not load $ko again"
exit $failed
