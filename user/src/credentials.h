// SPDX-License-Identifier: GPL-2.0
// A process's user and group ids: capture and rebuild side by side.
//
// The dump reads the real, effective, saved and file system uid and gid
// from /proc/PID/status, and the supplementary groups. The rebuilt child
// takes them while it is still the restorer's (root) child: groups, the
// three gids and the file system gid first, then the three uids. A
// process whose effective uid is not 0 but which needs the exe link set
// keeps a saved uid of 0 until restore_exe_link drops it (exe_link.h);
// finish_uids then gives every thread its saved and file system uid.
#pragma once

#include <array>
#include <cstdint>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig {

struct RestorePolicy;

// Real, effective, saved and file system ids, in that order.
struct IdSet {
	std::array<uint32_t, 4> uids{}, gids{};

	bool any_root_uid() const
	{
		return uids[0] == 0 || uids[1] == 0 || uids[2] == 0 || uids[3] == 0;
	}
	bool distinct() const;
};

// PID's ids and supplementary groups into IMG (uid, gid, ids, groups).
Result<void> capture_credentials(pid_t pid, Image &img);

// The ids IMG's process gets here: the receiver's --user/--group for all
// four when it chose them, else the image's (its one uid and gid for all
// four in an image written before the four were carried).
IdSet ids_here(const Image &img, const RestorePolicy &policy);

// Whether the ids IMG's process gets here can be given by this restorer:
// one that is not root can only give its own.
Result<void> check_credentials(const Image &img, const RestorePolicy &policy);

// In the rebuilt child, as root: groups, gids (file system gid included)
// and uids, the saved uid 0 when SAVED_ROOT. 0, or the errno that failed.
int switch_credentials(const IdSet &ids, const std::vector<gid_t> &groups, bool saved_root);

// Thread TID of PID (stopped, traced by us) takes IDS' uids through
// injected calls: setresuid, then setfsuid. Run with the thread's
// effective uid 0 (a saved root taken back) or as the uids it has.
// Checked in /proc; an error names the thread.
Result<void> finish_uids(pid_t pid, pid_t tid, const IdSet &ids);

// Whether /proc/PID/task/TID/status shows IDS' four uids (and no
// capability left when none of its real, effective and saved uids is 0).
bool has_uids(pid_t pid, pid_t tid, const IdSet &ids);

} // namespace hetmig
