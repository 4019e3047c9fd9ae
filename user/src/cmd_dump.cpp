// SPDX-License-Identifier: GPL-2.0
// hetmig dump PID -o FILE [--keep] [--compress]: move a process into an
//   image file (it is killed once the image is whole; --keep thaws it).
// hetmig restore FILE [--allow-root] [--no-pid]: rebuild it here and let
//   it run; prints the new pid.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "frozen.h"
#include "image.h"
#include "rebuild.h"

namespace hetmig {

namespace {

double ms_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
		.count();
}

} // namespace

int cmd_dump(int argc, char **argv)
{
	const char *usage = "usage: hetmig dump PID -o FILE [--keep] [--compress]\n";
	std::optional<pid_t> pid;
	std::string out;
	bool keep = false;
	WriteOptions opts;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "-o" && i + 1 < argc)
			out = argv[++i];
		else if (a == "--keep")
			keep = true;
		else if (a == "--compress")
			opts.compress = true;
		else if (!pid && (pid = parse_pid(argv[i])))
			continue;
		else
			return std::fputs(usage, stderr), kExitUsage;
	}
	if (!pid || out.empty())
		return std::fputs(usage, stderr), kExitUsage;

	auto t0 = std::chrono::steady_clock::now();
	auto frozen = FrozenProcess::freeze(*pid);
	if (!frozen)
		return report(frozen.error());
	auto img = capture(frozen->client(), *pid);
	if (!img)
		return report(img.error());  // the process thaws: nothing lost
	auto memory = MemoryReader::open(*pid);
	if (!memory)
		return report(memory.error());
	opts.reader = memory->reader();
	if (auto r = save_image(*img, out, opts); !r)
		return report(r.error());
	if (keep)
		frozen->thaw();
	else
		frozen->kill();
	std::printf("hetmig: process %d dumped to %s (%zu threads, %.1f MiB of pages) "
		    "in %.0f ms; %s\n", *pid, out.c_str(), img->threads.size(),
		    double(img->page_bytes()) / (1 << 20), ms_since(t0),
		    keep ? "it runs on" : "it was stopped for good");
	return kExitOk;
}

// Shared by restore and recv: the policy options of the receiving side.
bool parse_policy_option(int argc, char **argv, int &i, RestorePolicy &policy)
{
	std::string a = argv[i];
	if (a == "--allow-root") {
		policy.allow_root = true;
	} else if (a == "--no-pid") {
		policy.keep_pid = false;
	} else if (a == "--user" && i + 1 < argc) {
		policy.uid = uid_t(std::stoul(argv[++i]));
	} else if (a == "--group" && i + 1 < argc) {
		policy.gid = gid_t(std::stoul(argv[++i]));
	} else if (a == "--stdin" && i + 1 < argc) {
		policy.stdin_path = argv[++i];
	} else if (a == "--output" && i + 1 < argc) {
		policy.output_path = argv[++i];
	} else {
		return false;
	}
	return true;
}

int cmd_restore(int argc, char **argv)
{
	const char *usage = "usage: hetmig restore FILE [--allow-root] [--user UID] "
			    "[--group GID] [--no-pid] [--stdin FILE] [--output FILE]\n";
	std::string file;
	RestorePolicy policy;
	for (int i = 1; i < argc; i++) {
		if (parse_policy_option(argc, argv, i, policy))
			continue;
		if (!file.empty() || argv[i][0] == '-')
			return std::fputs(usage, stderr), kExitUsage;
		file = argv[i];
	}
	if (file.empty())
		return std::fputs(usage, stderr), kExitUsage;

	auto t0 = std::chrono::steady_clock::now();
	auto img = load_image(file);
	if (!img)
		return report(img.error());
	auto proc = rebuild(*img, policy);
	if (!proc)
		return report(proc.error());
	pid_t pid = proc->pid();
	bool kept = proc->pid_kept();
	if (auto r = proc->release(); !r)
		return report(r.error());
	std::printf("hetmig: restored as pid %d%s in %.0f ms\n", pid,
		    kept ? "" : strf(" (pid %u was taken here)", img->pid).c_str(),
		    ms_since(t0));
	return kExitOk;
}

} // namespace hetmig
