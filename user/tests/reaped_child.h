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
	~ReapedChild()
	{
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
		}
	}
};

} // namespace hetmig::testing
