// SPDX-License-Identifier: GPL-2.0
#include "fds/fd.h"

#include <cerrno>
#include <fstream>
#include <linux/kcmp.h>
#include <sys/syscall.h>

namespace hetmig::fds {

Result<UniqueFd> copy_of(pid_t pid, int fd)
{
	UniqueFd pidfd(int(syscall(SYS_pidfd_open, pid, 0)));
	if (pidfd.get() < 0)
		return fail(errno, strf("pidfd_open of process %d", pid));
	UniqueFd copy(int(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
	if (copy.get() < 0)
		return fail(errno, strf("pidfd_getfd of fd %d of process %d", fd, pid));
	return copy;
}

Result<bool> same_description(pid_t pa, int a, pid_t pb, int b)
{
	long r = syscall(SYS_kcmp, pa, pb, KCMP_FILE, a, b);
	if (r < 0)
		return fail(errno, strf("kcmp of fd %d of process %d and fd %d of process %d",
					a, pa, b, pb));
	return r == 0;
}

std::optional<std::string> fdinfo_field(pid_t pid, int fd, const std::string &key)
{
	std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
	for (std::string line; std::getline(info, line);)
		if (line.starts_with(key + ":")) {
			size_t at = line.find_first_not_of(" \t", key.size() + 1);
			return at == std::string::npos ? std::string() : line.substr(at);
		}
	return std::nullopt;
}

} // namespace hetmig::fds
