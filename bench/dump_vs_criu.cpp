// SPDX-License-Identifier: GPL-2.0
// A whole-process dump with hetmig side by side with CRIU, in the same run:
//   hetmig dump PID -o /tmp/bench-dump.img --keep
//   criu dump -t PID -D /tmp/bench-criu --leave-running
// Both leave the process running and both write to tmpfs. The target is one
// process per size that touched every page of SIZE MiB of anonymous memory
// with a pattern (not zeros), started once per size and shared by both
// tools. Each figure is the wall time of the command as a user runs it
// (exec included). Needs criu in the guest: tools/bench/run passes
// --with-criu to tools/vm/run. The target is memhog_target.h's.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "memhog_target.h"

namespace {

using bench::reported_ms;
using bench::run;
using bench::Target;
using bench::target_of;

const char *const kHetmigImage = "/tmp/bench-dump.img";
const char *const kCriuDir = "/tmp/bench-criu";

void remove_images()
{
	std::error_code ec;
	std::filesystem::remove(kHetmigImage, ec);
	std::filesystem::remove_all(kCriuDir, ec);
}


// One untimed dump per tool and size before the timed ones: the first run
// of each is much slower (page cache, first touch of the tool's pages).
bool warm_up(const std::string &tool, long mib, const std::vector<std::string> &argv)
{
	static std::set<std::string> done;
	if (!done.insert(tool + std::to_string(mib)).second)
		return true;
	if (run(argv, nullptr) != 0)
		return false;  // images left for a look
	remove_images();
	std::filesystem::create_directory(kCriuDir);
	return true;
}

void BM_Dump_hetmig(benchmark::State &state)
{
	Target *t = target_of(state.range(0));
	if (!t) {
		state.SkipWithError("target did not start");
		return;
	}
	std::vector<std::string> argv{"hetmig", "dump", std::to_string(t->pid()),
				      "-o", kHetmigImage, "--keep"};
	remove_images();
	if (!warm_up("hetmig", t->mib(), argv)) {
		state.SkipWithError("hetmig dump failed");
		return;
	}
	double ms = 0;
	for (auto _ : state) {
		std::string out;
		if (run(argv, &out) != 0) {
			state.SkipWithError("hetmig dump failed");
			break;
		}
		state.PauseTiming();
		ms += reported_ms(out);
		remove_images();
		state.ResumeTiming();
	}
	state.counters["reported_ms"] = benchmark::Counter(ms, benchmark::Counter::kAvgIterations);
	state.SetBytesProcessed(state.iterations() * (state.range(0) << 20));
}

void BM_Dump_criu(benchmark::State &state)
{
	Target *t = target_of(state.range(0));
	if (!t) {
		state.SkipWithError("target did not start");
		return;
	}
	std::vector<std::string> argv{"criu", "dump", "-t", std::to_string(t->pid()),
				      "-D", kCriuDir, "--leave-running"};
	remove_images();
	std::filesystem::create_directory(kCriuDir);
	if (!warm_up("criu", t->mib(), argv)) {
		// dump.log says why.
		run({"sh", "-c", std::string("tail -n 20 ") + kCriuDir + "/dump.log >&2"}, nullptr);
		state.SkipWithError("criu dump failed (is criu in the guest? --with-criu)");
		return;
	}
	for (auto _ : state) {
		if (run(argv, nullptr) != 0) {
			state.SkipWithError("criu dump failed");
			break;
		}
		state.PauseTiming();
		remove_images();
		std::filesystem::create_directory(kCriuDir);
		state.ResumeTiming();
	}
	remove_images();
	state.SetBytesProcessed(state.iterations() * (state.range(0) << 20));
}

// One target per size, dumped by both tools in turn; 5 dumps each.
void register_all()
{
	bench::register_side_by_side("BM_Dump_hetmig", BM_Dump_hetmig, "BM_Dump_criu",
				     BM_Dump_criu, [](long) { return 5; });
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 3 && std::strcmp(argv[0], "memhog") == 0)
		bench::memhog(std::atol(argv[1]), std::atoi(argv[2]));
	register_all();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	bench::target.reset();
	benchmark::Shutdown();
	return 0;
}
