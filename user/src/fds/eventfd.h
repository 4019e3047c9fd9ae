// SPDX-License-Identifier: GPL-2.0
// eventfd(2) descriptors: a counter and a mode. Capture and rebuild side
// by side.
//
// The counter is fdinfo's eventfd-count. Whether it counts as a semaphore
// (EFD_SEMAPHORE) fdinfo says from Linux 6.3 on (eventfd-semaphore: 6.12
// prints it, 6.1 does not); on an older kernel one read through our copy
// of the descriptor tells, and a write gives back what it took (probe_mode).
// Rebuilt: eventfd with the flags, then the counter written into it.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

#include "error.h"
#include "image.h"

namespace hetmig::fds {

bool is_eventfd(const std::string &link);

// The eventfd PID (stopped, traced by us, sharing it with no other
// process) has at FD.
Result<EventCounter> capture_eventfd(pid_t pid, int fd);

// Whether the eventfd FD, whose counter is COUNT, is in semaphore mode. It
// reads it once, writing 2 first when COUNT is below 2, so that the two
// modes read different values, and writes back what it took: the counter
// ends at COUNT. Nothing else may use the eventfd meanwhile.
Result<bool> probe_mode(int fd, uint64_t count);

// A new eventfd (the lowest free number) with F's counter, mode and flags
// (O_NONBLOCK, O_CLOEXEC).
Result<int> make_eventfd(const OpenFile &f);

} // namespace hetmig::fds
