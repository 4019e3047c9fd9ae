// SPDX-License-Identifier: GPL-2.0
// Asking a hetmig-cc process to stop at its next migration point, through
// its runtime block (struct hetmig_runtime, Documentation/heterogeneous.md
// "Parking"). Reading and writing another process's memory needs the same
// permission as ptrace, so parking is no wider a power than freezing.
#pragma once

#include <cstdint>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "program/program.h"

namespace hetmig::convert {

// Writes the return addresses of FROM's call sites that `hetmig check`
// refuses for a move to TO into the process's __hetmig_unproven table, so
// that its runtime does not park with one of them on the stack. Returns
// how many; 0 without writing when the build has no table (an older
// runtime) or the table is too small (then every point parks, and the
// converter refuses what it cannot convert).
Result<size_t> mark_unproven_sites(pid_t pid, const program::Program &from,
				   const program::Program &to);

class Parking {
public:
	// Sets `pending` to COUNTDOWN (the process parks at the COUNTDOWN-th
	// migration point from now; unless it asked itself: hetmig_migrate)
	// and waits up to TIMEOUT_MS for `parked`. On a timeout the request is
	// withdrawn and the process runs on untouched. EVERY_THREAD (a move
	// between ISAs): then waits up to kEveryThreadMs more for every
	// thread of the process to park, and refuses naming those that did
	// not (each with the function and system call it is in).
	static Result<Parking> request(pid_t pid, const program::Program &prog, int timeout_ms,
				       bool self_requested = false, uint32_t countdown = 1,
				       bool every_thread = false);
	// How long the other threads have, once one parked: a thread at work
	// reaches a point at its next function entry or loop; one in a known
	// blocking call looks at the request every 2 ms (user/runtime/threads.c).
	static constexpr int kEveryThreadMs = 2000;
	Parking(Parking &&o) noexcept : pid_(o.pid_), block_(o.block_) { o.pid_ = 0; }
	Parking &operator=(Parking &&) = delete;
	// Withdraws the request with ECANCELED unless release() or moved() ran.
	~Parking();

	// The move failed: __hetmig_park returns -ERR in the process.
	void release(int err);
	// A move to a machine of this ISA, whose image is about to be taken
	// from the frozen process: the copy leaves its point on arrival, and
	// __hetmig_park returns RESULT there (HETMIG_ON_*). The converter does
	// this for a cross-ISA move. release() still undoes it here.
	Result<void> resume_there(int32_t result);
	// The process is gone (it runs elsewhere now): nothing to undo.
	void moved() { pid_ = 0; }

private:
	Parking(pid_t pid, uint64_t block) : pid_(pid), block_(block) {}
	// __hetmig_park returns RESULT once the process runs: result, no
	// holder, nothing pending.
	Result<void> let_go(int32_t result);
	pid_t pid_;
	uint64_t block_;
};

// LEN bytes of PID's memory at ADDR (process_vm_readv: ptrace's permission).
Result<std::vector<uint8_t>> read_process_memory(pid_t pid, uint64_t addr, size_t len);

// The program a process runs: the file its code is mapped from (for a
// process rebuilt by hetmig the exe link is the restorer's), whether or not
// it is a hetmig-cc build (then pair_id() is set). ESRCH when there is no
// such process; ESTALE when the file was replaced since it was mapped.
Result<program::Program> program_of(pid_t pid);

} // namespace hetmig::convert
