// SPDX-License-Identifier: GPL-2.0
// What a migratable build costs a program that does not move: the same
// sources built by hetmig-cc and by plain gcc, run side by side in one run
// of this benchmark. tools/bench/cc-speed builds them (selftests/npb: the
// NAS kernels IS, EP, CG, MG, FT and lzw) into a folder, one executable
// per program and build, named PROGRAM.BUILD, and prints the ratios:
//
//   BM_<program>_<build>/<class>   wall time of one run of the program
//
// with BUILD one of hetmig (hetmig-cc -O2, the build users are told to
// make), musl (gcc -O2 -static against musl, the libc hetmig-cc links: the
// fair comparison), glibc (gcc -O2, what the program would be without
// hetmig) and hetmigO0 (hetmig-cc -O0). A run counts only if the program
// exits 0 and prints "VERIFICATION SUCCESSFUL" (selftests/npb/results.c):
// a fast wrong program is an error, not a figure.
//
// Runs on the host, not in a guest (not named bench_*):
//   build/x86_64/bench/host_bench_program_speed --builds DIR --class W
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <set>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char **environ;

namespace {

// Runs PATH ARG with stdout and stderr into a pipe; returns "" when it
// exited 0 and verified, else what went wrong.
std::string run_verified(const std::string &path, const std::string &arg)
{
	int out[2];
	if (pipe2(out, O_CLOEXEC))
		return std::string("pipe: ") + std::strerror(errno);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	char *argv[] = {const_cast<char *>(path.c_str()), const_cast<char *>(arg.c_str()),
			nullptr};
	pid_t pid;
	int err = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (err) {
		close(out[0]);
		return path + ": " + std::strerror(err);
	}
	std::string text;
	char buf[4096];
	ssize_t n;
	while ((n = read(out[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			text.append(buf, size_t(n));
	close(out[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return path + " " + arg + ": did not exit 0";
	if (text.find("VERIFICATION SUCCESSFUL") == std::string::npos)
		return path + " " + arg + ": did not verify";
	return {};
}

void run_program(benchmark::State &state, const std::string &path, const std::string &arg)
{
	for (auto _ : state) {
		std::string err = run_verified(path, arg);
		if (!err.empty()) {
			state.SkipWithError(err.c_str());
			break;
		}
	}
}

// PROGRAM.BUILD files of DIR, by program, then build in a fixed order.
std::map<std::string, std::vector<std::string>> builds_in(const std::string &dir)
{
	static const std::vector<std::string> order = {"hetmig", "musl", "glibc", "hetmigO0"};
	std::map<std::string, std::set<std::string>> found;
	if (DIR *d = opendir(dir.c_str())) {
		while (dirent *e = readdir(d)) {
			std::string name = e->d_name;
			auto dot = name.rfind('.');
			if (dot == std::string::npos || dot == 0)
				continue;
			found[name.substr(0, dot)].insert(name.substr(dot + 1));
		}
		closedir(d);
	}
	std::map<std::string, std::vector<std::string>> out;
	for (const auto &[prog, have] : found)
		for (const auto &b : order)
			if (have.count(b))
				out[prog].push_back(b);
	return out;
}

} // namespace

int main(int argc, char **argv)
{
	std::string dir, cls = "W";
	std::vector<char *> rest = {argv[0]};
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--builds" && i + 1 < argc)
			dir = argv[++i];
		else if (a == "--class" && i + 1 < argc)
			cls = argv[++i];
		else
			rest.push_back(argv[i]);
	}
	if (dir.empty()) {
		std::fprintf(stderr, "usage: %s --builds DIR [--class S|W|A] "
			     "[benchmark options]\n(tools/bench/cc-speed makes DIR)\n", argv[0]);
		return 64;
	}
	auto builds = builds_in(dir);
	if (builds.empty()) {
		std::fprintf(stderr, "%s: no PROGRAM.BUILD executables in %s\n", argv[0],
			     dir.c_str());
		return 66;
	}
	for (const auto &[prog, names] : builds)
		for (const auto &b : names)
			benchmark::RegisterBenchmark(("BM_" + prog + "_" + b + "/" + cls).c_str(),
						     run_program, dir + "/" + prog + "." + b, cls)
				->UseRealTime()
				->Unit(benchmark::kMillisecond);
	int n = int(rest.size());
	benchmark::Initialize(&n, rest.data());
	if (benchmark::ReportUnrecognizedArguments(n, rest.data()))
		return 64;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
