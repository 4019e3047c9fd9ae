// SPDX-License-Identifier: GPL-2.0
// A rebuilt process's resource limits and oom_score_adj, as it had them.
#pragma once

#include <string>
#include <sys/types.h>

#include "error.h"
#include "image.h"

namespace hetmig {

// Writes /proc/WHO/oom_score_adj; false and errno on failure.
bool write_oom_score_adj(const std::string &who, int value);

// The process's resource limits, as it had them: its clone started with
// ours. Raising a hard limit above ours needs CAP_SYS_RESOURCE: without
// it the restore fails, naming the limit, rather than run the process
// under other limits than its own.
Result<void> set_rlimits(pid_t pid, const Image &img);

// The process's oom_score_adj, as it had it. Its clone started with ours,
// and the child wrote the image's value as the process would have; what it
// could not write (a value below ours: lowering it needs CAP_SYS_RESOURCE)
// is written here, with our privilege. A receiver without that privilege
// refuses the restore, naming the value, rather than leave a process the
// OOM killer was told to spare more exposed to it than it was.
Result<void> set_oom_score_adj(pid_t pid, const Image &img);

} // namespace hetmig
