// SPDX-License-Identifier: GPL-2.0
#include "exe_link.h"

#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "credentials.h"
#include "inject.h"

namespace hetmig {

namespace {

bool names_program(const Image &img)
{
	const std::string &path = img.program.path;
	return !path.empty() && path[0] == '/' && !path.ends_with(" (deleted)");
}

} // namespace

bool exe_link_keeps_saved_root(const Image &img, const IdSet &ids)
{
	return geteuid() == 0 && ids.uids[1] != 0 && names_program(img);
}

Result<std::optional<std::string>> restore_exe_link(pid_t pid, const std::vector<pid_t> &tids,
						    const Image &img, const IdSet &ids, int pdeathsig)
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
	const bool saved_root = exe_link_keeps_saved_root(img, ids);
	if (ids.uids[1] != 0 && !saved_root)
		return stays(strf("it runs as uid %u, and only a restorer running as root can "
				  "give it CAP_SYS_RESOURCE to set it", ids.uids[1]));
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

	// Each thread takes its real, effective, saved and file system uids,
	// dropping uid 0 for good where none of them is 0.
	if (saved_root)
		for (pid_t tid : tids)
			if (auto r = finish_uids(pid, tid, ids); !r)
				return std::unexpected(r.error());
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
