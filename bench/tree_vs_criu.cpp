// SPDX-License-Identifier: GPL-2.0
// A process tree dumped and restored by hetmig and by CRIU, in the same
// run (issue 14's benchmark): 8 processes of 64 MiB each, the root
// connected to each child by a pipe holding bytes nobody read.
//   hetmig dump ROOT -o /tmp/bench-tree.img --keep
//   criu dump -t ROOT -D /tmp/bench-tree-criu --leave-running
//   hetmig restore /tmp/bench-tree.img --allow-root --output /dev/null
//   criu restore -D /tmp/bench-tree-criu -d --pidfile FILE
// Each figure is the wall time of the command as a user runs it (exec
// included), images on tmpfs. The dumps leave the tree running and share
// one tree; each tool restores its own image of a fresh tree, and the
// restored tree is killed and reaped, untimed, before the next restore
// (the benchmark is a child subreaper). Needs criu in the guest
// (tools/bench/run passes --with-criu).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "memhog_target.h"

namespace {

using bench::reported_ms;
using bench::run;

constexpr int kProcesses = 8;
constexpr size_t kPipeBytes = 1024;	// unread in each pipe
const char *const kHetmigImage = "/tmp/bench-tree.img";
const char *const kCriuDir = "/tmp/bench-tree-criu";
const char *const kCriuPidFile = "/tmp/bench-tree-criu.pid";

// MIB MiB of anonymous memory with a pattern on every page (not zeros,
// which a tool could skip).
void fill(long mib)
{
	size_t len = size_t(mib) << 20;
	auto *p = static_cast<uint64_t *>(mmap(nullptr, len, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (p == MAP_FAILED)
		_exit(1);
	uint64_t x = 0x9e3779b97f4a7c15ull ^ uint64_t(getpid());
	for (size_t i = 0; i < len / sizeof(uint64_t); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
}

// The tree, started as "memtree MIB FD": we are its root (our own session,
// stdio on /dev/null); each child fills its memory and reads nothing from
// its pipe; "1" on FD once all are ready.
[[noreturn]] void memtree(long mib, int fd)
{
	prctl(PR_SET_NAME, "memtree");
	int ready[2];
	if (pipe(ready))
		_exit(1);
	std::vector<int> to_child;
	for (int i = 1; i < kProcesses; i++) {
		int p[2];
		if (pipe(p))
			_exit(1);
		pid_t c = fork();
		if (c == 0) {
			close(p[1]);
			for (int w : to_child)
				close(w);
			close(ready[0]);
			close(fd);
			fill(mib);
			if (write(ready[1], "1", 1) != 1)
				_exit(1);
			close(ready[1]);
			for (;;)
				pause();
		}
		close(p[0]);
		std::vector<char> bytes(kPipeBytes, char('a' + i));
		if (c < 0 || write(p[1], bytes.data(), bytes.size()) != ssize_t(bytes.size()))
			_exit(1);
		to_child.push_back(p[1]);
	}
	close(ready[1]);
	fill(mib);
	char c;
	for (int i = 1; i < kProcesses; i++)
		if (read(ready[0], &c, 1) != 1)
			_exit(1);
	close(ready[0]);
	if (write(fd, "1", 1) != 1)
		_exit(1);
	close(fd);
	for (;;)
		pause();
}

// How many processes are in process group PGID (/proc/PID/stat's 5th
// field).
int group_size(pid_t pgid)
{
	int n = 0;
	for (const auto &e : std::filesystem::directory_iterator("/proc")) {
		std::ifstream in(e.path() / "stat");
		std::string line;
		if (!std::getline(in, line) || line.rfind(')') == std::string::npos)
			continue;
		std::istringstream rest(line.substr(line.rfind(')') + 1));
		std::string state;
		long ppid, pgrp;
		if (rest >> state >> ppid >> pgrp && pgrp == pgid && state != "Z")
			n++;
	}
	return n;
}

// Kills the tree whose root ROOT leads its process group, and reaps it
// all (its members are ours once their parents are gone: subreaper).
// False if the tree was not whole (a restore that left out a process).
bool end_tree(pid_t root)
{
	if (root <= 0)
		return false;
	bool whole = group_size(root) == kProcesses;
	kill(-root, SIGKILL);
	while (kill(-root, 0) == 0 || errno != ESRCH) {
		if (waitpid(-1, nullptr, WNOHANG) <= 0)
			usleep(1000);
	}
	return whole;
}

// A running tree of MIB MiB per process.
class Tree {
public:
	explicit Tree(long mib) : mib_(mib)
	{
		root_ = bench::start_self("memtree", std::to_string(mib), ok_);
	}
	~Tree() { (void)end_tree(root_); }
	void forget() { root_ = -1; }
	long mib() const { return mib_; }
	pid_t root() const { return root_; }
	bool ok() const { return ok_; }

private:
	long mib_;
	pid_t root_ = -1;
	bool ok_ = false;
};

std::unique_ptr<Tree> tree;

Tree *tree_of(long mib)
{
	if (!tree || tree->mib() != mib || kill(tree->root(), 0) != 0)
		tree = std::make_unique<Tree>(mib);
	return tree->ok() ? tree.get() : nullptr;
}

void remove_images()
{
	std::error_code ec;
	std::filesystem::remove(kHetmigImage, ec);
	std::filesystem::remove_all(kCriuDir, ec);
}

// ARGV timed once per iteration, AFTER (untimed, false when what the run
// did is not whole) after each; before the
// first repetition, once untimed (the first run of each tool is much
// slower: page cache, first touch of its pages). False if a run failed.
bool timed(benchmark::State &state, const std::vector<std::string> &argv, double *ms,
	   bool (*after)(const std::string &out))
{
	static std::set<std::string> warm;
	std::string out;
	if (warm.insert(argv[0] + " " + argv[1]).second) {
		if (run(argv, &out) != 0 || !after(out))
			return false;
	}
	for (auto _ : state) {
		out.clear();
		int rc = run(argv, &out);
		state.PauseTiming();
		if (ms)
			*ms += reported_ms(out);
		bool ok = after(out);
		state.ResumeTiming();
		if (rc != 0 || !ok)
			return false;
	}
	state.SetBytesProcessed(state.iterations() * kProcesses * (state.range(0) << 20));
	return true;
}

bool fresh_images(const std::string &)
{
	remove_images();
	std::filesystem::create_directory(kCriuDir);
	return true;
}

// A hetmig dump that took the whole tree, then fresh images.
bool hetmig_dumped_all(const std::string &out)
{
	bool all = out.find("and " + std::to_string(kProcesses - 1) + " processes of its tree") !=
		   std::string::npos;
	return fresh_images(out) && all;
}

void BM_TreeDump_hetmig(benchmark::State &state)
{
	Tree *t = tree_of(state.range(0));
	if (!t)
		return state.SkipWithError("the tree did not start");
	fresh_images("");
	double ms = 0;
	if (!timed(state, {"hetmig", "dump", std::to_string(t->root()), "-o", kHetmigImage,
			   "--keep"}, &ms, hetmig_dumped_all))
		return state.SkipWithError("hetmig dump failed or left out a process");
	state.counters["reported_ms"] = benchmark::Counter(ms, benchmark::Counter::kAvgIterations);
}

void BM_TreeDump_criu(benchmark::State &state)
{
	Tree *t = tree_of(state.range(0));
	if (!t)
		return state.SkipWithError("the tree did not start");
	fresh_images("");
	if (!timed(state, {"criu", "dump", "-t", std::to_string(t->root()), "-D", kCriuDir,
			   "--leave-running"}, nullptr, fresh_images)) {
		run({"sh", "-c", std::string("tail -n 20 ") + kCriuDir + "/dump.log >&2"}, nullptr);
		return state.SkipWithError("criu dump failed (is criu in the guest? --with-criu)");
	}
}

// TOOL's image of a fresh tree (the tree stopped for good by the dump),
// made once for all its repetitions; one tool's at a time on tmpfs.
bool image_of(const std::string &tool, long mib)
{
	static std::string dumped;
	if (dumped == tool)
		return true;
	dumped.clear();
	tree.reset();
	fresh_images("");
	Tree t(mib);
	if (!t.ok())
		return false;
	std::string root = std::to_string(t.root());
	int rc = tool == "hetmig" ? run({"hetmig", "dump", root, "-o", kHetmigImage}, nullptr)
				  : run({"criu", "dump", "-t", root, "-D", kCriuDir}, nullptr);
	if (rc == 0)
		dumped = tool;
	return rc == 0;	// ~Tree reaps what the dump left
}

bool end_restored_hetmig(const std::string &out)
{
	auto at = out.find("restored as pid ");
	return end_tree(at == std::string::npos ? -1 : pid_t(std::atoi(out.c_str() + at + 16)));
}

bool end_restored_criu(const std::string &)
{
	pid_t root = -1;
	std::ifstream(kCriuPidFile) >> root;
	std::filesystem::remove(kCriuPidFile);
	return end_tree(root);
}

void BM_TreeRestore_hetmig(benchmark::State &state)
{
	if (!image_of("hetmig", state.range(0)))
		return state.SkipWithError("hetmig dump failed");
	double ms = 0;
	if (!timed(state, {"hetmig", "restore", kHetmigImage, "--allow-root", "--output",
			   "/dev/null"}, &ms, end_restored_hetmig))
		return state.SkipWithError("hetmig restore failed or left out a process");
	state.counters["reported_ms"] = benchmark::Counter(ms, benchmark::Counter::kAvgIterations);
}

void BM_TreeRestore_criu(benchmark::State &state)
{
	if (!image_of("criu", state.range(0)))
		return state.SkipWithError("criu dump failed (is criu in the guest? --with-criu)");
	if (!timed(state, {"criu", "restore", "-D", kCriuDir, "-d", "--pidfile", kCriuPidFile},
		   nullptr, end_restored_criu)) {
		run({"sh", "-c", std::string("tail -n 20 ") + kCriuDir + "/restore.log >&2"},
		    nullptr);
		return state.SkipWithError("criu restore failed or left out a process");
	}
}

// Each pair side by side, 5 runs each, MiB per process as the argument.
void register_all()
{
	const std::pair<const char *, void (*)(benchmark::State &)> all[] = {
		{"BM_TreeDump_hetmig", BM_TreeDump_hetmig},
		{"BM_TreeDump_criu", BM_TreeDump_criu},
		{"BM_TreeRestore_hetmig", BM_TreeRestore_hetmig},
		{"BM_TreeRestore_criu", BM_TreeRestore_criu},
	};
	for (auto [name, fn] : all)
		benchmark::RegisterBenchmark(name, fn)
			->Arg(64)
			->Unit(benchmark::kMillisecond)
			->Iterations(1)
			->Repetitions(5)
			->ReportAggregatesOnly(true)
			->UseRealTime();
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 3 && std::strcmp(argv[0], "memtree") == 0)
		memtree(std::atol(argv[1]), std::atoi(argv[2]));
	// Restored trees are orphaned when their tool exits: reaped here.
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	register_all();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	tree.reset();
	remove_images();
	benchmark::Shutdown();
	return 0;
}
