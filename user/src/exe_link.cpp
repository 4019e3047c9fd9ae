// SPDX-License-Identifier: GPL-2.0
#include "exe_link.h"

#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <vector>

#include "inject.h"

namespace hetmig {

Result<std::optional<std::string>> restore_exe_link(pid_t pid, const Image &img, uid_t uid)
{
	const std::string &path = img.program.path;
	auto stays = [&](const std::string &why) -> std::optional<std::string> {
		return strf("process %d's /proc/%d/exe is hetmig's, not %s: %s", pid, pid,
			    path.c_str(), why.c_str());
	};
	if (path.empty() || path[0] != '/')
		return std::nullopt;	// unknown: an image of an older hetmig
	if (path.ends_with(" (deleted)"))
		return stays("its binary was deleted on the source");
	// CAP_SYS_RESOURCE: root's, which nobody else's process has.
	if (uid != 0)
		return stays(strf("the kernel lets only a process with CAP_SYS_RESOURCE set it, "
				  "and it runs as uid %u", uid));
	auto calls = RemoteSyscalls::in(pid, pid);
	if (!calls)
		return std::unexpected(calls.error());
	std::vector<uint8_t> name(path.begin(), path.end());
	name.push_back(0);
	auto fd = calls->call(SYS_openat, {uint64_t(AT_FDCWD), 0, O_RDONLY | O_CLOEXEC}, 1, {},
			      name);
	if (!fd)
		return std::unexpected(fd.error());
	if (*fd < 0)
		return stays(strf("opening it here: %s", std::strerror(int(-*fd))));
	auto set = calls->call(SYS_prctl, {PR_SET_MM, PR_SET_MM_EXE_FILE, uint64_t(*fd)});
	auto closed = calls->call(SYS_close, {uint64_t(*fd)});
	if (!set)
		return std::unexpected(set.error());
	if (!closed)
		return std::unexpected(closed.error());
	if (*set < 0)
		return stays(strf("prctl(PR_SET_MM_EXE_FILE): %s", std::strerror(int(-*set))));
	return std::nullopt;
}

} // namespace hetmig
