// SPDX-License-Identifier: GPL-2.0
//
// The call goes through two ptrace stops that are no signals: PTRACE_SYSCALL
// from the Seizure's stop to the syscall-enter-stop, and again to the
// syscall-exit-stop, where the result is read and every register is put
// back. A single step would end in a SIGTRAP that the kernel forces, and
// forcing resets a handler that ignores SIGTRAP to the default.
//
// A thread stopped in an interrupted system call is in the middle of the
// kernel's restart: on x86_64 orig_rax still names the call and rax holds
// -ERESTART*, and the restart is decided from them after the stop. For our
// call orig_rax is -1, so nothing of that applies to it; afterwards both
// are back, and the decision is taken as if we had not been there. arm64
// has rewound pc and x0 before the stop already and forgotten the call
// (its syscall number, NT_ARM_SYSTEM_CALL, is -1), which is saved and put
// back too. What arm64 keeps in its stack frame instead (that the call was
// a restart_syscall one) is lost: such a call, once let go, starts over
// with its first arguments (a sleep sleeps its whole time again).
//
// Every signal but SIGKILL and SIGSTOP is blocked meanwhile, so that none
// is taken (and handled on our borrowed registers) between the stops, and
// the thread is stopped again by PTRACE_INTERRUPT, as the Seizure left it.
#include "inject.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <set>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace hetmig {

namespace {

#if defined(__x86_64__)
constexpr uint8_t kSyscallInsn[] = {0x0f, 0x05};		// syscall
constexpr size_t kInsnAlign = 1;
constexpr uint64_t kRedZone = 128;
#elif defined(__aarch64__)
constexpr uint8_t kSyscallInsn[] = {0x01, 0x00, 0x00, 0xd4};	// svc #0
constexpr size_t kInsnAlign = 4;
constexpr uint64_t kRedZone = 0;
constexpr unsigned kNtArmSystemCall = 0x404;
#else
#error "hetmig injects system calls on x86_64 and aarch64 only"
#endif

// Where a syscall instruction is: the vdso's fallbacks have one, and any
// program or library does.
Result<uint64_t> find_syscall_insn(pid_t pid)
{
	struct Range {
		uint64_t start, end;
	};
	std::vector<Range> vdso, others;
	std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
	for (std::string line; std::getline(maps, line);) {
		Range r;
		char perms[5] = {};
		if (std::sscanf(line.c_str(), "%lx-%lx %4s", &r.start, &r.end, perms) != 3 ||
		    perms[2] != 'x')
			continue;
		(line.ends_with("[vdso]") ? vdso : others).push_back(r);
	}
	vdso.insert(vdso.end(), others.begin(), others.end());
	int mem = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
	if (mem < 0)
		return fail(errno, strf("cannot read the memory of process %d", pid));
	constexpr uint64_t kChunk = 1 << 16, kMost = 64 << 20;
	std::vector<uint8_t> buf(kChunk + sizeof(kSyscallInsn));
	uint64_t scanned = 0;
	for (const Range &r : vdso) {
		for (uint64_t at = r.start; at < r.end && scanned < kMost; at += kChunk) {
			size_t len = size_t(std::min<uint64_t>(kChunk + sizeof(kSyscallInsn) - 1,
							       r.end - at));
			ssize_t n = pread(mem, buf.data(), len, off_t(at));
			if (n < ssize_t(sizeof(kSyscallInsn)))
				break;
			scanned += uint64_t(n);
			for (size_t i = 0; i + sizeof(kSyscallInsn) <= size_t(n); i += kInsnAlign)
				if (!std::memcmp(&buf[i], kSyscallInsn, sizeof(kSyscallInsn))) {
					close(mem);
					return at + i;
				}
		}
	}
	close(mem);
	return fail(ENOEXEC, strf("process %d has no system call instruction to borrow", pid));
}

Result<void> get_regset(pid_t tid, unsigned note, void *data, size_t len)
{
	iovec iov{data, len};
	if (ptrace(PTRACE_GETREGSET, tid, note, &iov))
		return fail(errno, strf("reading the registers of thread %d", tid));
	return {};
}

Result<void> set_regset(pid_t tid, unsigned note, void *data, size_t len)
{
	iovec iov{data, len};
	if (ptrace(PTRACE_SETREGSET, tid, note, &iov))
		return fail(errno, strf("writing the registers of thread %d", tid));
	return {};
}

// Resumes TID to its next system call stop. Without PTRACE_O_TRACESYSGOOD
// (the Seizure sets no option) such a stop looks like a SIGTRAP delivered,
// but with every signal blocked none is taken, and the stop's siginfo
// code is ptrace_notify's, SIGTRAP.
//
// A thread in a group stop (SIGSTOP) when it was seized stopped for the
// seizure itself, and the Seizure's PTRACE_INTERRUPT then left a trap
// pending: the first resume ends in that PTRACE_EVENT_STOP before the
// thread runs anything, and is made again. So is a SIGSTOP sent again to
// a process in a group stop (note_group_stopped), which it takes first:
// dropped, as SIGCONT drops it from a stopped process's queues.
std::mutex group_stopped_lock;
std::set<pid_t> group_stopped;

bool is_group_stopped(pid_t pid)
{
	std::lock_guard lock(group_stopped_lock);
	return group_stopped.contains(pid);
}

Result<void> to_syscall_stop(pid_t pid, pid_t tid)
{
	int status;
	for (int stops = 0;; stops++) {
		if (ptrace(PTRACE_SYSCALL, tid, 0, 0))
			return fail(errno, strf("resuming thread %d", tid));
		if (waitpid(tid, &status, __WALL) != tid)
			return fail(errno, strf("waiting for thread %d", tid));
		if (!WIFSTOPPED(status) || stops == 4)
			break;
		bool trap = (status >> 16) == PTRACE_EVENT_STOP;
		bool dropped_stop = !(status >> 16) && WSTOPSIG(status) == SIGSTOP &&
				    is_group_stopped(pid);
		if (!trap && !dropped_stop)
			break;
	}
	if (!WIFSTOPPED(status))
		return fail(ESRCH, strf("thread %d ended during a system call made for us", tid));
	siginfo_t info{};
	if (WSTOPSIG(status) != SIGTRAP || (status >> 16) ||
	    ptrace(PTRACE_GETSIGINFO, tid, 0, &info) || info.si_code != SIGTRAP)
		return fail(EINTR, strf("thread %d stopped otherwise (status 0x%x) during a "
					"system call made for us", tid, status));
	return {};
}

// Back to a stop like the Seizure's (PTRACE_EVENT_STOP), from another stop.
Result<void> reinterrupt(pid_t tid)
{
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) || ptrace(PTRACE_CONT, tid, 0, 0))
		return fail(errno, strf("stopping thread %d again", tid));
	int status;
	if (waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status) ||
	    (status >> 16) != PTRACE_EVENT_STOP)
		return fail(ESRCH, strf("thread %d did not stop again", tid));
	return {};
}

} // namespace

