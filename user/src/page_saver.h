// SPDX-License-Identifier: GPL-2.0
// Pages of stopped processes written into an image file by hetmig.ko
// itself (HETMIG_CMD_SAVE_PAGES): one copy, from the process's pages into
// the file's, summed in the kernel on the way, instead of a copy into our
// buffer and another out of it. save_image puts them there when
// WriteOptions::saver is set (image.cpp, "write_runs_at").
#pragma once

#include <span>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "genl.h"
#include "image.h"

namespace hetmig {

// Whether the loaded hetmig.ko has SAVE_PAGES. Asked with an empty range,
// which a module that has it refuses with EINVAL before looking at
// anything else, and one that has not with EOPNOTSUPP.
Result<bool> kernel_saves_pages(GenlClient &client);

// The saver for PIDS (a tree's, its root first, as open_tree_memory orders
// them), with a netlink socket of its own. The processes must stay stopped
// (frozen by this hetmig) while it is used. Empty when the loaded
// hetmig.ko has no SAVE_PAGES.
Result<PageSaver> page_saver(std::span<const pid_t> pids);

} // namespace hetmig
