// SPDX-License-Identifier: GPL-2.0
#include "fds/eventfd.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fds/fd.h"

namespace hetmig::fds {

namespace {

Result<uint64_t> read_counter(int fd)
{
	uint64_t v;
	ssize_t n;
	do
		n = read(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n != ssize_t(sizeof(v)))
		return fail(n < 0 ? errno : EIO, "reading an eventfd");
	return v;
}

Result<void> add_to_counter(int fd, uint64_t v)
{
	ssize_t n;
	do
		n = write(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n != ssize_t(sizeof(v)))
		return fail(n < 0 ? errno : EIO, "writing an eventfd");
	return {};
}

} // namespace

bool is_eventfd(const std::string &link)
{
	return link == "anon_inode:[eventfd]";
}

Result<bool> probe_mode(int fd, uint64_t count)
{
	// A read takes 1 in semaphore mode, the whole counter otherwise: the
	// two differ once the counter is 2 or more.
	uint64_t added = count < 2 ? 2 : 0;
	if (added)
		if (auto r = add_to_counter(fd, added); !r)
			return std::unexpected(r.error());
	auto got = read_counter(fd);
	if (!got)
		return std::unexpected(got.error());
	bool semaphore = *got == 1;
	if (!semaphore && *got != count + added)
		return fail(EAGAIN, strf("the eventfd's counter changed while it was read "
					 "(%llu, then %llu)", (unsigned long long)count,
					 (unsigned long long)(*got - added)));
	// Back to COUNT. Semaphore mode took 1 of COUNT + ADDED: give it
	// back, or take the 2 added but that 1. The other mode took all.
	if (semaphore && added) {
		if (auto r = read_counter(fd); !r)
			return std::unexpected(r.error());
	} else if (uint64_t back = semaphore ? 1 : count) {
		if (auto r = add_to_counter(fd, back); !r)
			return std::unexpected(r.error());
	}
	return semaphore;
}

Result<EventCounter> capture_eventfd(pid_t pid, int fd)
{
	auto count = fdinfo_field(pid, fd, "eventfd-count");
	if (!count)
		return fail(ENOENT, strf("fd %d, an eventfd: no eventfd-count in its fdinfo", fd));
	EventCounter c;
	c.count = std::stoull(*count, nullptr, 16);
	if (auto mode = fdinfo_field(pid, fd, "eventfd-semaphore")) {
		c.semaphore = *mode == "1";
		return c;
	}
	auto copy = copy_of(pid, fd);
	if (!copy)
		return std::unexpected(copy.error());
	auto semaphore = probe_mode(copy->get(), c.count);
	if (!semaphore)
		return fail(semaphore.error().code, strf("fd %d, an eventfd: %s", fd,
							 semaphore.error().describe().c_str()));
	c.semaphore = *semaphore;
	return c;
}

Result<int> make_eventfd(const OpenFile &f)
{
	int flags = (f.flags & O_NONBLOCK ? EFD_NONBLOCK : 0) |
		    (f.flags & O_CLOEXEC ? EFD_CLOEXEC : 0) |
		    (f.eventfd->semaphore ? EFD_SEMAPHORE : 0);
	// eventfd takes an unsigned int; the counter goes to 2^64 - 2.
	UniqueFd fd(eventfd(0, flags));
	if (fd.get() < 0)
		return fail(errno, strf("fd %d, an eventfd", f.fd));
	if (f.eventfd->count)
		if (auto r = add_to_counter(fd.get(), f.eventfd->count); !r)
			return fail(r.error().code, strf("fd %d, an eventfd: setting its counter "
							 "to %llu", f.fd,
							 (unsigned long long)f.eventfd->count));
	return fd.release();
}

} // namespace hetmig::fds
