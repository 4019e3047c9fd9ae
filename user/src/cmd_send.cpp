// SPDX-License-Identifier: GPL-2.0
// hetmig send PID HOST[:PORT]: move a process to the machine where
// `hetmig recv` runs. Transactional: the source stays frozen until the
// destination reports the rebuilt process running; any failure before that
// thaws it, and it runs on as if nothing had happened. The options are
// parsed here; the move itself is sender.cpp's.
//
// hetmig keygen FILE: make a pre-shared key for send and recv.
#include <cstdio>
#include <optional>
#include <string>

#include "channel.h"
#include "cli.h"
#include "fds/ghost_files.h"
#include "commands.h"
#include "dirty_tracking.h"
#include "sender.h"

namespace hetmig {

namespace {

constexpr const char *kDefaultKey = "/etc/hetmig/key";
constexpr int kDayS = 86400;  // the longest timeout an option takes

} // namespace

int cmd_keygen(int argc, char **argv)
{
	// An option is no file name: `hetmig keygen --help` once made a key
	// file named --help.
	if (argc != 2 || argv[1][0] == '-')
		return std::fputs("usage: hetmig keygen FILE\n", stderr), kExitUsage;
	if (auto r = write_new_key(argv[1]); !r)
		return report(r.error());
	return kExitOk;
}

int cmd_send(int argc, char **argv)
{
	const char *usage = "usage: hetmig send PID HOST[:PORT] [--key FILE] [--keep] "
			    "[--no-compress] [--timeout SECONDS]\n"
			    "                   [--park-timeout SECONDS] [--at-point N] [--max-points N]\n"
			    "                   [--parked] [--every-point] [--ghost-limit MIB]\n"
			    "                   [--live [--max-rounds N] [--max-precopy MIB]\n"
			    "                    [--dirty-tracking KIND] [--max-downtime MS]]\n"
			    "                   [--lazy]\n"
			    "--lazy: the process runs on the destination at once and its memory\n"
			    "follows it there; if the connection is lost before all of it is there,\n"
			    "the copy is killed and the source runs on from where it stopped: what\n"
			    "the copy did meanwhile is lost. Needs a receiver running as root.\n";
	SendRequest r;
	r.key_path = kDefaultKey;
	r.write.compress = true;
	bool live = false;
	PrecopyOptions live_opts;
	std::optional<DirtyTracking> tracking;
	std::optional<pid_t> pid;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--key" && i + 1 < argc)
			r.key_path = argv[++i];
		else if (a == "--keep")
			r.keep = true;
		else if (a == "--no-compress")
			r.write.compress = false;
		else if (a == "--timeout" && i + 1 < argc) {
			if (!set_option(r.timeout_s, "--timeout", argv[++i], 1, kDayS))
				return kExitUsage;
		} else if (a == "--park-timeout" && i + 1 < argc) {
			auto s = option_seconds("--park-timeout", argv[++i], kDayS);
			if (!s)
				return kExitUsage;
			r.park_timeout_ms = int(*s * 1000);
		} else if (a == "--at-point" && i + 1 < argc) {
			if (!set_option(r.at_point, "--at-point", argv[++i], 1, UINT32_MAX))
				return kExitUsage;
		} else if (a == "--max-points" && i + 1 < argc) {
			if (!set_option(r.max_points, "--max-points", argv[++i], 1, 1000000))
				return kExitUsage;
		} else if (a == "--ghost-limit" && i + 1 < argc) {
			// What one deleted file or memfd may bring (fds/ghost_files.h).
			long long mib = 0;
			if (!set_option(mib, "--ghost-limit", argv[++i], 0, fds::kGhostTotalMax >> 20))
				return kExitUsage;
			fds::set_ghost_limit(uint64_t(mib) << 20);
		} else if (a == "--live") {
			live = true;
		} else if (a == "--lazy") {
			r.lazy = true;
		} else if (a == "--max-rounds" && i + 1 < argc) {
			if (!set_option(live_opts.bounds.max_rounds, "--max-rounds", argv[++i], 1, 1000))
				return kExitUsage;
		} else if (a == "--max-precopy" && i + 1 < argc) {
			uint64_t mib = 0;
			if (!set_option(mib, "--max-precopy", argv[++i], 1, uint64_t(1) << 30))
				return kExitUsage;
			live_opts.bounds.max_bytes = mib << 20;
		} else if (a == "--max-downtime" && i + 1 < argc) {
			long long ms = 0;
			if (!set_option(ms, "--max-downtime", argv[++i], 1, kDayS * 1000LL))
				return kExitUsage;
			live_opts.max_downtime_ms = double(ms);
		} else if (a == "--dirty-tracking" && i + 1 < argc) {
			tracking = parse_tracking(argv[++i]);
			if (!tracking)
				return std::fputs("hetmig: --dirty-tracking is soft-dirty or hash\n",
						  stderr), kExitUsage;
		} else if (a == "--every-point")
			// Park at points hetmig check refuses too (the converter
			// then refuses them and the next one is tried): for tests
			// of that path.
			r.every_point = true;
		else if (a == "--parked")
			r.parked = true;  // hetmig_migrate(): the process asked itself
		else if (!pid && (pid = parse_pid(argv[i])))
			continue;
		else if (r.dest.empty() && a[0] != '-')
			r.dest = a;
		else
			return std::fputs(usage, stderr), kExitUsage;
	}
	if (!pid || r.dest.empty() || r.timeout_s <= 0)
		return std::fputs(usage, stderr), kExitUsage;
	if (live_opts.max_downtime_ms && !live)
		return std::fputs("hetmig: --max-downtime needs --live: the estimate comes from the "
				  "pre-copy rounds\n", stderr), kExitUsage;
	if (live && r.lazy)
		return std::fputs("hetmig: --live and --lazy are two ways to move a large process: "
				  "choose one\n", stderr), kExitUsage;
	r.pid = *pid;
	// Soft-dirty where the kernel keeps it (x86_64), else page hashes.
	if (live) {
		bool soft_dirty = soft_dirty_works();
		live_opts.tracking = tracking.value_or(soft_dirty ? DirtyTracking::kSoftDirty
								  : DirtyTracking::kHash);
		if (live_opts.tracking == DirtyTracking::kSoftDirty && !soft_dirty)
			return std::fputs("hetmig: this kernel keeps no soft-dirty bits: use "
					  "--dirty-tracking hash\n", stderr), kExitUsage;
		r.live = live_opts;
	}
	return send_process(r);
}

} // namespace hetmig
