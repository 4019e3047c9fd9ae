// SPDX-License-Identifier: GPL-2.0
#include "frozen.h"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <linux/hetmig.h>
#include <string>
#include <sys/wait.h>

#include "process_state.h"

namespace hetmig {

namespace {

// /proc/PID/status's TracerPid: 0 when nothing traces PID (or on error).
pid_t tracer_of(pid_t pid)
{
	std::ifstream status("/proc/" + std::to_string(pid) + "/status");
	for (std::string line; std::getline(status, line);)
		if (line.starts_with("TracerPid:"))
			return pid_t(std::strtol(line.c_str() + 10, nullptr, 10));
	return 0;
}

// PTRACE_SEIZE refused PID. When another tracer holds it, say which: a
// `hetmig freeze` (hetmig.ko lets the holder's user read a frozen process,
// uapi/linux/hetmig.h "Reading a process"), or another program (a
// debugger, strace). Otherwise ptrace's own reason stands.
Error refused(GenlClient &client, pid_t pid, const Error &seize)
{
	pid_t tracer = tracer_of(pid);
	if (seize.code != EPERM || tracer <= 0)
		return seize;
	if (query_mm(client, uint32_t(pid)))
		return Error{EBUSY, strf("process %d is frozen by 'hetmig freeze' (process %d); "
					 "thaw it first ('hetmig thaw %d')", pid, tracer, pid),
			     {}, {}};
	std::string comm;
	std::ifstream("/proc/" + std::to_string(tracer) + "/comm") >> comm;
	return Error{EBUSY, strf("process %d is traced by process %d (%s): a process is "
				 "stopped by one tracer at a time", pid, tracer,
				 comm.empty() ? "?" : comm.c_str()),
		     {}, {}};
}

} // namespace

Result<FrozenProcess> FrozenProcess::freeze(pid_t pid)
{
	auto client = GenlClient::connect();
	if (!client)
		return std::unexpected(client.error());
	auto stopped = Seizure::stop(pid);
	if (!stopped)
		return std::unexpected(refused(*client, pid, stopped.error()));
	if (auto r = client->pid_command(HETMIG_CMD_FREEZE, uint32_t(pid), "FREEZE"); !r)
		return std::unexpected(r.error());
	return FrozenProcess(std::move(*client), std::move(*stopped));
}

void FrozenProcess::thaw()
{
	tcp_.release();  // before it runs: its connections as they were
	if (done_ || !seizure_.pid())
		return;
	done_ = true;
	(void)client_.pid_command(HETMIG_CMD_THAW, uint32_t(seizure_.pid()), "THAW");
	seizure_.release();
}

void FrozenProcess::kill()
{
	if (done_)
		return;
	done_ = true;
	// SIGKILL ends a stopped tracee at once; reap every thread of ours.
	::kill(seizure_.pid(), SIGKILL);
	for (pid_t tid : seizure_.tids())
		if (tid != seizure_.pid())
			waitpid(tid, nullptr, __WALL);
	waitpid(seizure_.pid(), nullptr, __WALL);
	seizure_.forget();
	// Ours are the last references to its connections now: closed in
	// repair mode, they go without a FIN or RST to the peer.
	tcp_.drop();
}

} // namespace hetmig
