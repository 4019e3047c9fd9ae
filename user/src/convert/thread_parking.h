// SPDX-License-Identifier: GPL-2.0
// Which threads of a process a move request has parked, and what the others
// are doing (issue 17). The runtime gives every parked thread a slot of
// __hetmig_threads (user/runtime/hetmig.h); a thread in a call the runtime
// does not know never takes one, and the refusal names it and its call.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "program/program.h"
#include "hetmig.h"

namespace hetmig::convert {

// One parked thread's record, read from its slot.
struct ParkedThread {
	pid_t tid = 0;
	uint64_t ra = 0, cfa = 0, fp = 0;
	int32_t errno_val = 0;
};

// The parked threads in a copy of __hetmig_threads: the slots whose state
// says parked, in slot order. A table never written (magic 0) has none.
std::vector<ParkedThread> parked_threads(const hetmig_threads &table);

// TASKS (every thread of the process) that have no parked slot, in order.
std::vector<pid_t> unparked(const std::vector<pid_t> &tasks,
			    const std::vector<ParkedThread> &parked);

// Where a thread that did not park is, as /proc/PID/task/TID says.
struct ThreadWhere {
	pid_t tid = 0;
	std::string comm;	// its name (comm)
	long syscall = -1;	// the system call it is in, -1 when running
	uint64_t pc = 0;	// its pc, 0 when unknown
	std::string function;	// the function of PROG at pc, with +offset
};

// ISA's name for system call NR, for the ones a blocked thread is usually
// in; the number for the others.
std::string syscall_name(program::Isa isa, long nr);

// "thread 812 (worker) is in pthread_barrier_wait+0x5c, system call
// futex": one thread that did not park, for a refusal.
std::string describe(program::Isa isa, const ThreadWhere &t);

// The tids of PID's threads (/proc/PID/task), ascending.
Result<std::vector<pid_t>> tasks_of(pid_t pid);

// Where thread TID of PID is (/proc/PID/task/TID/{comm,syscall}), PROG's
// function at its pc.
ThreadWhere where_is(pid_t pid, pid_t tid, const program::Program &prog);

// Reads PID's __hetmig_threads; an empty table when PROG has none (a
// runtime older than the table).
Result<hetmig_threads> read_thread_table(pid_t pid, const program::Program &prog);

} // namespace hetmig::convert
