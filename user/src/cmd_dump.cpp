// SPDX-License-Identifier: GPL-2.0
// hetmig dump PID -o FILE [--keep] [--compress] [--park] [--ghost-limit MIB]:
//   move a process
//   and its descendants (tree.h) into an image file (it is killed once the image is whole; --keep thaws
//   it). --park first stops a hetmig-cc program at its next migration
//   point, so the image can be converted for the other ISA.
// hetmig restore FILE [--allow-root] [--no-pid]: rebuild it (and the
//   processes of its tree) here and let it run; prints the new pid.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <elf.h>
#include <csignal>
#include <cstdlib>

#include "capture.h"
#include "convert/park.h"
#include "fds/ghost_files.h"
#include "cli.h"
#include "commands.h"
#include "frozen.h"
#include "image.h"
#include "page_saver.h"
#include "rebuild.h"
#include "tree.h"

namespace hetmig {

namespace {

double ms_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
		.count();
}

// HETMIG_DEBUG_FAULTS=1 hetmig restore FILE: run the restored (single-
// threaded) process under ptrace and, if it dies of a fault, say where:
// for whoever debugs a conversion (Documentation/testing.md).
int debug_faults(pid_t pid)
{
	for (int sig = 0;;) {
		ptrace(PTRACE_CONT, pid, 0, sig);
		int ws;
		if (waitpid(pid, &ws, __WALL) != pid || !WIFSTOPPED(ws))
			return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		sig = WSTOPSIG(ws);
		if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE &&
		    sig != SIGTRAP)
			continue;
		siginfo_t si{};
		ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
		uint64_t regs[40] = {};
		iovec iov{regs, sizeof(regs)};
		ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov);
#if defined(__x86_64__)
		std::fprintf(stderr, "hetmig: signal %d (%s) at 0x%llx: rip 0x%llx rsp 0x%llx "
			     "rbp 0x%llx\n", sig, strsignal(sig), (unsigned long long)si.si_addr,
			     (unsigned long long)regs[16], (unsigned long long)regs[19],
			     (unsigned long long)regs[4]);
#else
		std::fprintf(stderr, "hetmig: signal %d (%s) at 0x%llx: pc 0x%llx sp 0x%llx "
			     "x29 0x%llx x30 0x%llx\n", sig, strsignal(sig),
			     (unsigned long long)si.si_addr, (unsigned long long)regs[32],
			     (unsigned long long)regs[31], (unsigned long long)regs[29],
			     (unsigned long long)regs[30]);
#endif
		kill(pid, SIGKILL);
		waitpid(pid, &ws, __WALL);
		return 128 + sig;
	}
}

} // namespace

int cmd_dump(int argc, char **argv)
{
	const char *usage = "usage: hetmig dump PID -o FILE [--keep] [--compress] [--park] "
			    "[--ghost-limit MIB]\n";
	std::optional<pid_t> pid;
	std::string out;
	bool keep = false, park = false;
	WriteOptions opts;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "-o" && i + 1 < argc)
			out = argv[++i];
		else if (a == "--keep")
			keep = true;
		else if (a == "--compress")
			opts.compress = true;
		else if (a == "--park")
			park = true;
		else if (a == "--ghost-limit" && i + 1 < argc) {
			// What one deleted file or memfd may bring into the image.
			long long mib = 0;
			if (!set_option(mib, "--ghost-limit", argv[++i], 0,
					fds::kGhostTotalMax >> 20))
				return kExitUsage;
			fds::set_ghost_limit(uint64_t(mib) << 20);
		} else if (!pid && (pid = parse_pid(argv[i])))
			continue;
		else
			return std::fputs(usage, stderr), kExitUsage;
	}
	if (!pid || out.empty())
		return std::fputs(usage, stderr), kExitUsage;

	auto t0 = std::chrono::steady_clock::now();
	// Declared before the freeze: on any failure the freeze ends first,
	// then the parked program is told (its __hetmig_park returns -errno).
	std::optional<convert::Parking> parking;
	if (park) {
		auto prog = convert::program_of(*pid);
		if (!prog)
			return report(prog.error());
		// Every thread: a parked image is one to convert (issue 17).
		auto p = convert::Parking::request(*pid, *prog, 30000, false, 1, true);
		if (!p)
			return report(p.error());
		parking.emplace(std::move(*p));
	}
	// The process and its descendants, frozen together.
	auto frozen = FrozenTree::freeze(*pid);
	if (!frozen)
		return report(frozen.error());  // those frozen thaw: nothing lost
	if (park && frozen->processes().size() > 1)
		return report(fail(EOPNOTSUPP, strf("process %d has child processes: only a "
						    "single process can be parked", *pid)).error());
	auto img = capture_tree(*frozen);
	if (!img)
		return report(img.error());  // the processes thaw: nothing lost
	auto memory = open_tree_memory(frozen->pids(), opts);
	if (!memory)
		return report(memory.error());
	// Uncompressed, the pages go from the process into the file in one
	// copy, by hetmig.ko (page_saver.h).
	if (!opts.compress) {
		auto saver = page_saver(frozen->pids());
		if (!saver)
			return report(saver.error());
		opts.saver = std::move(*saver);
	}
	if (auto r = save_image(*img, out, opts); !r)
		return report(r.error());
	// A byte that reached a connection after its queue was read would be
	// lost with the source: the image is dropped and the process runs on.
	if (auto r = frozen->check_tcp_unchanged(); !r && !keep) {
		std::remove(out.c_str());
		return report(r.error());
	}
	if (keep) {
		if (parking)
			parking->release(0);
		frozen->thaw();
	} else {
		if (parking)
			parking->moved();
		frozen->kill();
	}
	uint64_t bytes = img->page_bytes();
	for (const auto &m : img->members)
		bytes += m.page_bytes();
	std::string others = img->members.empty() ? ""
		: strf(" and %zu process%s of its tree", img->members.size(),
		       img->members.size() == 1 ? "" : "es");
	std::printf("hetmig: process %d%s dumped to %s (%zu threads, %.1f MiB of pages) "
		    "in %.0f ms; %s\n", *pid, others.c_str(), out.c_str(), img->threads.size(),
		    double(bytes) / (1 << 20), ms_since(t0),
		    keep ? (img->members.empty() ? "it runs on" : "they run on")
			 : (img->members.empty() ? "it was stopped for good"
						 : "they were stopped for good"));
	return kExitOk;
}

