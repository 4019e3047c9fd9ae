// SPDX-License-Identifier: GPL-2.0
// System calls made by a stopped thread of another process, on our behalf:
// state only the process can read of itself (getitimer, timer_gettime,
// prctl PR_GET_TIMERSLACK). The thread is made to execute one syscall
// instruction it already has (in its vdso, or else in any executable
// mapping) with our number and arguments, single-stepped, and put back:
// registers, syscall number, signal mask and the stack bytes we borrowed
// exactly as they were, so it runs on as if nothing happened.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <sys/types.h>

#include "error.h"

namespace hetmig {

class RemoteSyscalls {
public:
	// TID (a thread of PID) must be in a ptrace stop of this thread's,
	// as a Seizure leaves it.
	static Result<RemoteSyscalls> in(pid_t pid, pid_t tid);

	// Runs syscall NR with ARGS; the kernel's return value (-errno on
	// failure). With OUT, argument OUT_ARG is replaced by the address of
	// OUT.size() bytes below the thread's stack pointer, copied to OUT
	// after the call. With IN, those bytes hold IN when the call is made
	// (at least IN.size() of them). With INNER_ARG, that argument is
	// replaced by the address INNER_OFFSET bytes into them: a second
	// pointer into one buffer (capset's header and data).
	Result<long> call(long nr, std::array<uint64_t, 6> args = {}, int out_arg = -1,
			  std::span<uint8_t> out = {}, std::span<const uint8_t> in = {},
			  int inner_arg = -1, size_t inner_offset = 0);

	uint64_t instruction() const { return insn_; }

private:
	RemoteSyscalls(pid_t pid, pid_t tid, uint64_t insn) : pid_(pid), tid_(tid), insn_(insn) {}
	pid_t pid_, tid_;
	uint64_t insn_;	// address of a syscall instruction in the process
};

// PID was in a group stop (SIGSTOP) when it was seized, or no longer is
// held: a SIGSTOP one of its threads takes during a call made for us is
// dropped then, as the SIGCONT that ends the group stop would drop it
// (zdtm's stopped01, stopped12: a stopped process sent SIGSTOP again).
void note_group_stopped(pid_t pid, bool stopped);

// prctl(OPTION, &value) made by PID's stopped main thread: the PR_GET_*
// that take a pointer and that only the process can ask of itself
// (PR_GET_PDEATHSIG, PR_GET_CHILD_SUBREAPER). WHAT names the value in an
// error ("the parent-death signal").
Result<int32_t> prctl_get_of(pid_t pid, int option, const char *what);

} // namespace hetmig
