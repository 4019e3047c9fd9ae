// SPDX-License-Identifier: GPL-2.0
// hetmig inspect PID [--json]: stop a process for a moment and show what
// hetmig.ko exports of it: threads and registers, layout, mappings. A
// process `hetmig freeze` holds is read as it is, without a stop of ours.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string.h>
#include <elf.h>

#include "cli.h"
#include "commands.h"
#include "process_state.h"
#include "seizure.h"
#include "version.h"

namespace hetmig {

namespace {

struct Snapshot {
	std::vector<ThreadState> threads;
	std::vector<SignalAction> signals;
	MmLayout mm;
	std::vector<Mapping> maps;
};

Result<Snapshot> take(GenlClient &client, pid_t pid)
{
	auto stopped = Seizure::stop(pid);
	// Another tracer holds it: `hetmig freeze` in another shell, perhaps.
	// hetmig.ko lets the holder's user read a frozen process as it is
	// (uapi/linux/hetmig.h, "Reading a process"); if it is not frozen,
	// ptrace's refusal is the answer.
	if (!stopped && stopped.error().code != EPERM)
		return std::unexpected(stopped.error());
	Snapshot s;
	auto threads = query_threads(client, pid);
	if (!threads && !stopped)
		return std::unexpected(stopped.error());
	if (!threads)
		return std::unexpected(threads.error());
	auto signals = query_signals(client, pid);
	if (!signals)
		return std::unexpected(signals.error());
	auto mm = query_mm(client, pid);
	if (!mm)
		return std::unexpected(mm.error());
	auto maps = query_mappings(client, pid);
	if (!maps)
		return std::unexpected(maps.error());
	s.threads = std::move(*threads);
	s.signals = std::move(*signals);
	s.mm = std::move(*mm);
	s.maps = std::move(*maps);
	return s;  // ~Seizure lets the process run on
}

void print_text(pid_t pid, const Snapshot &s)
{
	std::printf("process %d: %zu thread(s), %s\n", pid, s.threads.size(),
		    s.threads.empty() ? "?" : arch_name(s.threads[0].arch).c_str());
	for (const auto &t : s.threads) {
		std::printf("  thread %u: sigmask %#" PRIx64 " thread pointer %#" PRIx64,
			    t.tid, t.sigmask, t.thread_pointer);
		if (auto r = pc_sp(t))
			std::printf(" pc %#" PRIx64 " sp %#" PRIx64, r->pc, r->sp);
		std::printf("\n    regsets:");
		for (const auto &[note, data] : t.regsets)
			std::printf(" %#x(%zu)", note, data.size());
		std::printf("\n");
	}
	std::printf("  signals:");
	for (const auto &sa : s.signals) {
		const char *name = sigabbrev_np(int(sa.signal));
		if (sa.handler == 1)
			std::printf(" %s:ignored", name ? name : "?");
		else
			std::printf(" %s:%#" PRIx64, name ? name : "?", sa.handler);
	}
	std::printf("%s\n", s.signals.empty() ? " all default" : "");
	std::printf("  code %#" PRIx64 "-%#" PRIx64 " data %#" PRIx64 "-%#" PRIx64
		    " brk %#" PRIx64 "-%#" PRIx64 " stack %#" PRIx64 "\n",
		    s.mm.start_code, s.mm.end_code, s.mm.start_data, s.mm.end_data,
		    s.mm.start_brk, s.mm.brk, s.mm.start_stack);
	std::printf("  %zu mappings:\n", s.maps.size());
	for (const auto &m : s.maps)
		std::printf("    %-90s present %" PRIu64 " swapped %" PRIu64
			    " private %" PRIu64 "\n", maps_line(m).c_str(),
			    m.pages.present, m.pages.swapped, m.pages.anon);
}

} // namespace

int inspect_frames(pid_t pid, bool json, bool parked);  // cmd_frames.cpp

int cmd_inspect(int argc, char **argv)
{
	bool json = false, frames = false, parked = false;
	std::optional<pid_t> pid;
	int positional = 0;
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--json"))
			json = true;
		else if (!std::strcmp(argv[i], "--frames"))
			frames = true;
		else if (!std::strcmp(argv[i], "--parked"))
			parked = true;  // it parks by itself (HETMIG_PARK_AT)
		else if (positional++ == 0)
			pid = parse_pid(argv[i]);
	}
	if (positional != 1 || (parked && !frames))
		pid.reset();
	if (!pid) {
		std::fprintf(stderr, "usage: hetmig inspect PID [--frames [--parked]] [--json]\n");
		return kExitUsage;
	}
	if (frames)
		return inspect_frames(*pid, json, parked);

	auto client = GenlClient::connect();
	if (!client)
		return report(client.error());
	auto s = take(*client, *pid);
	if (!s)
		return report(s.error());

	if (!json) {
		print_text(*pid, *s);
		return kExitOk;
	}
	nlohmann::json j = {{"pid", *pid}, {"mm", to_json(s->mm)}};
	j["threads"] = nlohmann::json::array();
	for (const auto &t : s->threads)
		j["threads"].push_back(to_json(t));
	j["signals"] = nlohmann::json::array();
	for (const auto &sa : s->signals)
		j["signals"].push_back(to_json(sa));
	j["mappings"] = nlohmann::json::array();
	for (const auto &m : s->maps)
		j["mappings"].push_back(to_json(m));
	std::printf("%s\n", j.dump(1).c_str());
	return kExitOk;
}

} // namespace hetmig
