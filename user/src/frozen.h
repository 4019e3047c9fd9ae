// SPDX-License-Identifier: GPL-2.0
// A process stopped by ptrace and frozen through hetmig.ko for as long as
// this object lives: what dump and send hold while they work. It ends in
// one of two ways: thaw() (the process runs on as if nothing happened, also
// what the destructor does) or kill() (it moved elsewhere).
#pragma once

#include <sys/types.h>

#include "error.h"
#include "fds/tcp.h"
#include "genl.h"
#include "seizure.h"

namespace hetmig {

class FrozenProcess {
public:
	static Result<FrozenProcess> freeze(pid_t pid);
	FrozenProcess(FrozenProcess &&o) noexcept
		: client_(std::move(o.client_)), seizure_(std::move(o.seizure_)),
		  tcp_(std::move(o.tcp_)), done_(o.done_)
	{
		o.done_ = true;
	}
	~FrozenProcess() { thaw(); }

	pid_t pid() const { return seizure_.pid(); }
	GenlClient &client() { return client_; }
	// Its TCP connections, held in repair mode from the capture on: thaw
	// takes them out of it first, kill closes them in it (silently).
	fds::TcpRepair &tcp() { return tcp_; }

	void thaw();
	void kill();

private:
	FrozenProcess(GenlClient client, Seizure seizure)
		: client_(std::move(client)), seizure_(std::move(seizure)) {}
	GenlClient client_;
	Seizure seizure_;
	fds::TcpRepair tcp_;
	bool done_ = false;
};

} // namespace hetmig
