// SPDX-License-Identifier: GPL-2.0
#include "fds/owner.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "fds/fd.h"

namespace hetmig::fds {

Result<std::optional<FileOwner>> capture_owner(pid_t pid, int fd, std::span<const pid_t> tree)
{
	auto copy = copy_of(pid, fd);
	if (!copy)
		return std::unexpected(copy.error());
	f_owner_ex ex{};
	if (fcntl(copy->get(), F_GETOWN_EX, &ex))
		return fail(errno, strf("fd %d of process %d: F_GETOWN_EX", fd, pid));
	int sig = fcntl(copy->get(), F_GETSIG);
	if (sig < 0)
		return fail(errno, strf("fd %d of process %d: F_GETSIG", fd, pid));
	if (ex.pid == 0 && sig == 0)
		return std::nullopt;
	bool moves = ex.pid == 0 || ex.pid == pid ||
		     (ex.type != F_OWNER_TID &&
		      std::find(tree.begin(), tree.end(), ex.pid) != tree.end());
	if (!moves) {
		const char *whom = ex.type == F_OWNER_TID    ? "thread"
				   : ex.type == F_OWNER_PGRP ? "process group"
							     : "process";
		return fail(EOPNOTSUPP, strf("fd %d signals %s %d when it is ready (F_SETOWN), "
					     "which does not move with the process: its number "
					     "would be another's on the destination", fd, whom,
					     ex.pid));
	}
	return FileOwner{ex.type, ex.pid, sig};
}

Result<void> restore_owner(int fd, const OpenFile &f, pid_t old_pid)
{
	if (f.owner) {
		if (fcntl(fd, F_SETSIG, f.owner->signal))
			return fail(errno, strf("fd %d: F_SETSIG %d", f.fd, f.owner->signal));
		f_owner_ex ex{static_cast<__pid_type>(f.owner->type), f.owner->id};
		if (ex.pid == old_pid)
			ex.pid = getpid();
		if (ex.pid && fcntl(fd, F_SETOWN_EX, &ex))
			return fail(errno, strf("fd %d: F_SETOWN_EX %d", f.fd, ex.pid));
	}
	if (!(f.flags & O_ASYNC))
		return {};
	// Off first: open(2) takes O_ASYNC into the flags without telling the
	// file, and F_SETFL acts only on a change.
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_ASYNC) ||
	    fcntl(fd, F_SETFL, flags | O_ASYNC))
		return fail(errno, strf("fd %d: O_ASYNC", f.fd));
	return {};
}

} // namespace hetmig::fds
