#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Daemons we did not write, moved with hetmig dump and restore on one
# machine: busybox's httpd (a listener that forks a child per request), a
# shell loop with its sleeping child, crond, syslogd (a datagram socket at
# /dev/log). Each must go on doing its job
# after the move, as if nothing happened. Needs root and busybox; TAP.
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
has() { case $1 in *"$2"*) true ;; *) echo "# expected '$2' in: $1"; false ;; esac; }
# fetch URL: the body, within 10 s (busybox wget's own -T crashes in
# Debian 12's static busybox).
fetch() { busybox timeout 10 busybox wget -q -O - "$1" 2>&1; }
pid_of() { printf '%s\n' "$1" | sed -n 's/.*restored as pid \([0-9]*\).*/\1/p'; }

echo "TAP version 13"
if ! command -v busybox > /dev/null; then
	echo "1..0 # SKIP no busybox"
	exit 4
fi
echo "1..14"
work=$(mktemp -d)
# wait_for FILE TEXT: up to 30 s for TEXT to appear in FILE.
wait_for() { i=0; until grep -q "$2" "$1" 2>/dev/null || [ $i -ge 150 ]; do usleep 200000; i=$((i + 1)); done; }
# moved PID NAME: dumps PID into $work/NAME.img and restores it; $new is
# the restored pid, empty when either failed (the reason printed).
moved() {
	new=
	out=$(hetmig dump "$1" -o "$work/$2.img" 2>&1) || { echo "# $out"; kill -9 "$1"; return 1; }
	wait "$1" 2>/dev/null
	out=$(hetmig restore "$work/$2.img" --allow-root 2>&1) || { echo "# $out"; return 1; }
	new=$(pid_of "$out")
	[ -n "$new" ]
}

# httpd: its listener is carried (same port, nothing queued), and once
# restored it forks a child for each request, which must serve the file.
mkdir -p "$work/www"
echo "served-before-and-after" > "$work/www/index.html"
busybox httpd -f -p 127.0.0.1:8080 -h "$work/www" < /dev/null > /dev/null 2>&1 &
httpd=$!
got=
i=0; until [ -n "$got" ] || [ $i -ge 50 ]; do got=$(fetch http://127.0.0.1:8080/index.html 2>/dev/null); usleep 200000; i=$((i + 1)); done
check "daemons.httpd_serves" has "$got" "served-before-and-after"
check "daemons.httpd_moved" moved $httpd httpd
check "daemons.httpd_keeps_its_pid" [ "$new" = "$httpd" ]
got=$(fetch http://127.0.0.1:8080/index.html)
check "daemons.httpd_serves_after_the_move" has "$got" "served-before-and-after"
got=$(fetch http://127.0.0.1:8080/index.html)
check "daemons.httpd_serves_again" has "$got" "served-before-and-after"
kill "$new" 2>/dev/null

# A shell loop that sleeps in a child: moved as a tree (the shell and its
# sleep), it goes on counting, without a tick lost or repeated.
sh -c 'i=0; while :; do i=$((i + 1)); echo "tick $i" >> "$0"; sleep 1; done' "$work/ticks" \
	< /dev/null > /dev/null 2>&1 &
loop=$!
wait_for "$work/ticks" "tick 2"
check "daemons.loop_moved" moved $loop loop
before=$(wc -l < "$work/ticks")
want=$((before + 2))
wait_for "$work/ticks" "tick $want\$"
counted() {
	awk '{ if ($2 != NR) { print "# line " NR ": " $0; bad = 1 } } END { exit bad }' "$work/ticks" &&
	[ "$(wc -l < "$work/ticks")" -ge "$want" ]
}
check "daemons.loop_counts_on_without_a_gap" counted
kill "$new" 2>/dev/null

# crond, moved twice (a restored process is one like any other), stays
# asleep until its minute.
mkdir -p "$work/cron"
echo "* * * * * echo ran >> $work/cron.log" > "$work/cron/root"
busybox crond -f -c "$work/cron" < /dev/null > /dev/null 2>&1 &
crond=$!
usleep 500000
check "daemons.crond_moved" moved $crond crond
first=$new
check "daemons.crond_moved_again" moved "$first" crond2
check "daemons.crond_keeps_its_pid" [ "$new" = "$crond" ]
usleep 500000
state=$(awk '{ print $3 }' /proc/$new/stat 2>/dev/null)
check "daemons.crond_runs_on" [ "$state" = S ]
kill "$new" 2>/dev/null

# syslogd: its datagram socket at /dev/log is carried (the dump leaves the
# socket file stale; the restore binds it again), and a message logged
# after the move lands in its file, after the one logged before.
rm -f /dev/log
busybox syslogd -n -O "$work/messages" < /dev/null > /dev/null 2>&1 &
syslogd=$!
i=0; until [ -S /dev/log ] || [ $i -ge 50 ]; do usleep 200000; i=$((i + 1)); done
busybox logger -t hetmig-test logged-before-the-move
wait_for "$work/messages" logged-before-the-move
check "daemons.syslogd_logs_before" grep -q logged-before-the-move "$work/messages"
check "daemons.syslogd_moved" moved $syslogd syslogd
busybox logger -t hetmig-test logged-after-the-move
wait_for "$work/messages" logged-after-the-move
check "daemons.syslogd_logs_after_the_move" grep -q logged-after-the-move "$work/messages"
kill "$new" 2>/dev/null
rm -f /dev/log

rm -rf "$work"
