// SPDX-License-Identifier: GPL-2.0
#include "frozen.h"

#include <csignal>
#include <linux/hetmig.h>
#include <sys/wait.h>

namespace hetmig {

Result<FrozenProcess> FrozenProcess::freeze(pid_t pid)
{
	auto client = GenlClient::connect();
	if (!client)
		return std::unexpected(client.error());
	auto stopped = Seizure::stop(pid);
	if (!stopped)
		return std::unexpected(stopped.error());
	if (auto r = client->pid_command(HETMIG_CMD_FREEZE, uint32_t(pid), "FREEZE"); !r)
		return std::unexpected(r.error());
	return FrozenProcess(std::move(*client), std::move(*stopped));
}

void FrozenProcess::thaw()
{
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
}

} // namespace hetmig
