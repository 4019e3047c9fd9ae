// SPDX-License-Identifier: GPL-2.0
#include "convert/park.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>

#include "check/verifier.h"
#include "convert/agreement.h"
#include "convert/resume.h"
#include "convert/site_cache.h"
#include "convert/thread_parking.h"

namespace hetmig::convert {

namespace {

// ESRCH from process_vm_readv/writev: no such process, or one that has
// no memory any more (it exited and is a zombie, or is exiting). Said so,
// for a process that ended while we waited for it to reach a point.
Result<void> ended(pid_t pid)
{
	return fail(ESRCH, strf("process %d has ended (it exited or was killed)", pid));
}

Result<void> peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	iovec local{buf, len}, remote{reinterpret_cast<void *>(addr), len};
	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != ssize_t(len))
		return errno == ESRCH ? ended(pid)
				      : fail(errno ? errno : EIO,
					     strf("reading 0x%llx of process %d",
						  (unsigned long long)addr, pid));
	return {};
}

Result<void> poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	iovec local{const_cast<void *>(buf), len}, remote{reinterpret_cast<void *>(addr), len};
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != ssize_t(len))
		return errno == ESRCH ? ended(pid)
				      : fail(errno ? errno : EIO,
					     strf("writing process %d's runtime block", pid));
	return {};
}

template <typename T> Result<void> poke_field(pid_t pid, uint64_t block, size_t off, T v)
{
	return poke(pid, block + off, &v, sizeof(v));
}

// Whether PID sees pids as we do (the same pid namespace): /proc's ns
// links name the namespace by device and inode.
bool same_pid_namespace(pid_t pid)
{
	struct stat ours, theirs;
	return stat("/proc/self/ns/pid", &ours) == 0 &&
	       stat(strf("/proc/%d/ns/pid", pid).c_str(), &theirs) == 0 &&
	       ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

// Waits until every thread of PID has a parked slot, for up to TIMEOUT_MS;
// else says which did not and where each is.
Result<void> wait_for_every_thread(pid_t pid, const program::Program &prog, int timeout_ms)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	for (;;) {
		auto tasks = tasks_of(pid);
		if (!tasks)
			return ended(pid);
		auto table = read_thread_table(pid, prog);
		if (!table)
			return std::unexpected(table.error());
		std::vector<pid_t> missing = unparked(*tasks, parked_threads(*table));
		if (missing.empty())
			return {};
		if (std::chrono::steady_clock::now() > deadline) {
			std::string who;
			for (pid_t t : missing)
				who += (who.empty() ? "" : "; ") +
				       describe(prog.isa(), where_is(pid, t, prog));
			return fail(EBUSY, strf("%zu of process %d's %zu threads did not park within "
						"%d ms (not at a migration point, nor in a blocking "
						"call the runtime knows): %s", missing.size(), pid,
						tasks->size(), timeout_ms, who.c_str()));
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
}

} // namespace

Result<std::vector<uint8_t>> read_process_memory(pid_t pid, uint64_t addr, size_t len)
{
	std::vector<uint8_t> buf(len);
	if (len)
		if (auto r = peek(pid, addr, buf.data(), len); !r)
			return std::unexpected(r.error());
	return buf;
}

namespace {

// The process is gone (or never was): /proc/PID no longer answers.
bool vanished(int err) { return err == ENOENT || err == ESRCH; }

// Where the kernel says the process's code starts (/proc/PID/stat,
// field 26): set by exec, and by RESTORE_MM to the image's start_code, so
// it lies in the program's text on the source and after any rebuild.
// 0 when the kernel does not tell us (no permission, no memory).
Result<uint64_t> start_code_of(pid_t pid)
{
	char path[64];
	std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	std::ifstream in(path);
	std::string stat;
	if (!in || !std::getline(in, stat))
		return fail(ESRCH, strf("process %d", pid));
	// comm (field 2) may hold spaces and parentheses: count after the last ')'.
	std::istringstream rest(stat.substr(stat.rfind(')') + 1));
	std::string field;
	for (int i = 3; i <= 26 && rest >> field; i++)
		if (i == 26)
			return std::strtoull(field.c_str(), nullptr, 10);
	return uint64_t(0);
}

// The program a process runs: the file mapped where its code starts. A
// process rebuilt by hetmig has the restorer as its exe link (a module
// cannot change it), and its program is only known by its mappings; for
// any other process this is the exe. Refused when that file was replaced
// or deleted since it was mapped: the name then leads to another build.
Result<std::string> program_path_of(pid_t pid)
{
	auto start = start_code_of(pid);
	if (!start)
		return std::unexpected(start.error());
	char path[64];
	if (*start) {
		std::snprintf(path, sizeof(path), "/proc/%d/maps", pid);
		std::ifstream maps(path);
		if (!maps)
			return fail(ESRCH, strf("process %d", pid));
		for (std::string line; std::getline(maps, line);) {
			uint64_t lo, hi, ino;
			unsigned major, minor;
			int file = -1;
			if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %*s %*x %x:%x %" SCNu64
					" %n", &lo, &hi, &major, &minor, &ino, &file) != 5 ||
			    file < 0 || *start < lo || *start >= hi)
				continue;
			std::string name = line.substr(size_t(file));
			if (name.empty() || name[0] != '/')
				break;  // the code is not file-backed: ask the exe link
			struct stat st;
			if (name.ends_with(" (deleted)") || stat(name.c_str(), &st) ||
			    st.st_ino != ino || ::major(st.st_dev) != major ||
			    ::minor(st.st_dev) != minor)
				return fail(ESTALE, strf("process %d's program %s was replaced or "
							 "deleted since it was started", pid,
							 name.c_str()));
			return name;
		}
	}
	std::snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	char exe[4096];
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return fail(vanished(errno) ? ESRCH : errno, strf("process %d", pid));
	return std::string(exe, size_t(n));
}

} // namespace

