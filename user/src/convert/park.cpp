// SPDX-License-Identifier: GPL-2.0
#include "convert/park.h"

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>

#include "convert/resume.h"

namespace hetmig::convert {

namespace {

Result<void> peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	iovec local{buf, len}, remote{reinterpret_cast<void *>(addr), len};
	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != ssize_t(len))
		return fail(errno ? errno : EIO, strf("reading 0x%llx of process %d",
						      (unsigned long long)addr, pid));
	return {};
}

Result<void> poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	iovec local{const_cast<void *>(buf), len}, remote{reinterpret_cast<void *>(addr), len};
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != ssize_t(len))
		return fail(errno ? errno : EIO, strf("writing process %d's runtime block", pid));
	return {};
}

template <typename T> Result<void> poke_field(pid_t pid, uint64_t block, size_t off, T v)
{
	return poke(pid, block + off, &v, sizeof(v));
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

Result<program::Program> program_of(pid_t pid)
{
	char exe[64];
	std::snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	char path[4096];
	ssize_t n = readlink(exe, path, sizeof(path) - 1);
	if (n < 0)
		return fail(errno, strf("process %d", pid));
	path[n] = 0;
	auto prog = program::Program::open(path);
	if (prog && !prog->pair_id().empty())
		return prog;
	// A process rebuilt by hetmig has the restorer as its exe link (a
	// module cannot change it): its program is the file mapped lowest.
	std::snprintf(exe, sizeof(exe), "/proc/%d/maps", pid);
	if (FILE *maps = std::fopen(exe, "r")) {
		char line[4096];
		while (std::fgets(line, sizeof(line), maps)) {
			char *file = std::strchr(line, '/');
			if (!file)
				continue;
			file[std::strcspn(file, "\n")] = 0;
			std::fclose(maps);
			auto mapped = program::Program::open(file);
			if (mapped && !mapped->pair_id().empty())
				return mapped;
			return prog;
		}
		std::fclose(maps);
	}
	return prog;
}

Result<Parking> Parking::request(pid_t pid, const program::Program &prog, int timeout_ms,
				 bool self_requested, uint32_t countdown)
{
	auto block = prog.symbol(kRuntimeSymbol);
	if (!block)
		return fail(ENOTSUP, prog.path() + " has no hetmig runtime");
	RuntimeLayout rt;
	if (auto r = peek(pid, *block, &rt, sizeof(rt)); !r)
		return std::unexpected(r.error());
	if (rt.magic != kRuntimeMagic || rt.version != kRuntimeVersion)
		return fail(EPROTO, strf("process %d's runtime block is not one this hetmig "
					 "knows (magic %#x, version %u)", pid, rt.magic, rt.version));
	if (rt.pending && !self_requested)
		return fail(EBUSY, strf("process %d already has a move pending", pid));
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	// Parked with nothing pending: it is leaving an earlier park (a point
	// that did not convert). Asking now would keep it at that same point.
	for (uint32_t still = rt.parked; still && !self_requested;) {
		if (std::chrono::steady_clock::now() > deadline)
			return fail(ETIMEDOUT, strf("process %d did not leave its last migration "
						    "point within %d ms", pid, timeout_ms));
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
		if (auto r = peek(pid, *block + offsetof(RuntimeLayout, parked), &still, 4); !r)
			return std::unexpected(r.error());
	}
	Parking parking(pid, *block);
	if (!self_requested)
		if (auto r = poke_field<uint32_t>(pid, *block, offsetof(RuntimeLayout, pending),
						countdown ? countdown : 1);
		    !r)
			return std::unexpected(r.error());
	for (;;) {
		uint32_t parked = 0;
		if (auto r = peek(pid, *block + offsetof(RuntimeLayout, parked), &parked, 4); !r)
			return std::unexpected(r.error());
		if (parked)
			return parking;
		if (std::chrono::steady_clock::now() > deadline)
			return fail(ETIMEDOUT, strf("process %d reached no migration point within "
						    "%d ms", pid, timeout_ms));
		std::this_thread::sleep_for(std::chrono::milliseconds(2));
	}
}

void Parking::release(int err)
{
	if (!pid_)
		return;
	// result first: the park loop reads it once pending drops.
	(void)poke_field<int32_t>(pid_, block_, offsetof(RuntimeLayout, result), -err);
	(void)poke_field<uint32_t>(pid_, block_, offsetof(RuntimeLayout, pending), 0);
	pid_ = 0;
}

Parking::~Parking()
{
	release(ECANCELED);
}

} // namespace hetmig::convert
