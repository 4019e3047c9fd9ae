// SPDX-License-Identifier: GPL-2.0
#include "pending_signals.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "inject.h"

namespace hetmig {

namespace {

constexpr int kSiUser = 0;

int signo_of(const SigInfo &info)
{
	int32_t sig;
	std::memcpy(&sig, info.data(), sizeof(sig));
	return sig;
}

// "KEY:\t<16 hex digits>" of a /proc status file: a signal set.
Result<uint64_t> sigset_field(const std::string &file, const char *key)
{
	std::ifstream in(file);
	for (std::string line; std::getline(in, line);)
		if (line.starts_with(std::string(key) + ":"))
			return std::stoull(line.substr(std::strlen(key) + 1), nullptr, 16);
	return fail(ESRCH, strf("%s has no %s", file.c_str(), key));
}

// One queue of a stopped tracee: thread TID's own, or with SHARED the
// process's.
Result<std::vector<SigInfo>> peek_queue(pid_t tid, bool shared)
{
	std::vector<SigInfo> queue;
	for (;;) {
		SigInfo batch[32];
		__ptrace_peeksiginfo_args args{};
		args.off = queue.size();
		args.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0;
		args.nr = 32;
		long n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, batch);
		if (n < 0)
			return fail(errno, strf("reading the %s signals of thread %d "
						"(PTRACE_PEEKSIGINFO)",
						shared ? "shared pending" : "pending", tid));
		queue.insert(queue.end(), batch, batch + n);
		if (n < 32)
			return queue;
	}
}

} // namespace

std::vector<SigInfo> completed(std::vector<SigInfo> queue, uint64_t pending)
{
	std::erase_if(queue, [](const SigInfo &i) {
		return signo_of(i) == SIGKILL || signo_of(i) == SIGSTOP;
	});
	for (int sig = 1; sig <= 64; sig++) {
		if (!(pending & (1ull << (sig - 1))) || sig == SIGKILL || sig == SIGSTOP)
			continue;
		bool queued = false;
		for (const auto &i : queue)
			queued |= signo_of(i) == sig;
		if (queued)
			continue;
		SigInfo info{};
		int32_t head[3] = {sig, 0, kSiUser};
		std::memcpy(info.data(), head, sizeof(head));
		queue.push_back(info);
	}
	return queue;
}

Result<PendingSignals> capture_pending_signals(pid_t pid, const std::vector<ThreadState> &threads)
{
	PendingSignals p;
	const std::string proc = "/proc/" + std::to_string(pid);
	auto shared = peek_queue(pid, true);
	if (!shared)
		return std::unexpected(shared.error());
	auto shared_set = sigset_field(proc + "/status", "ShdPnd");
	if (!shared_set)
		return std::unexpected(shared_set.error());
	p.shared = completed(std::move(*shared), *shared_set);
	for (const auto &t : threads) {
		auto own = peek_queue(pid_t(t.tid), false);
		if (!own)
			return std::unexpected(own.error());
		auto own_set = sigset_field(proc + "/task/" + std::to_string(t.tid) + "/status",
					    "SigPnd");
		if (!own_set)
			return std::unexpected(own_set.error());
		auto queue = completed(std::move(*own), *own_set);
		if (!queue.empty())
			p.threads.emplace_back(t.tid, std::move(queue));
	}
	return p;
}

Result<void> queue_pending_signals(pid_t pid, const std::vector<pid_t> &tids, const Image &img)
{
	const PendingSignals &p = img.pending_signals;
	auto queue_in = [&](pid_t tid, const std::vector<SigInfo> &queue, bool shared) -> Result<void> {
		if (queue.empty())
			return {};
		auto calls = RemoteSyscalls::in(pid, tid);
		if (!calls)
			return std::unexpected(calls.error());
		for (const auto &info : queue) {
			int sig = signo_of(info);
			auto r = shared ? calls->call(SYS_rt_sigqueueinfo, {uint64_t(pid), uint64_t(sig)},
						      2, {}, info)
					: calls->call(SYS_rt_tgsigqueueinfo,
						      {uint64_t(pid), uint64_t(tid), uint64_t(sig)}, 3,
						      {}, info);
			if (r && *r < 0)
				r = fail(int(-*r), "");
			if (!r)
				return fail(r.error().code,
					    strf("queuing signal %d%s, pending on the source, in %s "
						 "here%s%s", sig, shared ? "" : strf(" of thread %d", tid).c_str(),
						 shared ? "the process" : "that thread",
						 r.error().context.empty() ? "" : ": ",
						 r.error().context.c_str()));
		}
		return {};
	};
	if (auto r = queue_in(pid, p.shared, true); !r)
		return r;
	for (const auto &[tid, queue] : p.threads) {
		pid_t here = 0;
		for (size_t i = 0; i < img.threads.size() && i < tids.size(); i++)
			if (img.threads[i].tid == tid)
				here = tids[i];
		if (!here)
			return fail(ESRCH, strf("signals pending in thread %u, which was not rebuilt",
						tid));
		if (auto r = queue_in(here, queue, false); !r)
			return r;
	}
	return {};
}

} // namespace hetmig
