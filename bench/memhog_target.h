// SPDX-License-Identifier: GPL-2.0
// The process the dump and restore benchmarks work on (dump_vs_criu.cpp,
// restore_vs_criu.cpp), and running a tool as a user runs it. The target,
// started as "memhog SIZE FD" by re-executing the benchmark itself, maps
// SIZE MiB of anonymous memory, writes a pattern (not zeros) to every page,
// tells its parent on FD and sleeps.
#pragma once

#include <benchmark/benchmark.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace bench {

// The target: map SIZE MiB, write a page counter and xorshift bytes to
// every page, tell the parent on FD, then sleep.
[[noreturn]] inline void memhog(long mib, int fd)
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

// This benchmark program re-executed as "NAME ARG FD" in a session of its
// own, stdio on /dev/null and no other descriptor but FD (what CRIU
// accepts without --shell-job), which it writes "1" to once ready. Its
// pid (-1 if it could not start); READY whether it said so.
inline pid_t start_self(const char *name, const std::string &arg, bool &ready)
{
	ready = false;
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		int null = open("/dev/null", O_RDWR);
		for (int fd = 0; fd < 3; fd++)
			dup2(null, fd);
		for (int fd = 3; fd < 1024; fd++)
			if (fd != p[1])
				close(fd);
		std::string fd = std::to_string(p[1]);
		execl("/proc/self/exe", name, arg.c_str(), fd.c_str(), nullptr);
		_exit(127);
	}
	close(p[1]);
	char c;
	ready = pid > 0 && read(p[0], &c, 1) == 1;
	close(p[0]);
	return pid;
}

// One target process, alive until the next size is asked for.
class Target {
public:
	explicit Target(long mib) : mib_(mib)
	{
		pid_ = start_self("memhog", std::to_string(mib), ok_);
	}
	~Target()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
		}
	}
	// The process is gone (a dump stopped it for good): nothing to kill.
	void forget() { pid_ = -1; }
	long mib() const { return mib_; }
	pid_t pid() const { return pid_; }
	bool ok() const { return ok_; }

private:
	long mib_;
	pid_t pid_ = -1;
	bool ok_ = false;
};

inline std::unique_ptr<Target> target;

inline Target *target_of(long mib)
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
inline int run(const std::vector<std::string> &argv, std::string *out)
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

// hetmig's own "in N ms" at the end of what it printed.
inline double reported_ms(const std::string &out)
{
	auto at = out.rfind(" in ");
	return at == std::string::npos ? 0 : std::atof(out.c_str() + at + 4);
}

// HETMIG and CRIU, the same work by each tool, registered side by side
// for 16, 256 and 1024 MiB: one operation per repetition, wall time,
// REPETITIONS(mib) of them, reported as median (and mean, stddev, cv).
inline void register_side_by_side(const char *hetmig_name, void (*hetmig)(benchmark::State &),
				  const char *criu_name, void (*criu)(benchmark::State &),
				  int (*repetitions)(long mib))
{
	for (long mib : {16, 256, 1024})
		for (auto [name, fn] : {std::pair{hetmig_name, hetmig}, std::pair{criu_name, criu}})
			benchmark::RegisterBenchmark(name, fn)
				->Arg(mib)
				->Unit(benchmark::kMillisecond)
				->Iterations(1)
				->Repetitions(repetitions(mib))
				->ReportAggregatesOnly(true)
				->UseRealTime();
}

} // namespace bench
