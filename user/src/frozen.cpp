// SPDX-License-Identifier: GPL-2.0
#include "frozen.h"

#include <csignal>
#include <linux/hetmig.h>
#include <sys/wait.h>

namespace hetmig {

namespace {

Result<void> pid_command(GenlClient &client, uint8_t cmd, pid_t pid, const char *what)
{
	auto req = client.pid_request(cmd, uint32_t(pid));
	if (!req)
		return std::unexpected(req.error());
	return client.transact(std::move(*req),
			       [](const nlmsghdr *) -> Result<void> { return {}; }, what);
}

} // namespace

Result<FrozenProcess> FrozenProcess::freeze(pid_t pid)
{
	auto client = GenlClient::connect();
	if (!client)
		return std::unexpected(client.error());
	auto stopped = Seizure::stop(pid);
	if (!stopped)
		return std::unexpected(stopped.error());
	if (auto r = pid_command(*client, HETMIG_CMD_FREEZE, pid, "FREEZE"); !r)
		return std::unexpected(r.error());
	return FrozenProcess(std::move(*client), std::move(*stopped));
}

void FrozenProcess::thaw()
{
	if (done_ || !seizure_.pid())
		return;
	done_ = true;
	(void)pid_command(client_, HETMIG_CMD_THAW, seizure_.pid(), "THAW");
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
}

} // namespace hetmig
