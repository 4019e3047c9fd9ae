// SPDX-License-Identifier: GPL-2.0
// A whole-process dump with hetmig side by side with CRIU, in the same run:
//   hetmig dump PID -o /tmp/bench-dump.img --keep
//   criu dump -t PID -D /tmp/bench-criu --leave-running
// Both leave the process running and both write to tmpfs. The target is one
// process per size that touched every page of SIZE MiB of anonymous memory
// with a pattern (not zeros), started once per size and shared by both
// tools. Each figure is the wall time of the command as a user runs it
// (exec included). Needs criu in the guest: tools/bench/run passes
// --with-criu to tools/vm/run. The same program, started as
// "memhog SIZE FD", is that target.
#include <benchmark/benchmark.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

const char *const kHetmigImage = "/tmp/bench-dump.img";
const char *const kCriuDir = "/tmp/bench-criu";

// The target: map SIZE MiB, write a page counter and xorshift bytes to
// every page, tell the parent on FD, then sleep.
[[noreturn]] void memhog(long mib, int fd)
{
	prctl(PR_SET_NAME, "memhog");
	size_t len = size_t(mib) << 20;
	auto *p = static_cast<uint64_t *>(mmap(nullptr, len, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (p == MAP_FAILED)
		_exit(1);
	size_t page = sysconf(_SC_PAGESIZE) / sizeof(uint64_t);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < len / sizeof(uint64_t); i++) {
		if (i % page == 0) {
			p[i] = i / page;
			continue;
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
	if (write(fd, "1", 1) != 1)
		_exit(1);
	close(fd);
	for (;;)
		pause();
}

// One target process, alive until the next size is asked for.
class Target {
public:
	explicit Target(long mib) : mib_(mib)
	{
		int p[2];
		if (pipe(p))
			return;
		pid_ = fork();
		if (pid_ == 0) {
			// Its own session, stdio on /dev/null, no other descriptors:
			// what CRIU accepts without --shell-job.
			setsid();
			int null = open("/dev/null", O_RDWR);
			for (int fd = 0; fd < 3; fd++)
				dup2(null, fd);
			for (int fd = 3; fd < 1024; fd++)
				if (fd != p[1])
					close(fd);
			std::string size = std::to_string(mib), fd = std::to_string(p[1]);
			execl("/proc/self/exe", "memhog", size.c_str(), fd.c_str(), nullptr);
			_exit(127);
		}
		close(p[1]);
		char c;
		ok_ = pid_ > 0 && read(p[0], &c, 1) == 1;
		close(p[0]);
	}
	~Target()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
		}
	}
	long mib() const { return mib_; }
	pid_t pid() const { return pid_; }
	bool ok() const { return ok_; }

private:
	long mib_;
	pid_t pid_ = -1;
	bool ok_ = false;
};

std::unique_ptr<Target> target;

Target *target_of(long mib)
{
	// A new one if the size changed or the last one died (the OOM killer).
	if (!target || target->mib() != mib || kill(target->pid(), 0) != 0) {
		target.reset();
		target = std::make_unique<Target>(mib);
	}
	return target->ok() ? target.get() : nullptr;
}

// Runs ARGV with stdin on /dev/null; returns its exit status (-1 if it
// did not exit) and what it printed on stdout.
int run(const std::vector<std::string> &argv, std::string *out)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(p[1], 1);
		close(p[0]);
		std::vector<char *> args;
		for (auto &a : argv)
			args.push_back(const_cast<char *>(a.c_str()));
		args.push_back(nullptr);
		execvp(args[0], args.data());
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (out && n > 0)
			out->append(buf, n);
	close(p[0]);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

void remove_images()
{
	std::error_code ec;
	std::filesystem::remove(kHetmigImage, ec);
	std::filesystem::remove_all(kCriuDir, ec);
}

// hetmig's own "in N ms" (freeze to image written).
double reported_ms(const std::string &out)
{
	auto at = out.rfind(" in ");
	return at == std::string::npos ? 0 : std::atof(out.c_str() + at + 4);
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

// One target per size, dumped by both tools in turn; 5 repetitions of one
// dump each, reported as median (and mean, stddev, cv).
void register_all()
{
	for (long mib : {16, 256, 1024}) {
		using Fn = void (*)(benchmark::State &);
		for (auto [name, fn] : {std::pair<const char *, Fn>{"BM_Dump_hetmig", BM_Dump_hetmig},
					std::pair<const char *, Fn>{"BM_Dump_criu", BM_Dump_criu}})
			benchmark::RegisterBenchmark(name, fn)
				->Arg(mib)
				->Unit(benchmark::kMillisecond)
				->Iterations(1)
				->Repetitions(5)
				->ReportAggregatesOnly(true)
				->UseRealTime();
	}
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 3 && std::strcmp(argv[0], "memhog") == 0)
		memhog(std::atol(argv[1]), std::atoi(argv[2]));
	register_all();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	target.reset();
	benchmark::Shutdown();
	return 0;
}
