// SPDX-License-Identifier: GPL-2.0
#include "exe_link.h"

#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inject.h"

namespace hetmig {

namespace {

bool names_program(const Image &img)
{
	const std::string &path = img.program.path;
	return !path.empty() && path[0] == '/' && !path.ends_with(" (deleted)");
}

// Thread TID's real, effective, saved and file system uids all UID, and
// its permitted and effective capabilities none, as /proc says.
bool dropped_root(pid_t pid, pid_t tid, uid_t uid)
{
	std::ifstream in(strf("/proc/%d/task/%d/status", pid, tid));
	std::string want_uid = strf("Uid:\t%u\t%u\t%u\t%u", uid, uid, uid, uid);
	bool uids = false, prm = false, eff = false;
	for (std::string line; std::getline(in, line);) {
		uids |= line == want_uid;
		prm |= line == "CapPrm:\t0000000000000000";
		eff |= line == "CapEff:\t0000000000000000";
	}
	return uids && prm && eff;
}

} // namespace

bool exe_link_keeps_saved_root(const Image &img, uid_t uid)
{
	return geteuid() == 0 && uid != 0 && names_program(img);
}

Result<std::optional<std::string>> restore_exe_link(pid_t pid, const std::vector<pid_t> &tids,
						    const Image &img, uid_t uid, int pdeathsig)
{
	const std::string &path = img.program.path;
	if (path.empty() || path[0] != '/')
		return std::nullopt;	// unknown: an image of an older hetmig
	auto stays = [&](const std::string &why) -> std::optional<std::string> {
		return strf("process %d's /proc/%d/exe is hetmig's, not %s: %s", pid, pid,
			    path.c_str(), why.c_str());
	};
	if (path.ends_with(" (deleted)"))
		return stays("its binary was deleted on the source");
	const bool saved_root = exe_link_keeps_saved_root(img, uid);
	if (uid != 0 && !saved_root)
		return stays(strf("it runs as uid %u, and only a restorer running as root can "
				  "give it CAP_SYS_RESOURCE to set it", uid));
	auto calls = RemoteSyscalls::in(pid, pid);
	if (!calls)
		return std::unexpected(calls.error());
	auto failed = [&](const char *what, long err) {
		return fail(int(-err), strf("%s in process %d", what, pid));
	};
	if (saved_root) {
		auto r = calls->call(SYS_setresuid, {~0ULL, 0, ~0ULL});
		if (!r)
			return std::unexpected(r.error());
		if (*r < 0)
			return failed("taking back euid 0 to set the exe link", *r);
	}

	std::optional<std::string> notice;
	std::vector<uint8_t> name(path.begin(), path.end());
	name.push_back(0);
	auto fd = calls->call(SYS_openat, {uint64_t(AT_FDCWD), 0, O_RDONLY | O_CLOEXEC}, 1, {},
			      name);
	if (!fd)
		return std::unexpected(fd.error());
	if (*fd < 0) {
		notice = stays(strf("opening it here: %s", std::strerror(int(-*fd))));
	} else {
		auto set = calls->call(SYS_prctl, {PR_SET_MM, PR_SET_MM_EXE_FILE, uint64_t(*fd)});
		auto closed = calls->call(SYS_close, {uint64_t(*fd)});
		if (!set)
			return std::unexpected(set.error());
		if (!closed)
			return std::unexpected(closed.error());
		if (*set < 0)
			notice = stays(strf("prctl(PR_SET_MM_EXE_FILE): %s",
					    std::strerror(int(-*set))));
	}

	if (saved_root)
		for (pid_t tid : tids) {
			auto in = RemoteSyscalls::in(pid, tid);
			if (!in)
				return std::unexpected(in.error());
			auto r = in->call(SYS_setresuid, {uid, uid, uid});
			if (!r)
				return std::unexpected(r.error());
			if (*r < 0)
				return failed("dropping uid 0", *r);
			if (!dropped_root(pid, tid, uid))
				return fail(EPERM, strf("thread %d of process %d kept uid 0 or a "
							"capability after dropping them", tid, pid));
		}
	// Changing the effective uid made the process undumpable (the
	// kernel's suid_dumpable): its user could no longer trace it, read
	// its /proc files or move it again. It was dumpable, as rebuilt. The
	// change cleared the main thread's parent-death signal too (zdtm's
	// pdeath_sig, run as a user, lost it).
	if (saved_root) {
		auto r = calls->call(SYS_prctl, {PR_SET_DUMPABLE, 1});
		if (!r)
			return std::unexpected(r.error());
		if (*r < 0)
			return failed("making it dumpable again", *r);
		if (pdeathsig) {
			r = calls->call(SYS_prctl, {PR_SET_PDEATHSIG, uint64_t(pdeathsig)});
			if (!r)
				return std::unexpected(r.error());
			if (*r < 0)
				return failed("setting its parent-death signal again", *r);
		}
	}
	return notice;
}

} // namespace hetmig
