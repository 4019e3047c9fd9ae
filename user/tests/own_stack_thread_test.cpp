// SPDX-License-Identifier: GPL-2.0
// OwnStackThread: the work runs on another thread, and once it is joined
// its stack is no mapping of ours any more (glibc's own thread stacks stay
// mapped for reuse, and a process the restorer makes would inherit them).
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "own_stack_thread.h"

namespace hetmig {
namespace {

// Whether ADDR lies in a mapping of this process.
bool mapped(uintptr_t addr)
{
	std::ifstream maps("/proc/self/maps");
	std::string line;
	while (std::getline(maps, line)) {
		uintptr_t lo, hi;
		char dash;
		std::istringstream in(line);
		in >> std::hex >> lo >> dash >> hi;
		if (addr >= lo && addr < hi)
			return true;
	}
	return false;
}

TEST(OwnStackThread, RunsElsewhereAndLeavesNoStack)
{
	uintptr_t local = 0;
	pid_t tid = 0;
	{
		OwnStackThread t([&] {
			int on_stack = 0;
			local = reinterpret_cast<uintptr_t>(&on_stack);
			tid = gettid();
		});
	}
	ASSERT_NE(local, 0u);
	EXPECT_NE(tid, gettid());
	EXPECT_FALSE(mapped(local)) << std::hex << local;
}

} // namespace
} // namespace hetmig
