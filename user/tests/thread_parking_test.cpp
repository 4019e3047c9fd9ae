// SPDX-License-Identifier: GPL-2.0
// Which threads a move request parked, and how a refusal names the others
// (convert/thread_parking.h, issue 17).
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "convert/thread_parking.h"

namespace {

using hetmig::convert::ParkedThread;
using hetmig::program::Isa;

hetmig_threads table_with(std::initializer_list<std::pair<int32_t, uint32_t>> slots)
{
	hetmig_threads t{};
	t.magic = HETMIG_RT_MAGIC;
	t.slots = HETMIG_THREADS_MAX;
	unsigned i = 7;  // slots are claimed anywhere in the table
	for (auto [tid, state] : slots) {
		t.slot[i].tid = tid;
		t.slot[i].state = state;
		t.slot[i].park_ra = 0x401000 + tid;
		t.slot[i].park_cfa = 0x7ff000 + tid;
		t.slot[i].park_fp = 0x7ff100 + tid;
		t.slot[i].park_errno = tid % 7;
		i += 3;
	}
	return t;
}

TEST(ThreadParking, ParkedSlotsAreTheThreadsThatParked)
{
	auto t = table_with({{101, HETMIG_THREAD_PARKED}, {102, 0}, {103, HETMIG_THREAD_PARKED}});
	auto p = hetmig::convert::parked_threads(t);
	ASSERT_EQ(p.size(), 2u);
	EXPECT_EQ(p[0].tid, 101);
	EXPECT_EQ(p[0].ra, 0x401000u + 101);
	EXPECT_EQ(p[0].cfa, 0x7ff000u + 101);
	EXPECT_EQ(p[0].fp, 0x7ff100u + 101);
	EXPECT_EQ(p[0].errno_val, 101 % 7);
	// A slot claimed but not yet filled in (state 0) is no parked thread.
	EXPECT_EQ(p[1].tid, 103);
}

TEST(ThreadParking, ATableNeverWrittenHasNoThreads)
{
	auto t = table_with({{101, HETMIG_THREAD_PARKED}});
	t.magic = 0;
	EXPECT_TRUE(hetmig::convert::parked_threads(t).empty());
}

TEST(ThreadParking, UnparkedAreTheTasksWithoutASlot)
{
	std::vector<ParkedThread> parked = {{101, 0, 0, 0, 0}, {103, 0, 0, 0, 0}};
	EXPECT_EQ(hetmig::convert::unparked({101, 102, 103, 104}, parked),
		  (std::vector<pid_t>{102, 104}));
	EXPECT_TRUE(hetmig::convert::unparked({101, 103}, parked).empty());
	// A slot of a thread that is gone does not make up for another.
	EXPECT_EQ(hetmig::convert::unparked({102}, parked), (std::vector<pid_t>{102}));
}

TEST(ThreadParking, SystemCallsByTheirNameOnEachIsa)
{
	EXPECT_EQ(hetmig::convert::syscall_name(Isa::x86_64, 202), "futex");
	EXPECT_EQ(hetmig::convert::syscall_name(Isa::aarch64, 98), "futex");
	EXPECT_EQ(hetmig::convert::syscall_name(Isa::x86_64, 0), "read");
	EXPECT_EQ(hetmig::convert::syscall_name(Isa::aarch64, 63), "read");
	EXPECT_EQ(hetmig::convert::syscall_name(Isa::x86_64, 7), "poll");
	EXPECT_EQ(hetmig::convert::syscall_name(Isa::aarch64, 73), "ppoll");
	EXPECT_EQ(hetmig::convert::syscall_name(Isa::x86_64, 999), "999");
}

TEST(ThreadParking, ARefusalNamesTheThreadItsFunctionAndItsCall)
{
	hetmig::convert::ThreadWhere w;
	w.tid = 812;
	w.comm = "reduce";
	w.syscall = 202;
	w.function = "pthread_barrier_wait+0x5c";
	EXPECT_EQ(hetmig::convert::describe(Isa::x86_64, w),
		  "thread 812 (reduce) is in pthread_barrier_wait+0x5c, system call futex");
	w.syscall = -1;
	w.function = "spin+0x10";
	EXPECT_EQ(hetmig::convert::describe(Isa::x86_64, w),
		  "thread 812 (reduce) is running in spin+0x10 and reached no migration point");
}

// A thread of ours blocked in read(2) on a pipe: /proc says so.
TEST(ThreadParking, WhereABlockedThreadIs)
{
	int fd[2];
	ASSERT_EQ(pipe(fd), 0);
	pid_t tid = 0;
	std::thread reader([&] {
		pthread_setname_np(pthread_self(), "blocked-reader");
		__atomic_store_n(&tid, pid_t(syscall(SYS_gettid)), __ATOMIC_SEQ_CST);
		char c;
		(void)!read(fd[0], &c, 1);
	});
	while (!__atomic_load_n(&tid, __ATOMIC_SEQ_CST))
		std::this_thread::yield();
	auto tasks = hetmig::convert::tasks_of(getpid());
	ASSERT_TRUE(tasks);
	EXPECT_NE(std::find(tasks->begin(), tasks->end(), tid), tasks->end());
	auto prog = hetmig::program::Program::open_elf("/proc/self/exe");
	ASSERT_TRUE(prog) << prog.error().describe();
	hetmig::convert::ThreadWhere w;
	for (int i = 0; i < 2000; i++) {  // until it is inside the call
		w = hetmig::convert::where_is(getpid(), tid, *prog);
		if (w.syscall == SYS_read)
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	EXPECT_EQ(w.comm, "blocked-reader");
	EXPECT_EQ(w.syscall, SYS_read);
	EXPECT_NE(w.pc, 0u);
	(void)!write(fd[1], "x", 1);
	reader.join();
	close(fd[0]);
	close(fd[1]);
}

} // namespace
