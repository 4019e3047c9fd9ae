// SPDX-License-Identifier: GPL-2.0
// Small helpers the subcommands share for their command lines.
#pragma once

#include <optional>
#include <sys/types.h>

namespace hetmig {

// A positive decimal pid, or nothing.
std::optional<pid_t> parse_pid(const char *text);

// Prints "hetmig: MESSAGE" for ERR and returns its exit code.
int report(const struct Error &err);

} // namespace hetmig
