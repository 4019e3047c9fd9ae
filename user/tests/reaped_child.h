// SPDX-License-Identifier: GPL-2.0
// A child process a test forked: killed and reaped when the test ends
// early (a failed ASSERT returns from it), left alone once the test has
// waited for it (pid set to 0).
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

namespace hetmig::testing {

struct ReapedChild {
	pid_t pid;

	explicit ReapedChild(pid_t child) : pid(child) {}
	ReapedChild(const ReapedChild &) = delete;
	ReapedChild &operator=(const ReapedChild &) = delete;
	// Waits for the child to end and reaps it: its wait status, or -1 if
	// waitpid failed (the destructor then still kills it).
	int wait()
	{
		int status = 0;
		if (waitpid(pid, &status, 0) != pid)
			return -1;
		pid = 0;
		return status;
	}

	~ReapedChild()
	{
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
		}
	}
};

} // namespace hetmig::testing
