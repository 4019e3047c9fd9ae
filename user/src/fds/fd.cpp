// SPDX-License-Identifier: GPL-2.0
#include "fds/fd.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hetmig::fds {

pid_t held_elsewhere(pid_t pid, const std::string &link, std::span<const pid_t> tree,
		     bool in_tree)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return 0;
	pid_t found = 0;
	while (dirent *e = readdir(proc)) {
		if (found || !std::isdigit(static_cast<unsigned char>(e->d_name[0])))
			continue;
		pid_t other = pid_t(std::atol(e->d_name));
		if (other == pid || other == getpid())
			continue;  // our copies of its descriptors are no one else's
		if ((std::find(tree.begin(), tree.end(), other) != tree.end()) != in_tree)
			continue;
		std::string dir = std::string("/proc/") + e->d_name + "/fd";
		DIR *fds = opendir(dir.c_str());
		if (!fds)
			continue;
		while (dirent *fd = readdir(fds)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(dirfd(fds), fd->d_name, target, sizeof(target) - 1);
			if (n > 0 && std::string(target, size_t(n)) == link)
				found = other;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

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

Result<void> pwrite_all(int fd, std::span<const uint8_t> bytes, uint64_t offset,
			const char *what)
{
	for (size_t done = 0; done < bytes.size();) {
		ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
				     off_t(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(n < 0 ? errno : EIO, what);
		done += size_t(n);
	}
	return {};
}

} // namespace hetmig::fds
