#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# TCP sockets through hetmig dump and restore on one machine (tcp.c): a
# process with a listener on 127.0.0.1 and one on [::1], an established
# loopback connection with bytes queued both ways and bytes never sent,
# and a connection to a peer that is not moved. A dump refused after its
# connections were put in repair mode leaves them working; a dump kills
# the source without a FIN or RST to anyone; a restore whose listener's
# port is taken fails before anything runs, naming fd, address and port;
# restored once the port is free, every byte arrives once and in order,
# the listeners accept, and the peer never noticed. Needs root; TAP.
dir=$(dirname "$0")
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
has() { case $1 in *"$2"*) true ;; *) echo "# expected '$2' in: $1"; false ;; esac; }
# wait_for FILE TEXT: up to 60 s for TEXT to appear in FILE.
wait_for() { i=0; until grep -q "$2" "$1" 2>/dev/null || [ $i -ge 300 ]; do usleep 200000; i=$((i + 1)); done; }
# report LOG [PART]: the TAP lines a program printed ("ok - tcp.NAME",
# "not ok - tcp.NAME # why") numbered as ours (as tcp.PART.NAME); its
# other lines as comments when one failed.
report() {
	while IFS= read -r line; do
		name=${line#*ok - }
		[ -n "$2" ] && name="tcp.$2.${name#tcp.}"
		case $line in
		"ok - "*) ok "$name" ;;
		"not ok - "*) not_ok "$name" ;;
		esac
	done < "$1"
	if grep -q "^not ok" "$1"; then sed 's/^/# /' "$1"; fi
}
field() { sed -n "s/.*[( ]$2 \([0-9-]*\).*/\1/p" "$1"; }
out_rsts() { awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "OutRsts") c = i; h = 1 } else print $c }' /proc/net/snmp; }

echo "TAP version 13"
work=$(mktemp -d)
pub=$work/pub	# where a user may write its images
mkdir -m 1777 "$pub" && chmod 711 "$work"
trap 'kill -9 $peer $pid $holder 2>/dev/null; rm -rf "$work"' EXIT

# refused PART ARG TEXT [USER...]: tcp ARG and its peer started, tcp
# and its dump as USER (asuser UID GID, or nobody: root); the dump fails
# saying TEXT and writes nothing, and tcp and the peer are then intact:
# the connections it had captured came out of repair mode as they were.
refused() {
	part=$1 arg=$2 text=$3
	shift 3
	"$dir/tcp" peer > "$work/peer.$part" 2>&1 &
	peer=$!
	wait_for "$work/peer.$part" "ready"
	"$@" "$dir/tcp" "$(field "$work/peer.$part" port)" $arg > "$work/tcp.$part" 2>&1 &
	pid=$!
	wait_for "$work/tcp.$part" "ready"
	out=$("$@" hetmig dump $pid -o "$pub/img.$part" 2>&1); rc=$?
	check "tcp.$part.dump_fails" [ $rc -ne 0 ]
	check "tcp.$part.dump_says_why" has "$out" "$text"
	check "tcp.$part.no_image" [ ! -e "$pub/img.$part" ]
	kill -TERM $peer $pid
	wait $pid; rc=$?
	wait $peer
	report "$work/tcp.$part" "$part"
	check "tcp.$part.source_runs_on" [ $rc -eq 0 ]
	report "$work/peer.$part" "$part"
}

# 1. Refused after its connections were captured in repair mode (a unix
# socket to a process that stays comes after them): the source runs on
# with every connection working, and its peer never noticed.
refused after_refusal refuse "a unix socket whose peer is not in the process"
check "tcp.after_refusal.unix_socket_named" has "$out" "fd $(field "$work/tcp.after_refusal" U) is socket:["
# Without CAP_NET_ADMIN (a user dumping its own process): refused at its
# first connection, saying what it needs; the listeners before it, which
# need nothing, were only watched.
refused as_user "" "needs CAP_NET_ADMIN: run hetmig as root" "$dir/asuser" 1000 1000
check "tcp.as_user.connection_named" has "$out" "fd $(field "$work/tcp.as_user" C) is a TCP connection 127.0.0.1:"

# 2. Moved: dumped (the source killed silently), its port taken, restored.
"$dir/tcp" peer > "$work/peer2" 2>&1 &
peer=$!
wait_for "$work/peer2" "ready"
"$dir/tcp" "$(field "$work/peer2" port)" > "$work/tcp2" 2>&1 &
pid=$!
wait_for "$work/tcp2" "ready"
port=$(field "$work/tcp2" port)
rsts=$(out_rsts)
out=$(hetmig dump $pid -o "$work/img2" 2>&1); rc=$?
[ $rc -eq 0 ] || echo "# $out"
check "tcp.dump_exit_0" [ $rc -eq 0 ]
wait $pid 2>/dev/null
check "tcp.source_stopped_for_good" [ ! -d /proc/$pid ]
# S held unread bytes: closed normally it would have sent a reset.
check "tcp.source_died_without_a_reset" [ "$(out_rsts)" = "$rsts" ]
check "tcp.image_format_5" [ "$(od -An -tu4 -j8 -N4 "$work/img2" | tr -d ' ')" = 5 ]

"$dir/tcp" hold "$port" > "$work/hold" 2>&1 &
holder=$!
wait_for "$work/hold" "ready"
out=$(hetmig restore "$work/img2" --allow-root 2>&1); rc=$?
check "tcp.restore_refused_while_the_port_is_taken" [ $rc -ne 0 ]
check "tcp.taken_port_named" has "$out" "fd $(field "$work/tcp2" L), a TCP socket listening on 127.0.0.1:$port: binding to 127.0.0.1:$port here: another socket has that address and port"
check "tcp.nothing_runs_after_the_refused_restore" [ ! -d /proc/$pid ]
kill -TERM $holder
wait $holder

rsts=$(out_rsts)
out=$(hetmig restore "$work/img2" --allow-root 2>&1); rc=$?
[ $rc -eq 0 ] || echo "# $out"
check "tcp.restore_exit_0" [ $rc -eq 0 ]
check "tcp.restore_keeps_the_pid" has "$out" "restored as pid $pid "
check "tcp.refused_restore_reset_nothing" [ "$(out_rsts)" = "$rsts" ]
kill -TERM $peer $pid
i=0; while [ -d /proc/$pid ] && [ $i -lt 300 ]; do usleep 200000; i=$((i + 1)); done
wait $peer
report "$work/tcp2"
check "tcp.carried" grep -q "^tcp: intact" "$work/tcp2"
report "$work/peer2"
check "tcp.peer_never_noticed" grep -q "^peer: intact" "$work/peer2"
echo "1..$n"
