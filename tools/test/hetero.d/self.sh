#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A program moves itself on one machine (same ISA, over loopback):
#   self.sh TAG PORT
# /root/migrate_self.$ISA calls hetmig_migrate("127.0.0.1:PORT"), which
# starts `hetmig send --parked` (the key in /etc/hetmig/key); a `hetmig
# recv --once --wait` here rebuilds it. Then once more with nobody
# listening on PORT + 1: the call must fail and the program run on.
# Prints "@@SELF TAG moved|failed LINE" for the line after the call, from
# the receiver's copy or from the source. The source's stdout is a file
# it shares with the `hetmig send` it starts, which stays: the copy's
# stdout is recv's --output (and recv says so).
tag=$1 port=$2
isa=$(uname -m)
mkdir -p /etc/hetmig && cp /root/key /etc/hetmig/key

hetmig recv --once --wait --allow-root --listen "127.0.0.1:$port" --output "/tmp/$tag.moved" \
	> "/tmp/$tag.recv" 2>&1 &
recv=$!
until grep -q "receiving on" "/tmp/$tag.recv"; do usleep 100000; done
"/root/migrate_self.$isa" "127.0.0.1:$port" > "/tmp/$tag.src" 2>&1
echo "# $tag source: $(tr '\n' '|' < "/tmp/$tag.src")"
# The copy ends by itself; bound the wait, in case it does not.
i=0; while kill -0 $recv 2>/dev/null && [ $i -lt 600 ]; do usleep 100000; i=$((i + 1)); done
kill -9 $recv 2>/dev/null
sed "s/^/# $tag recv: /" "/tmp/$tag.recv"
echo "@@SELF $tag moved $(grep '^hetmig_migrate returned' "/tmp/$tag.moved")"

# Bounded: a program parked for a companion that is gone used to wait
# for ever.
timeout 120 "/root/migrate_self.$isa" "127.0.0.1:$((port + 1))" > "/tmp/$tag.fail" 2>&1
echo "# $tag unreachable: $(tr '\n' '|' < "/tmp/$tag.fail")"
echo "@@SELF $tag failed $(grep '^hetmig_migrate returned' "/tmp/$tag.fail")"
exit 0