Result<program::Program> program_of(pid_t pid)
{
	auto path = program_path_of(pid);
	if (!path)
		return std::unexpected(path.error());
	return program::Program::open(*path);
}

Result<size_t> mark_unproven_sites(pid_t pid, const program::Program &from,
				   const program::Program &to)
{
	auto table = from.symbol("__hetmig_unproven");
	if (!table)
		return 0;
	std::vector<uint64_t> ras =
		unproven_return_addresses(from, to, SiteCache::user_default());
	uint32_t count = ras.size() <= HETMIG_UNPROVEN_MAX ? uint32_t(ras.size()) : 0;
	// Entries first, the count last: the runtime reads the count first.
	if (count)
		if (auto r = poke(pid, *table + offsetof(hetmig_unproven, ra), ras.data(),
				  count * sizeof(uint64_t));
		    !r)
			return std::unexpected(r.error());
	uint32_t head[2] = {HETMIG_RT_MAGIC, count};
	if (auto r = poke(pid, *table, head, sizeof(head)); !r)
		return std::unexpected(r.error());
	return count;
}

Result<Parking> Parking::request(pid_t pid, const program::Program &prog, int timeout_ms,
				 bool self_requested, uint32_t countdown, bool every_thread)
{
	auto block = prog.symbol(kRuntimeSymbol);
	if (!block)
		return fail(ENOTSUP, prog.path() + " has no hetmig runtime");
	RuntimeLayout rt;
	if (auto r = peek(pid, *block, &rt, sizeof(rt)); !r)
		return std::unexpected(r.error());
	if (rt.magic != kRuntimeMagic || rt.version < kRuntimeVersionOldest ||
	    rt.version > kRuntimeVersion)
		return fail(EPROTO, strf("process %d's runtime block is not one this hetmig "
					 "knows (magic %#x, version %u)", pid, rt.magic, rt.version));
	if (rt.pending && !self_requested)
		return fail(EBUSY, strf("process %d already has a move pending", pid));
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	// Polls `parked` (the number of threads parked) until it reads WANT
	// or more, or 0 for WANT 0; TIMED_OUT says what did not happen.
	auto wait_for_parked = [&](uint32_t want, const char *timed_out) -> Result<void> {
		for (;;) {
			uint32_t parked = 0;
			if (auto r = peek(pid, *block + offsetof(RuntimeLayout, parked), &parked, 4);
			    !r)
				return r;
			if (want ? parked >= want : parked == 0)
				return {};
			if (std::chrono::steady_clock::now() > deadline)
				return fail(ETIMEDOUT, strf("process %d %s within %d ms", pid,
							    timed_out, timeout_ms));
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
		}
	};
	// Parked with nothing pending: it is leaving an earlier park (a point
	// that did not convert). Asking now would keep it at that same point.
	if (rt.parked && !self_requested)
		if (auto r = wait_for_parked(0, "did not leave its last migration point"); !r)
			return std::unexpected(r.error());
	// Name ourselves first, so that the process lets itself go if we die
	// before we release it. Only where it sees our pid as ours: in another
	// pid namespace the number would name another process, or none.
	int32_t holder = same_pid_namespace(pid) ? int32_t(getpid()) : 0;
	if (auto r = poke_field<int32_t>(pid, *block, offsetof(hetmig_runtime, holder), holder); !r)
		return std::unexpected(r.error());
	Parking parking(pid, *block);
	if (!self_requested)
		if (auto r = poke_field<uint32_t>(pid, *block, offsetof(RuntimeLayout, pending),
						countdown ? countdown : 1);
		    !r)
			return std::unexpected(r.error());
	if (auto r = wait_for_parked(1, "reached no migration point"); !r)
		return std::unexpected(r.error());
	if (every_thread)
		if (auto r = wait_for_every_thread(pid, prog, kEveryThreadMs); !r) {
			parking.release(r.error().code);
			return std::unexpected(r.error());
		}
	return parking;
}

void Parking::release(int err)
{
	if (!pid_)
		return;
	(void)let_go(-err);
	pid_ = 0;
}

Result<void> Parking::resume_there(int32_t result)
{
	return let_go(result);
}

Result<void> Parking::let_go(int32_t result)
{
	// result first: the park loop reads it once pending drops.
	if (auto r = poke_field<int32_t>(pid_, block_, offsetof(RuntimeLayout, result), result); !r)
		return r;
	if (auto r = poke_field<int32_t>(pid_, block_, offsetof(hetmig_runtime, holder), 0); !r)
		return r;
	return poke_field<uint32_t>(pid_, block_, offsetof(RuntimeLayout, pending), 0);
}

Parking::~Parking()
{
	release(ECANCELED);
}

} // namespace hetmig::convert
