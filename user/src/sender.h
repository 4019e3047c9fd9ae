// SPDX-License-Identifier: GPL-2.0
// The sending side of a move (`hetmig send`), as the steps it goes
// through: connect, prepare, pre-copy rounds (--live), stop at a point
// (park, freeze, capture, convert; the next point when one does not
// convert), transfer, commit, post-copy (--lazy: the source's pages served
// to the running copy). Any failure before the destination confirms
// the commit calls the move off in one place (Sender::call_off), which
// knows from the step reached what to undo: nothing, a parked process to
// let go, or a frozen one to thaw. cmd_send.cpp only parses the options.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include "dirty_tracking.h"
#include "error.h"
#include "image.h"
#include "precopy.h"

namespace hetmig {

struct PrecopyOptions {
	DirtyTracking tracking = DirtyTracking::kSoftDirty;
	RoundBounds bounds;
	uint64_t max_factor = 3;	// --max-precopy's default: 3 times the memory
	// --max-downtime: refuse, the process never stopped, when the final
	// round would stop it longer (final_round_ms).
	std::optional<double> max_downtime_ms;
};

// What `hetmig send` was asked to do.
struct SendRequest {
	pid_t pid = 0;
	std::string dest;			// HOST[:PORT]
	std::string key_path;
	bool keep = false;			// the source runs on after the move
	int timeout_s = 120;
	WriteOptions write;
	int park_timeout_ms = 30000;
	uint32_t at_point = 1;			// the Nth point (countdown)
	int max_points = 8;			// points tried before giving up
	bool parked = false;			// the process asked itself (hetmig_migrate)
	bool every_point = false;		// park at refused sites too (tests)
	std::optional<PrecopyOptions> live;	// --live
	bool lazy = false;			// --lazy: post-copy (postcopy_loop.h)
};

// Runs the move; returns the command's exit code, having said what
// happened (on stdout when it moved, on stderr when not).
int send_process(const SendRequest &request);

} // namespace hetmig
