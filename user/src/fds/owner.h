// SPDX-License-Identifier: GPL-2.0
// An open file description's owner: the process (or group, or thread) it
// signals when it is ready, with O_ASYNC, and the signal (F_SETOWN_EX,
// F_SETSIG). Capture and rebuild side by side.
//
// Captured through a copy of the description (the owner is the
// description's, not the fd's). Only an owner that moves with the
// process is carried: the process itself, its main thread, a process of
// its tree or a process group one of them leads; another (one that
// stays, a thread other than the main one) is refused, naming it, as its
// pid here would be a stranger's. Set again once the tree exists and the
// process has its own credentials (F_SETOWN records them, and they decide
// whether the signal may be sent), before O_ASYNC, which the kernel acts
// on only when F_SETFL turns it on.
#pragma once

#include <optional>
#include <span>
#include <sys/types.h>

#include "error.h"
#include "image.h"

namespace hetmig::fds {

// The owner of fd FD of PID, if it has one or a signal; refused when it
// does not move with the process (TREE: the pids that do, PID among them).
Result<std::optional<FileOwner>> capture_owner(pid_t pid, int fd, std::span<const pid_t> tree);

// F's owner and O_ASYNC given back to FD, F's descriptor here. OLD_PID:
// the process's pid on the source, which is its own pid here, whatever
// that is.
Result<void> restore_owner(int fd, const OpenFile &f, pid_t old_pid);

} // namespace hetmig::fds