// Shared by restore and recv: the policy options of the receiving side.
// 1 when argv[i] was one (i moves past its value), 0 when it is not, -1
// when its value is bad (said why).
int parse_policy_option(int argc, char **argv, int &i, RestorePolicy &policy)
{
	std::string a = argv[i];
	if (a == "--allow-root") {
		policy.allow_root = true;
	} else if (a == "--no-pid") {
		policy.keep_pid = false;
	} else if (a == "--user" && i + 1 < argc) {
		if (!set_option(policy.uid, "--user", argv[++i], 0, UINT32_MAX - 1))
			return -1;
	} else if (a == "--group" && i + 1 < argc) {
		if (!set_option(policy.gid, "--group", argv[++i], 0, UINT32_MAX - 1))
			return -1;
	} else if (a == "--stdin" && i + 1 < argc) {
		policy.stdin_path = argv[++i];
	} else if (a == "--output" && i + 1 < argc) {
		policy.output_path = argv[++i];
	} else {
		return 0;
	}
	return 1;
}

int cmd_restore(int argc, char **argv)
{
	const char *usage = "usage: hetmig restore FILE [--allow-root] [--user UID] "
			    "[--group GID] [--no-pid] [--stdin FILE] [--output FILE] [--wait]\n";
	std::string file;
	RestorePolicy policy;
	bool wait = false;
	for (int i = 1; i < argc; i++) {
		if (int taken = parse_policy_option(argc, argv, i, policy)) {
			if (taken < 0)
				return kExitUsage;
			continue;
		}
		if (!std::strcmp(argv[i], "--wait")) {
			wait = true;  // exit with the restored process's status
			continue;
		}
		if (!file.empty() || argv[i][0] == '-')
			return std::fputs(usage, stderr), kExitUsage;
		file = argv[i];
	}
	if (file.empty())
		return std::fputs(usage, stderr), kExitUsage;

	auto t0 = std::chrono::steady_clock::now();
	// Mapped: its page data goes into the process from the file's pages,
	// with no copy of our own in between.
	auto img = load_image(file, LoadMode::kMapped);
	if (!img)
		return report(img.error());
	// Said once the process exists, as recv does: a refused image
	// changes nothing here.
	auto notices = settle_std_streams(*img, policy);
	auto proc = rebuild(*img, policy);
	if (!proc)
		return report(proc.error());
	notices.insert(notices.end(), proc->notices().begin(), proc->notices().end());
	for (const auto &line : notices)
		std::fprintf(stderr, "hetmig: %s\n", line.c_str());
	pid_t pid = proc->pid();
	bool kept = proc->pid_kept();
	const std::vector<pid_t> proc_members = proc->members();
	if (std::getenv("HETMIG_DEBUG_FAULTS"))
		return debug_faults(pid);
	if (auto r = proc->release(); !r)
		return report(r.error());
	std::string tree;
	for (pid_t m : proc_members)
		tree += strf("%s%d", tree.empty() ? "" : " ", m);
	if (!tree.empty())
		tree = strf(" with %zu process%s of its tree (%s)", proc_members.size(),
			    proc_members.size() == 1 ? "" : "es", tree.c_str());
	std::printf("hetmig: restored as pid %d%s%s in %.0f ms\n", pid, tree.c_str(),
		    kept ? "" : img->members.empty()
			? strf(" (pid %u was taken here)", img->pid).c_str()
			: " (new pids: --no-pid)",
		    ms_since(t0));
	int ws;
	if (wait) {
		std::fflush(stdout);
		if (waitpid(pid, &ws, 0) == pid)
			return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	}
	return kExitOk;
}

} // namespace hetmig
