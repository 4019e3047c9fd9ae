// SPDX-License-Identifier: GPL-2.0
// The frames of a process parked at a migration point, from the caller of
// __hetmig_park out to main, found with the build's CFI-derived frame
// layouts (Program::FrameLayout) and the frame pointer chain.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "error.h"
#include "program/program.h"

namespace hetmig::convert {

// What __hetmig_park recorded about its caller (struct hetmig_runtime).
struct ParkState {
	uint64_t ra = 0;   // return address into the caller
	uint64_t cfa = 0;  // the caller's sp at the call
	uint64_t fp = 0;   // the caller's frame pointer
};

struct Frame {
	const program::Function *function = nullptr;
	const program::CallSite *site = nullptr;  // the call in progress
	uint64_t cfa = 0, fp = 0, sp = 0;
	uint64_t resume_pc = 0;  // == site->return_address
};

using WordReader = std::function<Result<uint64_t>(uint64_t addr)>;

// Innermost first; the last frame is main's, or with THREAD a thread's
// start routine: the frame whose return address is in musl's `start` or
// `start_c11` (pthread_create.c, thrd_create), the libc frames that
// called it (issue 17). Refuses a frame whose function has no debug
// information or an unknown layout, a frame that disagrees with its
// layout, and a chain that does not reach main (or a start routine).
Result<std::vector<Frame>> parked_frames(const program::Program &prog, const ParkState &park,
					 const WordReader &read_u64, bool thread = false);

// Whether PC is in the libc function that calls a thread's start routine,
// or is __hetmig_thread_return, where a moved thread's start routine returns.
bool in_thread_start(const program::Program &prog, uint64_t pc);

// Where a variable's bytes are in a frame with this CFA and frame pointer
// (FP_REG: the ISA's DWARF number for it), or why that cannot be said;
// WHERE names the frame in the message.
Result<uint64_t> variable_address(const program::Variable &v, uint64_t cfa, uint64_t fp,
				  unsigned fp_reg, const std::string &where);

} // namespace hetmig::convert
