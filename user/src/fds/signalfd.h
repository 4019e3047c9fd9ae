// SPDX-License-Identifier: GPL-2.0
// signalfd(2) descriptors: the signals they read. Capture and rebuild side
// by side.
//
// Captured from fdinfo's "sigmask:" (the signals it reads, one bit each).
// Rebuilt with signalfd4 and that mask, with the descriptor's flags. What
// it reads is the reading thread's pending signals and the process's,
// which are carried as the process's (signals.h), not as the signalfd's.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

#include "error.h"
#include "image.h"

namespace hetmig::fds {

bool is_signalfd(const std::string &link);

// The mask of fdinfo's "sigmask:" value (16 hex digits, bit N - 1 for
// signal N), or nothing when it is not one.
std::optional<uint64_t> parse_sigmask(const std::string &text);

// The signals the signalfd PID has at FD reads.
Result<uint64_t> capture_signalfd(pid_t pid, int fd);

// A new signalfd (the lowest free number) with F's mask and flags
// (O_NONBLOCK, O_CLOEXEC).
Result<int> make_signalfd(const OpenFile &f);

} // namespace hetmig::fds
