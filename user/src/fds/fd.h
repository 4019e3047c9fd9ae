// SPDX-License-Identifier: GPL-2.0
// What the kinds of descriptors (pipes.h, eventfd.h, devices.h) share: an
// owned descriptor, a copy of one a stopped process holds, its fdinfo.
#pragma once

#include <fcntl.h>
#include <optional>
#include <span>
#include <string>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

namespace hetmig::fds {

// The open(2) flags to open a file again with, as the process had it
// open: those that only acted when it was first opened (creating,
// truncating, taking a terminal) left out.
inline int reopen_flags(int flags)
{
	return flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
}

// A descriptor closed when its owner goes; moving it leaves -1 behind.
class UniqueFd {
public:
	UniqueFd() = default;
	explicit UniqueFd(int fd) : fd_(fd) {}
	UniqueFd(UniqueFd &&o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
	UniqueFd &operator=(UniqueFd &&o) noexcept
	{
		if (this != &o) {
			reset();
			fd_ = o.fd_;
			o.fd_ = -1;
		}
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;
	~UniqueFd() { reset(); }

	int get() const { return fd_; }
	int release() { int fd = fd_; fd_ = -1; return fd; }
	void reset() { if (fd_ >= 0) ::close(fd_); fd_ = -1; }

private:
	int fd_ = -1;
};

// While it lives, this thread creates files as UID and GID (and checks
// access as they would), when it runs as root: a pipe or socket made for
// the tree is owned by its first holder, as the one it made on the source
// was, so that it may open it again through /proc/self/fd; a deleted file
// is made again only where its holder may make one. Capabilities
// other than the file system's (CAP_SYS_RESOURCE, for a large pipe) stay.
class CreatingAs {
public:
	CreatingAs(uid_t uid, gid_t gid) : active_(geteuid() == 0)
	{
		if (!active_)
			return;
		old_gid_ = gid_t(syscall(SYS_setfsgid, gid));
		old_uid_ = uid_t(syscall(SYS_setfsuid, uid));
	}
	~CreatingAs()
	{
		if (!active_)
			return;
		syscall(SYS_setfsuid, old_uid_);
		syscall(SYS_setfsgid, old_gid_);
	}
	CreatingAs(const CreatingAs &) = delete;
	CreatingAs &operator=(const CreatingAs &) = delete;

private:
	bool active_;
	uid_t old_uid_ = 0;
	gid_t old_gid_ = 0;
};

// Our own descriptor of the open file description PID has at FD
// (pidfd_getfd): the way to look into a pipe or an eventfd of another
// process. It needs ptrace access to PID, which its tracer (the dumper)
// has. The description is the process's own: what is done through the
// copy, it sees.
Result<UniqueFd> copy_of(pid_t pid, int fd);

// Whether fd A of process PA and fd B of PB are one open file description
// (kcmp KCMP_FILE, which needs ptrace access to both: a dump's tracer has
// it). Fails where the kernel has no kcmp (CONFIG_KCMP).
Result<bool> same_description(pid_t pa, int a, pid_t pb, int b);

// A process other than PID (and us) and those of TREE that holds the
// file whose /proc/N/fd link reads LINK ("socket:[N]": inherited, or
// passed to it), as far as /proc shows us; 0 for none. With IN_TREE, one
// of TREE's other processes instead.
pid_t held_elsewhere(pid_t pid, const std::string &link, std::span<const pid_t> tree,
		     bool in_tree);

// The value after "KEY:" in /proc/PID/fdinfo/FD, leading blanks skipped;
// nothing when the kernel does not print KEY.
std::optional<std::string> fdinfo_field(pid_t pid, int fd, const std::string &key);

// All of BYTES into FD at OFFSET, retried after EINTR and short writes; on
// failure the errno (EIO for a write of nothing) and WHAT.
Result<void> pwrite_all(int fd, std::span<const uint8_t> bytes, uint64_t offset,
			const char *what);

} // namespace hetmig::fds
