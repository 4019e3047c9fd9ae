// SPDX-License-Identifier: GPL-2.0
// Restoring one process with hetmig and with CRIU, in the same run:
//   hetmig restore /tmp/bench-restore.img --allow-root --output /dev/null
//   criu restore -D /tmp/bench-restore-criu -d --pidfile FILE
// Each tool's image is of the SIZE MiB target of memhog_target.h, dumped
// once per size by that tool (`hetmig dump PID -o`, `criu dump -t PID -D`;
// both stop it for good) onto tmpfs. A timed iteration is the restore
// command as a user runs it, exec included, until it returns with the
// process running. Then, untimed, the restored process is killed and
// reaped, which frees its pid for the next restore (CRIU restores with the
// dumped pid, hetmig when it is free): the benchmark is a child subreaper,
// so a restored process, orphaned when its tool exits, is its child.
// Needs criu in the guest (tools/bench/run passes --with-criu).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "memhog_target.h"

namespace {

using bench::reported_ms;
using bench::run;
using bench::Target;

const char *const kHetmigImage = "/tmp/bench-restore.img";
const char *const kCriuDir = "/tmp/bench-restore-criu";
const char *const kCriuPidFile = "/tmp/bench-restore-criu.pid";

// The size whose image is on tmpfs, per tool (one image at a time: a
// 1 GiB image of each would not fit beside the restored process).
std::map<std::string, long> dumped;

void remove_image(const std::string &tool)
{
	std::error_code ec;
	if (tool == "hetmig")
		std::filesystem::remove(kHetmigImage, ec);
	else
		std::filesystem::remove_all(kCriuDir, ec);
	dumped.erase(tool);
}

// TOOL's image of a fresh SIZE MiB target, made unless already there.
bool image_of(const std::string &tool, long mib)
{
	auto it = dumped.find(tool);
	if (it != dumped.end() && it->second == mib)
		return true;
	// Both tools' images of 1 GiB and the target would not fit on the
	// guest's tmpfs (CRIU's dump ran out of space): one image at a time.
	remove_image("hetmig");
	remove_image("criu");
	Target t(mib);
	if (!t.ok())
		return false;
	std::string pid = std::to_string(t.pid());
	int rc;
	if (tool == "hetmig") {
		rc = run({"hetmig", "dump", pid, "-o", kHetmigImage}, nullptr);
	} else {
		std::filesystem::create_directory(kCriuDir);
		rc = run({"criu", "dump", "-t", pid, "-D", kCriuDir}, nullptr);
	}
	// Stopped for good by the dump (killed by the destructor otherwise).
	if (rc == 0) {
		waitpid(t.pid(), nullptr, 0);
		t.forget();
		dumped[tool] = mib;
	}
	return rc == 0;
}

// The pid `hetmig restore` says it restored as.
pid_t restored_pid(const std::string &out)
{
	auto at = out.find("restored as pid ");
	return at == std::string::npos ? -1 : pid_t(std::atoi(out.c_str() + at + 16));
}


void end(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, nullptr, 0);
}

void BM_Restore_hetmig(benchmark::State &state)
{
	long mib = state.range(0);
	if (!image_of("hetmig", mib)) {
		state.SkipWithError("hetmig dump failed");
		return;
	}
	std::vector<std::string> argv{"hetmig", "restore", kHetmigImage, "--allow-root",
				      "--output", "/dev/null"};
	double ms = 0;
	for (auto _ : state) {
		std::string out;
		int rc = run(argv, &out);
		state.PauseTiming();
		pid_t pid = restored_pid(out);
		end(pid);
		if (rc != 0 || pid <= 0) {
			state.SkipWithError("hetmig restore failed");
			break;
		}
		ms += reported_ms(out);
		state.ResumeTiming();
	}
	state.counters["reported_ms"] = benchmark::Counter(ms, benchmark::Counter::kAvgIterations);
	state.SetBytesProcessed(state.iterations() * (mib << 20));
}

void BM_Restore_criu(benchmark::State &state)
{
	long mib = state.range(0);
	if (!image_of("criu", mib)) {
		state.SkipWithError("criu dump failed (is criu in the guest? --with-criu)");
		return;
	}
	std::vector<std::string> argv{"criu", "restore", "-D", kCriuDir, "-d",
				      "--pidfile", kCriuPidFile};
	for (auto _ : state) {
		int rc = run(argv, nullptr);
		state.PauseTiming();
		pid_t pid = -1;
		std::ifstream(kCriuPidFile) >> pid;
		std::filesystem::remove(kCriuPidFile);
		end(pid);
		if (rc != 0 || pid <= 0) {
			run({"sh", "-c", std::string("tail -n 20 ") + kCriuDir +
				"/restore.log >&2"}, nullptr);
			state.SkipWithError("criu restore failed");
			break;
		}
		state.ResumeTiming();
	}
	state.SetBytesProcessed(state.iterations() * (mib << 20));
}

// Per size, both tools in turn, 5 restores each (3 at 1 GiB).
void register_all()
{
	bench::register_side_by_side("BM_Restore_hetmig", BM_Restore_hetmig, "BM_Restore_criu",
				     BM_Restore_criu, [](long mib) { return mib >= 1024 ? 3 : 5; });
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 3 && std::strcmp(argv[0], "memhog") == 0)
		bench::memhog(std::atol(argv[1]), std::atoi(argv[2]));
	// Restored processes are orphaned when their tool exits: reap them here.
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	register_all();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	remove_image("hetmig");
	remove_image("criu");
	benchmark::Shutdown();
	return 0;
}
