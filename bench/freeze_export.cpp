// SPDX-License-Identifier: GPL-2.0
// Freezing and reading a process through hetmig.ko, side by side with what a
// user has without it: ptrace alone, the cgroup v2 freezer, PTRACE_GETREGSET
// per thread, and /proc/PID/maps. Run in the x86_64 guest by tools/bench/run,
// which prints the ratios.
#include <benchmark/benchmark.h>

#include <csignal>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <linux/hetmig.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process_state.h"
#include "seizure.h"

namespace {

// A child process with THREADS spinning threads and, optionally, VMAS
// small mappings that cannot merge.
class Target {
public:
	Target(int threads, int vmas)
	{
		pid_ = fork();
		if (pid_ == 0) {
			long page = sysconf(_SC_PAGESIZE);
			if (vmas) {
				char *p = static_cast<char *>(mmap(nullptr, vmas * page,
					PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
				for (int i = 0; i < vmas; i += 2)
					mprotect(p + i * page, page, PROT_READ);
			}
			for (int i = 1; i < threads; i++) {
				pthread_t th;
				pthread_create(&th, nullptr, [](void *) -> void * {
					for (;;)
						asm volatile("" ::: "memory");
				}, nullptr);
			}
			for (;;)
				asm volatile("" ::: "memory");
		}
		auto task = "/proc/" + std::to_string(pid_) + "/task";
		for (;;) {
			int n = 0;
			for ([[maybe_unused]] auto &e : std::filesystem::directory_iterator(task))
				n++;
			if (n == threads)
				break;
			usleep(1000);
		}
		usleep(vmas ? 200000 : 1000);
	}
	~Target()
	{
		kill(pid_, SIGKILL);
		while (waitpid(-1, nullptr, __WALL) > 0) {
		}
	}
	pid_t pid() const { return pid_; }

private:
	pid_t pid_;
};

hetmig::GenlClient &client()
{
	static auto c = hetmig::GenlClient::connect();
	if (!c) {
		std::fprintf(stderr, "%s\n", c.error().describe().c_str());
		std::exit(1);
	}
	return *c;
}

bool simple_request(uint8_t cmd, pid_t pid)
{
	auto req = client().pid_request(cmd, pid);
	return req && client().transact(std::move(*req),
		[](const nlmsghdr *) -> hetmig::Result<void> { return {}; }, "bench");
}

void BM_Freeze_hetmig(benchmark::State &state)
{
	Target t(state.range(0), 0);
	for (auto _ : state) {
		auto s = hetmig::Seizure::stop(t.pid());
		if (!s || !simple_request(HETMIG_CMD_FREEZE, t.pid())) {
			state.SkipWithError("freeze failed");
			return;
		}
		state.PauseTiming();
		simple_request(HETMIG_CMD_THAW, t.pid());
		s->release();
		state.ResumeTiming();
	}
}

void BM_Freeze_ptrace(benchmark::State &state)
{
	Target t(state.range(0), 0);
	for (auto _ : state) {
		auto s = hetmig::Seizure::stop(t.pid());
		if (!s) {
			state.SkipWithError("ptrace failed");
			return;
		}
		state.PauseTiming();
		s->release();
		state.ResumeTiming();
	}
}

// cgroup v2: write cgroup.freeze, then wait for "frozen 1" in cgroup.events.
bool cgroup_freeze(const std::string &dir, bool on)
{
	int fd = open((dir + "/cgroup.freeze").c_str(), O_WRONLY);
	if (fd < 0 || write(fd, on ? "1" : "0", 1) != 1)
		return false;
	close(fd);
	int ev = open((dir + "/cgroup.events").c_str(), O_RDONLY);
	const char *want = on ? "frozen 1" : "frozen 0";
	for (;;) {
		char buf[256] = {};
		if (pread(ev, buf, sizeof(buf) - 1, 0) <= 0)
			break;
		if (std::strstr(buf, want))
			break;
		pollfd p{ev, POLLPRI, 0};
		poll(&p, 1, 100);
	}
	close(ev);
	return true;
}

void BM_Freeze_cgroup(benchmark::State &state)
{
	Target t(state.range(0), 0);
	std::string dir = "/sys/fs/cgroup/hetmig-bench";
	mkdir(dir.c_str(), 0755);
	std::ofstream(dir + "/cgroup.procs") << t.pid() << std::flush;
	for (auto _ : state) {
		if (!cgroup_freeze(dir, true)) {
			state.SkipWithError("cgroup v2 freezer unavailable");
			return;
		}
		state.PauseTiming();
		cgroup_freeze(dir, false);
		state.ResumeTiming();
	}
	std::ofstream("/sys/fs/cgroup/cgroup.procs") << t.pid() << std::flush;
	rmdir(dir.c_str());
}

void BM_Regs_hetmig(benchmark::State &state)
{
	Target t(state.range(0), 0);
	auto s = hetmig::Seizure::stop(t.pid());
	for (auto _ : state) {
		auto threads = hetmig::query_threads(client(), t.pid());
		if (!threads) {
			state.SkipWithError(threads.error().describe().c_str());
			return;
		}
		benchmark::DoNotOptimize(threads->size());
	}
}

// The same sets hetmig exports, read one by one with PTRACE_GETREGSET.
void BM_Regs_ptrace(benchmark::State &state)
{
	Target t(state.range(0), 0);
	auto s = hetmig::Seizure::stop(t.pid());
	static char buf[16384];
	for (auto _ : state) {
		for (pid_t tid : s->tids())
			for (int note : {NT_PRSTATUS, NT_PRFPREG, NT_X86_XSTATE}) {
				iovec iov{buf, sizeof(buf)};
				ptrace(PTRACE_GETREGSET, tid, note, &iov);
			}
	}
}

void BM_Maps_hetmig(benchmark::State &state)
{
	Target t(1, state.range(0));
	auto s = hetmig::Seizure::stop(t.pid());
	for (auto _ : state) {
		// like for like with /proc/PID/maps: no page counts
		auto maps = hetmig::query_mappings(client(), t.pid(), false);
		if (!maps) {
			state.SkipWithError(maps.error().describe().c_str());
			return;
		}
		benchmark::DoNotOptimize(maps->size());
	}
}

// /proc/PID/maps, read and split into fields as a tool would.
void BM_Maps_proc(benchmark::State &state)
{
	Target t(1, state.range(0));
	auto s = hetmig::Seizure::stop(t.pid());
	std::string path = "/proc/" + std::to_string(t.pid()) + "/maps";
	for (auto _ : state) {
		FILE *f = std::fopen(path.c_str(), "r");
		char line[512];
		size_t n = 0;
		while (f && std::fgets(line, sizeof(line), f)) {
			unsigned long a, b, off, ino;
			char perms[8], dev[16];
			n += std::sscanf(line, "%lx-%lx %7s %lx %15s %lu", &a, &b, perms,
					 &off, dev, &ino) == 6;
		}
		if (f)
			std::fclose(f);
		benchmark::DoNotOptimize(n);
	}
}

BENCHMARK(BM_Freeze_hetmig)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK(BM_Freeze_ptrace)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK(BM_Freeze_cgroup)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK(BM_Regs_hetmig)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK(BM_Regs_ptrace)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK(BM_Maps_hetmig)->Arg(10000)->UseRealTime();
BENCHMARK(BM_Maps_proc)->Arg(10000)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
