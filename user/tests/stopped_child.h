// SPDX-License-Identifier: GPL-2.0
// A child process stopped with its descriptors set up, for the tests that
// capture them (unix_pairs_test.cpp, tcp_test.cpp).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reaped_child.h"

namespace hetmig::testing {

// A child that runs SETUP (fd 3 and up free), says so, waits to be let go
// (SIGCONT after a SIGSTOP) and exits with what CHECK returns.
template <typename Setup, typename Check>
inline pid_t stopped_child(Setup setup, Check check)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int w = fcntl(ready[1], F_DUPFD_CLOEXEC, 100);
		close_range(3, unsigned(w) - 1, 0);
		close_range(unsigned(w) + 1, ~0U, 0);
		setup();
		(void)!write(w, "r", 1);
		close(w);
		raise(SIGSTOP);
		_exit(check());
	}
	close(ready[1]);
	char c;
	bool said = read(ready[0], &c, 1) == 1 && read(ready[0], &c, 1) == 0;
	close(ready[0]);
	int status;
	if (!said || waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		kill(pid, SIGKILL);
		return -1;
	}
	return pid;
}

inline int finish(ReapedChild &child)
{
	kill(child.pid, SIGCONT);
	int status = child.wait();
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace hetmig::testing
