// SPDX-License-Identifier: GPL-2.0
// Seizure::stop on a child of the test: stopping a process and letting it
// go must leave it exactly as it was, signals included.
#include <csignal>
#include <gtest/gtest.h>

#include "reaped_child.h"
#include <sys/wait.h>
#include <unistd.h>

#include "seizure.h"

namespace {

volatile sig_atomic_t handled, stop;

// The child: raises SIGUSR1 at itself without pause until SIGTERM; its exit
// status is the number of raise() calls that returned without the handler
// having run (255 for more).
[[noreturn]] void raise_until_term()
{
	struct sigaction sa = {};
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = [](int) { handled = handled + 1; };
	sigaction(SIGUSR1, &sa, nullptr);
	sa.sa_handler = [](int) { stop = 1; };
	sigaction(SIGTERM, &sa, nullptr);
	int lost = 0;
	while (!stop) {
		sig_atomic_t before = handled;
		raise(SIGUSR1);
		lost += handled == before;
	}
	_exit(lost > 255 ? 255 : lost);
}

// A thread seized just as it takes a signal reports a signal-delivery-stop
// in place of the interrupt's stop; the signal must be handed back, not
// dropped when the thread is let go. On this project's 2-core machine the
// old code dropped about one signal in 4,000 stops (3 runs of 4 failed);
// 20,000 stops take about 2 s. companion.sh checks the same in a guest.
TEST(Seizure, StoppingAndLettingGoLosesNoSignal)
{
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		raise_until_term();
	hetmig::testing::ReapedChild reap{child};
	usleep(20000);
	for (int i = 0; i < 20000; i++) {
		auto s = hetmig::Seizure::stop(child);
		if (!s && s.error().code == EPERM)
			GTEST_SKIP() << "ptrace is not permitted here";
		ASSERT_TRUE(s.has_value()) << s.error().describe();
	}  // each Seizure lets the child go as it ends
	kill(child, SIGTERM);
	int status = reap.wait();
	ASSERT_NE(status, -1);
	ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
	EXPECT_EQ(WEXITSTATUS(status), 0) << "signals the child lost";
}

} // namespace
