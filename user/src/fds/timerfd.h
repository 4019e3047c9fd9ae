// SPDX-License-Identifier: GPL-2.0
// timerfd(2) descriptors: a clock, what remains until the next expiry,
// the interval and the expiries not yet read. Capture and rebuild side by
// side.
//
// Captured from fdinfo (clockid, ticks, settime flags, it_value,
// it_interval), which reads nothing. Rebuilt with timerfd_create and
// rearmed relative: it expires what remained of it when the process was
// stopped after it is rebuilt, so the time between the two (the move)
// passes the timer by; one with TFD_TIMER_ABSTIME is set absolute at the
// destination clock's now plus that, with its flags. A periodic timer
// that had expired and was not read yet (nothing remains: the kernel
// rearms it on the read) restarts a whole interval. Expiries not read
// are put back with TFD_IOC_SET_TICKS (CONFIG_CHECKPOINT_RESTORE, which
// Debian's kernels have).
#pragma once

#include <string>
#include <sys/types.h>

#include "error.h"
#include "image.h"

namespace hetmig::fds {

bool is_timerfd(const std::string &link);

// The timer PID has at FD, from its fdinfo.
Result<TimerState> capture_timerfd(pid_t pid, int fd);

// A new timerfd (the lowest free number) with F's clock, timer, unread
// expiries and flags (O_NONBLOCK, O_CLOEXEC).
Result<int> make_timerfd(const OpenFile &f);

} // namespace hetmig::fds
