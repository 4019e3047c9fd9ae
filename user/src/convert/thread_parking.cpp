// SPDX-License-Identifier: GPL-2.0
#include "convert/thread_parking.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <sstream>

#include "convert/park.h"

namespace hetmig::convert {

std::vector<ParkedThread> parked_threads(const hetmig_threads &table)
{
	std::vector<ParkedThread> out;
	if (table.magic != HETMIG_RT_MAGIC)
		return out;
	for (const auto &s : table.slot)
		if (s.tid > 0 && s.state == HETMIG_THREAD_PARKED)
			out.push_back({s.tid, s.park_ra, s.park_cfa, s.park_fp, s.park_errno});
	return out;
}

std::vector<pid_t> unparked(const std::vector<pid_t> &tasks,
			    const std::vector<ParkedThread> &parked)
{
	std::vector<pid_t> out;
	for (pid_t t : tasks)
		if (std::none_of(parked.begin(), parked.end(),
				 [t](const ParkedThread &p) { return p.tid == t; }))
			out.push_back(t);
	return out;
}

std::string syscall_name(program::Isa isa, long nr)
{
	// The calls a thread of a hetmig-cc program blocks in: musl's waits
	// (futex), sleeps, descriptors. Numbers from each ISA's unistd.h.
	static const std::map<long, const char *> x86_64 = {
		{0, "read"}, {1, "write"}, {7, "poll"}, {23, "select"}, {35, "nanosleep"},
		{43, "accept"}, {45, "recvfrom"}, {47, "recvmsg"}, {61, "wait4"},
		{202, "futex"}, {230, "clock_nanosleep"}, {232, "epoll_wait"},
		{270, "pselect6"}, {271, "ppoll"}, {281, "epoll_pwait"}, {288, "accept4"},
	};
	static const std::map<long, const char *> aarch64 = {
		{63, "read"}, {64, "write"}, {72, "pselect6"}, {73, "ppoll"},
		{98, "futex"}, {101, "nanosleep"}, {115, "clock_nanosleep"},
		{22, "epoll_pwait"}, {202, "accept"}, {207, "recvfrom"}, {212, "recvmsg"},
		{242, "accept4"}, {260, "wait4"},
	};
	const auto &m = isa == program::Isa::x86_64 ? x86_64 : aarch64;
	auto it = m.find(nr);
	return it != m.end() ? it->second : std::to_string(nr);
}

std::string describe(program::Isa isa, const ThreadWhere &t)
{
	std::string s = strf("thread %d", int(t.tid));
	if (!t.comm.empty())
		s += " (" + t.comm + ")";
	if (t.syscall >= 0) {
		s += " is in ";
		if (!t.function.empty())
			s += t.function + ", ";
		s += "system call " + syscall_name(isa, t.syscall);
	} else {
		s += " is running";
		if (!t.function.empty())
			s += " in " + t.function;
		s += " and reached no migration point";
	}
	return s;
}

Result<std::vector<pid_t>> tasks_of(pid_t pid)
{
	std::string dir = strf("/proc/%d/task", int(pid));
	DIR *d = opendir(dir.c_str());
	if (!d)
		return fail(errno == ENOENT ? ESRCH : errno, "listing " + dir);
	std::vector<pid_t> out;
	while (dirent *e = readdir(d)) {
		long t = std::strtol(e->d_name, nullptr, 10);
		if (t > 0)
			out.push_back(pid_t(t));
	}
	closedir(d);
	std::sort(out.begin(), out.end());
	return out;
}

ThreadWhere where_is(pid_t pid, pid_t tid, const program::Program &prog)
{
	ThreadWhere w;
	w.tid = tid;
	std::string base = strf("/proc/%d/task/%d/", int(pid), int(tid));
	std::ifstream comm(base + "comm");
	std::getline(comm, w.comm);
	// "NR ARG1 ... ARG6 SP PC" while in a system call, "running", or
	// "-1 SP PC" when stopped elsewhere.
	std::ifstream sc(base + "syscall");
	std::string line;
	if (std::getline(sc, line) && line != "running") {
		std::istringstream in(line);
		std::vector<std::string> f;
		for (std::string x; in >> x;)
			f.push_back(x);
		if (!f.empty())
			w.syscall = std::strtol(f[0].c_str(), nullptr, 10);
		if (f.size() >= 3)
			w.pc = std::strtoull(f.back().c_str(), nullptr, 16);
	}
	if (w.pc) {
		const program::Program::Symbol *best = nullptr;
		for (const auto &s : prog.symbols())
			if (s.function && s.value <= w.pc && w.pc < s.value + std::max<uint64_t>(s.size, 1) &&
			    (!best || s.value > best->value))
				best = &s;
		if (best)
			w.function = strf("%s+0x%" PRIx64, best->name.c_str(), w.pc - best->value);
	}
	return w;
}

Result<hetmig_threads> read_thread_table(pid_t pid, const program::Program &prog)
{
	hetmig_threads table{};
	auto at = prog.symbol("__hetmig_threads");
	if (!at)
		return table;
	auto bytes = read_process_memory(pid, *at, sizeof(table));
	if (!bytes)
		return std::unexpected(bytes.error());
	std::memcpy(&table, bytes->data(), sizeof(table));
	return table;
}

} // namespace hetmig::convert
