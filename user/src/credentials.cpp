// SPDX-License-Identifier: GPL-2.0
#include "credentials.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inject.h"
#include "rebuild.h"

namespace hetmig {

namespace {

// The four ids of a "Uid:" or "Gid:" line of /proc/PID/status.
std::optional<std::array<uint32_t, 4>> four_ids(const std::string &status, const char *key)
{
	std::ifstream in(status);
	for (std::string line; std::getline(in, line);) {
		if (!line.starts_with(std::string(key) + ":"))
			continue;
		std::istringstream list(line.substr(std::string(key).size() + 1));
		std::array<uint32_t, 4> ids{};
		for (auto &id : ids)
			if (!(list >> id))
				return std::nullopt;
		return ids;
	}
	return std::nullopt;
}

std::string ids_text(const std::array<uint32_t, 4> &ids)
{
	return strf("%u/%u/%u/%u", ids[0], ids[1], ids[2], ids[3]);
}

} // namespace

bool IdSet::distinct() const
{
	auto differ = [](const std::array<uint32_t, 4> &ids) {
		return std::any_of(ids.begin(), ids.end(), [&](uint32_t id) { return id != ids[0]; });
	};
	return differ(uids) || differ(gids);
}

Result<void> capture_credentials(pid_t pid, Image &img)
{
	std::string status = "/proc/" + std::to_string(pid) + "/status";
	auto uids = four_ids(status, "Uid");
	auto gids = four_ids(status, "Gid");
	if (!uids || !gids)
		return fail(ESRCH, strf("process %d vanished", pid));
	img.uid = (*uids)[0];
	img.gid = (*gids)[0];
	img.uids.assign(uids->begin(), uids->end());
	img.gids.assign(gids->begin(), gids->end());
	img.groups.clear();
	std::ifstream in(status);
	for (std::string line; std::getline(in, line);)
		if (line.starts_with("Groups:")) {
			std::istringstream list(line.substr(7));
			for (uint32_t g; list >> g;)
				img.groups.push_back(g);
		}
	return {};
}

IdSet ids_here(const Image &img, const RestorePolicy &policy)
{
	IdSet ids;
	for (size_t i = 0; i < 4; i++) {
		ids.uids[i] = img.uids.size() == 4 ? img.uids[i] : img.uid;
		ids.gids[i] = img.gids.size() == 4 ? img.gids[i] : img.gid;
	}
	if (policy.uid)
		ids.uids.fill(*policy.uid);
	if (policy.gid)
		ids.gids.fill(*policy.gid);
	return ids;
}

Result<void> check_credentials(const Image &img, const RestorePolicy &policy)
{
	IdSet ids = ids_here(img, policy);
	if (geteuid() != 0) {
		bool own = std::all_of(ids.uids.begin(), ids.uids.end(),
				       [](uint32_t id) { return id == geteuid(); }) &&
			   std::all_of(ids.gids.begin(), ids.gids.end(),
				       [](uint32_t id) { return id == getegid(); });
		if (!own)
			return fail(EPERM, strf("process %u ran as uids %s gids %s (real, effective, "
						"saved, file system); only root may restore it as "
						"another user than itself", img.pid,
						ids_text(ids.uids).c_str(), ids_text(ids.gids).c_str()));
	}
	if (ids.any_root_uid() && !policy.allow_root)
		return fail(EPERM, strf("process %u would run as root here (uids %s), which this "
					"receiver does not allow (--allow-root, or --user)",
					img.pid, ids_text(ids.uids).c_str()));
	return {};
}

int switch_credentials(const IdSet &ids, const std::vector<gid_t> &groups, bool saved_root)
{
	if (syscall(SYS_setgroups, groups.size(), groups.data()) ||
	    syscall(SYS_setresgid, ids.gids[0], ids.gids[1], ids.gids[2]))
		return errno;
	// As root still: any file system gid, which setresgid set to the
	// effective one. setfsgid says nothing of a failure but what it
	// returns the next time.
	setfsgid(ids.gids[3]);
	if (uint32_t(setfsgid(gid_t(-1))) != ids.gids[3])
		return EPERM;
	if (syscall(SYS_setresuid, ids.uids[0], ids.uids[1], saved_root ? 0 : ids.uids[2]))
		return errno;
	if (!saved_root) {
		// setresuid set it to the effective uid; another one is allowed
		// among the real and saved ones (or to a process that stays root).
		setfsuid(ids.uids[3]);
		if (uint32_t(setfsuid(uid_t(-1))) != ids.uids[3])
			return EPERM;
	}
	return 0;
}

bool has_uids(pid_t pid, pid_t tid, const IdSet &ids)
{
	std::ifstream in(strf("/proc/%d/task/%d/status", pid, tid));
	const auto &u = ids.uids;
	std::string want_uid = strf("Uid:\t%u\t%u\t%u\t%u", u[0], u[1], u[2], u[3]);
	// A process with a uid 0 among its real, effective and saved ones
	// keeps what its capability sets say (restore_capabilities); one
	// without must have none left.
	bool root = u[0] == 0 || u[1] == 0 || u[2] == 0;
	bool uids = false, prm = root, eff = root;
	for (std::string line; std::getline(in, line);) {
		uids |= line == want_uid;
		prm |= line == "CapPrm:\t0000000000000000";
		eff |= line == "CapEff:\t0000000000000000";
	}
	return uids && prm && eff;
}

Result<void> finish_uids(pid_t pid, pid_t tid, const IdSet &ids)
{
	auto in = RemoteSyscalls::in(pid, tid);
	if (!in)
		return std::unexpected(in.error());
	const auto &u = ids.uids;
	auto r = in->call(SYS_setresuid, {u[0], u[1], u[2]});
	if (!r)
		return std::unexpected(r.error());
	if (*r < 0)
		return fail(int(-*r), strf("setting uids %s in thread %d of process %d",
					   ids_text(u).c_str(), tid, pid));
	if (u[3] != u[1]) {
		r = in->call(SYS_setfsuid, {u[3]});
		if (!r)
			return std::unexpected(r.error());
	}
	if (!has_uids(pid, tid, ids))
		return fail(EPERM, strf("thread %d of process %d does not have uids %s (real, "
					"effective, saved, file system) or kept a capability after "
					"taking them", tid, pid, ids_text(u).c_str()));
	return {};
}

} // namespace hetmig
