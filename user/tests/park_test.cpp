// SPDX-License-Identifier: GPL-2.0
// Reading a process that has ended: a send whose process exits before it
// reaches a migration point must say so, not name a failed memory access.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "convert/park.h"

namespace {

int anchor = 42;

TEST(Park, AProcessThatEndedIsSaidToHaveEnded)
{
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		_exit(0);
	// A zombie: its pid answers, its memory is gone.
	siginfo_t si{};
	ASSERT_EQ(waitid(P_PID, child, &si, WEXITED | WNOWAIT), 0);
	auto zombie = hetmig::convert::read_process_memory(
		child, reinterpret_cast<uintptr_t>(&anchor), sizeof(anchor));
	ASSERT_FALSE(zombie);
	EXPECT_EQ(zombie.error().code, ESRCH);
	EXPECT_NE(zombie.error().describe().find("has ended"), std::string::npos)
		<< zombie.error().describe();
	waitpid(child, nullptr, 0);

	// Gone and reaped: the same.
	auto gone = hetmig::convert::read_process_memory(
		child, reinterpret_cast<uintptr_t>(&anchor), sizeof(anchor));
	ASSERT_FALSE(gone);
	EXPECT_NE(gone.error().describe().find("has ended"), std::string::npos);

	// A live one still reads.
	auto self = hetmig::convert::read_process_memory(
		getpid(), reinterpret_cast<uintptr_t>(&anchor), sizeof(anchor));
	ASSERT_TRUE(self) << self.error().describe();
	EXPECT_EQ(*reinterpret_cast<int *>(self->data()), 42);
}

} // namespace