void note_group_stopped(pid_t pid, bool stopped)
{
	std::lock_guard lock(group_stopped_lock);
	if (stopped)
		group_stopped.insert(pid);
	else
		group_stopped.erase(pid);
}

Result<RemoteSyscalls> RemoteSyscalls::in(pid_t pid, pid_t tid)
{
	auto insn = find_syscall_insn(pid);
	if (!insn)
		return std::unexpected(insn.error());
	return RemoteSyscalls(pid, tid, *insn);
}

Result<long> RemoteSyscalls::call(long nr, std::array<uint64_t, 6> args, int out_arg,
				  std::span<uint8_t> out, std::span<const uint8_t> in,
				  int inner_arg, size_t inner_offset)
{
	user_regs_struct saved, regs;
	if (auto r = get_regset(tid_, NT_PRSTATUS, &saved, sizeof(saved)); !r)
		return std::unexpected(r.error());
	uint64_t mask, all = ~uint64_t(0);
	if (ptrace(PTRACE_GETSIGMASK, tid_, sizeof(mask), &mask))
		return fail(errno, strf("reading the signal mask of thread %d", tid_));
#if defined(__aarch64__)
	int saved_nr;
	if (auto r = get_regset(tid_, kNtArmSystemCall, &saved_nr, sizeof(saved_nr)); !r)
		return std::unexpected(r.error());
	const uint64_t sp = saved.sp;
#else
	const uint64_t sp = saved.rsp;
#endif

	// The bytes we borrow below the stack pointer (and its red zone). A
	// stack not grown that far has none to keep: the call grows it.
	const size_t borrowed = std::max(out.size(), in.size());
	uint64_t scratch = (sp - kRedZone - borrowed) & ~uint64_t(15);
	std::vector<uint8_t> kept(borrowed);
	iovec local{kept.data(), kept.size()};
	iovec remote{reinterpret_cast<void *>(scratch), kept.size()};
	bool keep = borrowed &&
		    process_vm_readv(pid_, &local, 1, &remote, 1, 0) == ssize_t(kept.size());
	if (out_arg >= 0 && out_arg < 6)
		args[size_t(out_arg)] = scratch;
	if (inner_arg >= 0 && inner_arg < 6 && inner_offset < borrowed)
		args[size_t(inner_arg)] = scratch + inner_offset;

	regs = saved;
#if defined(__x86_64__)
	regs.rip = insn_;
	regs.rax = uint64_t(nr);
	regs.orig_rax = ~uint64_t(0);
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
#else
	regs.pc = insn_;
	regs.regs[8] = uint64_t(nr);
	for (size_t i = 0; i < 6; i++)
		regs.regs[i] = args[i];
#endif
	long result = 0;
	bool resumed = false;
	auto run = [&]() -> Result<void> {
		if (ptrace(PTRACE_SETSIGMASK, tid_, sizeof(all), &all))
			return fail(errno, strf("blocking the signals of thread %d", tid_));
		if (auto r = set_regset(tid_, NT_PRSTATUS, &regs, sizeof(regs)); !r)
			return r;
		if (!in.empty()) {
			iovec from{const_cast<uint8_t *>(in.data()), in.size()};
			iovec to{reinterpret_cast<void *>(scratch), in.size()};
			if (process_vm_writev(pid_, &from, 1, &to, 1, 0) != ssize_t(in.size()))
				return fail(errno, strf("writing the arguments of a system call "
							"of thread %d", tid_));
		}
		resumed = true;
		if (auto r = to_syscall_stop(pid_, tid_); !r)
			return r;
		if (auto r = to_syscall_stop(pid_, tid_); !r)
			return r;
		user_regs_struct after;
		if (auto r = get_regset(tid_, NT_PRSTATUS, &after, sizeof(after)); !r)
			return r;
#if defined(__x86_64__)
		result = long(after.rax);
#else
		result = long(after.regs[0]);
#endif
		if (!out.empty()) {
			iovec to{out.data(), out.size()};
			iovec what{reinterpret_cast<void *>(scratch), out.size()};
			if (process_vm_readv(pid_, &to, 1, &what, 1, 0) != ssize_t(out.size()))
				return fail(errno, strf("reading what a system call of thread "
							"%d wrote", tid_));
		}
		return {};
	};
	auto ran = run();

	// Put back, whatever happened: registers at the exit stop (from
	// where the kernel's restart decision reads them), then the stop the
	// Seizure left, then the mask.
	Result<void> back = set_regset(tid_, NT_PRSTATUS, &saved, sizeof(saved));
#if defined(__aarch64__)
	if (back)
		back = set_regset(tid_, kNtArmSystemCall, &saved_nr, sizeof(saved_nr));
#endif
	if (keep) {
		iovec from{kept.data(), kept.size()};
		if (process_vm_writev(pid_, &from, 1, &remote, 1, 0) != ssize_t(kept.size()) && back)
			back = fail(errno, strf("restoring the stack of thread %d", tid_));
	}
	if (back && resumed)
		back = reinterrupt(tid_);
	if (back && ptrace(PTRACE_SETSIGMASK, tid_, sizeof(mask), &mask))
		back = fail(errno, strf("restoring the signal mask of thread %d", tid_));
	if (!ran)
		return std::unexpected(ran.error());
	if (!back)
		return std::unexpected(back.error());
	return result;
}

Result<int32_t> prctl_get_of(pid_t pid, int option, const char *what)
{
	auto calls = RemoteSyscalls::in(pid, pid);
	if (!calls)
		return std::unexpected(calls.error());
	int32_t value = 0;
	auto r = calls->call(SYS_prctl, {uint64_t(option), 0}, 1,
			     {reinterpret_cast<uint8_t *>(&value), sizeof(value)});
	if (!r)
		return std::unexpected(r.error());
	if (*r < 0)
		return fail(int(-*r), strf("reading %s of process %d", what, pid));
	return value;
}

} // namespace hetmig
