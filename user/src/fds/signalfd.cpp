// SPDX-License-Identifier: GPL-2.0
#include "fds/signalfd.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds/fd.h"

namespace hetmig::fds {

bool is_signalfd(const std::string &link)
{
	return link == "anon_inode:[signalfd]";
}

std::optional<uint64_t> parse_sigmask(const std::string &text)
{
	if (text.size() != 16 || text.find_first_not_of("0123456789abcdef") != std::string::npos)
		return std::nullopt;
	return std::strtoull(text.c_str(), nullptr, 16);
}

Result<uint64_t> capture_signalfd(pid_t pid, int fd)
{
	auto field = fdinfo_field(pid, fd, "sigmask");
	auto mask = field ? parse_sigmask(*field) : std::nullopt;
	if (!mask)
		return fail(EPROTO, strf("fd %d, a signalfd: its fdinfo has no sigmask as Linux "
					 "6.1 to 6.12 print it", fd));
	return *mask;
}

Result<int> make_signalfd(const OpenFile &f)
{
	// The raw call: glibc's sigset_t is 128 bytes, the kernel's 8.
	uint64_t mask = *f.signalfd;
	int fd = int(syscall(SYS_signalfd4, -1, &mask, sizeof(mask),
			     (f.flags & O_NONBLOCK ? SFD_NONBLOCK : 0) |
				     (f.flags & O_CLOEXEC ? SFD_CLOEXEC : 0)));
	if (fd < 0)
		return fail(errno, strf("fd %d, a signalfd of mask %016llx", f.fd,
					(unsigned long long)mask));
	return fd;
}

} // namespace hetmig::fds
