// SPDX-License-Identifier: GPL-2.0
// hetmig freeze PID: stop a process and hold it stopped until it is thawed
// (Ctrl-C, SIGTERM, or `hetmig thaw PID` from anywhere) or dies.
// hetmig thaw PID: end a freeze held by another hetmig.
//
// The freeze lives as long as this command: ptrace holds the threads and
// hetmig.ko knows the holder by its socket, so if this process dies the
// process it froze runs on (see uapi/linux/hetmig.h).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <linux/hetmig.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "genl.h"
#include "seizure.h"

namespace hetmig {

namespace {

std::optional<pid_t> one_pid_argument(int argc, char **argv, const char *usage)
{
	std::optional<pid_t> pid;
	if (argc == 2)
		pid = parse_pid(argv[1]);
	if (!pid)
		std::fprintf(stderr, "usage: %s\n", usage);
	return pid;
}

// Signals we wait for, delivered through a signalfd rather than handlers.
class SignalFd {
public:
	SignalFd()
	{
		sigemptyset(&set_);
		for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD})
			sigaddset(&set_, sig);
		sigprocmask(SIG_BLOCK, &set_, &old_);
		fd_ = signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	~SignalFd()
	{
		if (fd_ >= 0)
			close(fd_);
		sigprocmask(SIG_SETMASK, &old_, nullptr);
	}
	int fd() const { return fd_; }
	// The next pending signal, or 0.
	int take()
	{
		signalfd_siginfo si;
		return read(fd_, &si, sizeof(si)) == sizeof(si) ? int(si.ssi_signo) : 0;
	}

private:
	sigset_t set_, old_;
	int fd_ = -1;
};

} // namespace

int cmd_freeze(int argc, char **argv)
{
	auto pid = one_pid_argument(argc, argv, "hetmig freeze PID");
	if (!pid)
		return kExitUsage;

	SignalFd signals;
	if (signals.fd() < 0)
		return report(Error{errno, "signalfd", {}, {}});
	auto client = GenlClient::connect();
	if (!client)
		return report(client.error());
	auto events = EventListener::open();
	if (!events)
		return report(events.error());
	auto stopped = Seizure::stop(*pid);
	if (!stopped)
		return report(stopped.error());
	if (auto r = client->pid_command(HETMIG_CMD_FREEZE, uint32_t(*pid), "FREEZE"); !r)
		return report(r.error());

	size_t threads = stopped->tids().size();
	std::printf("hetmig: process %d frozen (%zu thread%s); Ctrl-C or "
		    "'hetmig thaw %d' thaws it\n", *pid, threads,
		    threads == 1 ? "" : "s", *pid);
	std::fflush(stdout);

	pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {events->fd(), POLLIN, 0}};
	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return report(Error{errno, "poll", {}, {}});
		bool thawed = false, exited = false;
		if (auto r = events->read([&](const Event &ev) {
			if (ev.pid != uint32_t(*pid))
				return;
			thawed |= ev.cmd == HETMIG_CMD_THAWED;
			exited |= ev.cmd == HETMIG_CMD_EXITED;
		}); !r)
			return report(r.error());
		for (int sig; (sig = signals.take());) {
			if (sig == SIGCHLD) {
				exited |= stopped->reap_exited();
				continue;
			}
			// Ctrl-C and friends: end the freeze, then let go.
			if (auto r = client->pid_command(HETMIG_CMD_THAW, uint32_t(*pid), "THAW"); !r)
				return report(r.error());
			thawed = true;
		}
		if (exited) {
			std::fprintf(stderr, "hetmig: process %d exited while frozen\n", *pid);
			return kExitFailure;
		}
		if (thawed) {
			stopped->release();
			std::printf("hetmig: process %d thawed\n", *pid);
			return kExitOk;
		}
	}
}

int cmd_thaw(int argc, char **argv)
{
	auto pid = one_pid_argument(argc, argv, "hetmig thaw PID");
	if (!pid)
		return kExitUsage;
	auto client = GenlClient::connect();
	if (!client)
		return report(client.error());
	if (auto r = client->pid_command(HETMIG_CMD_THAW, uint32_t(*pid), "THAW"); !r)
		return report(r.error());
	return kExitOk;
}

} // namespace hetmig
