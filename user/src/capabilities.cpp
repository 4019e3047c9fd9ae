// SPDX-License-Identifier: GPL-2.0
#include "capabilities.h"

#include <cstring>
#include <dirent.h>
#include <fstream>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "inject.h"

namespace hetmig {

namespace {

// The sets of a thread as its status file shows them; nothing when it
// cannot be read (gone).
std::optional<Capabilities> read_status(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		return std::nullopt;
	Capabilities c;
	int seen = 0;
	auto hex = [](const std::string &line) {
		return std::stoull(line.substr(line.find(':') + 1), nullptr, 16);
	};
	for (std::string line; std::getline(in, line);) {
		if (line.starts_with("CapInh:"))
			c.inheritable = hex(line), seen++;
		else if (line.starts_with("CapPrm:"))
			c.permitted = hex(line), seen++;
		else if (line.starts_with("CapEff:"))
			c.effective = hex(line), seen++;
		else if (line.starts_with("CapBnd:"))
			c.bounding = hex(line), seen++;
		else if (line.starts_with("CapAmb:"))
			c.ambient = hex(line), seen++;
		else if (line.starts_with("NoNewPrivs:"))
			c.no_new_privs = std::stoi(line.substr(11)) != 0, seen++;
	}
	if (seen != 6)
		return std::nullopt;
	return c;
}

bool operator==(const Capabilities &a, const Capabilities &b)
{
	return a.inheritable == b.inheritable && a.permitted == b.permitted &&
	       a.effective == b.effective && a.bounding == b.bounding && a.ambient == b.ambient &&
	       a.no_new_privs == b.no_new_privs;
}

// Every capability this kernel has, bit N for capability N.
uint64_t all_capabilities()
{
	int last = CAP_LAST_CAP;
	std::ifstream in("/proc/sys/kernel/cap_last_cap");
	in >> last;
	return last >= 63 ? ~uint64_t(0) : (uint64_t(1) << (last + 1)) - 1;
}

std::string thread_status(pid_t pid, pid_t tid)
{
	return strf("/proc/%d/task/%d/status", pid, tid);
}

// Thread TID of PID (stopped, traced) gives itself WANT's sets.
Result<void> give(pid_t pid, pid_t tid, const Capabilities &want, uint64_t all)
{
	auto calls = RemoteSyscalls::in(pid, tid);
	if (!calls)
		return std::unexpected(calls.error());
	auto made = [&](const char *what, Result<long> r) -> Result<void> {
		if (!r)
			return std::unexpected(r.error());
		if (*r < 0)
			return fail(int(-*r), strf("%s in thread %d of process %d", what, tid, pid));
		return {};
	};
	// While CAP_SETPCAP is still effective.
	for (unsigned c = 0; c < 64; c++)
		if ((all >> c & 1) && !(want.bounding >> c & 1))
			if (auto r = made("dropping a capability from the bounding set",
					  calls->call(SYS_prctl, {PR_CAPBSET_DROP, c})); !r)
				return r;
	__user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
	__user_cap_data_struct data[2] = {
		{uint32_t(want.effective), uint32_t(want.permitted), uint32_t(want.inheritable)},
		{uint32_t(want.effective >> 32), uint32_t(want.permitted >> 32),
		 uint32_t(want.inheritable >> 32)},
	};
	std::vector<uint8_t> bytes(sizeof(header) + sizeof(data));
	std::memcpy(bytes.data(), &header, sizeof(header));
	std::memcpy(bytes.data() + sizeof(header), data, sizeof(data));
	if (auto r = made("capset", calls->call(SYS_capset, {}, 0, {}, bytes, 1, sizeof(header)));
	    !r)
		return r;
	for (unsigned c = 0; c < 64; c++)
		if (want.ambient >> c & 1)
			if (auto r = made("raising an ambient capability",
					  calls->call(SYS_prctl, {PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
								  c})); !r)
				return r;
	return {};
}

} // namespace

Result<Capabilities> capture_capabilities(pid_t pid)
{
	auto main = read_status(strf("/proc/%d/status", pid));
	if (!main)
		return fail(ESRCH, strf("cannot read the capabilities of process %d", pid));
	DIR *task = opendir(strf("/proc/%d/task", pid).c_str());
	if (!task)
		return fail(errno, strf("cannot list the threads of process %d", pid));
	std::optional<pid_t> odd;
	while (dirent *e = readdir(task)) {
		if (e->d_name[0] == '.')
			continue;
		pid_t tid = pid_t(std::atol(e->d_name));
		auto other = read_status(thread_status(pid, tid));
		if (other && !(*other == *main)) {
			odd = tid;
			break;
		}
	}
	closedir(task);
	if (odd)
		return fail(EOPNOTSUPP, strf("thread %d of process %d has other capabilities or "
					     "no_new_privs than its main thread: threads whose "
					     "capabilities differ cannot be carried", *odd, pid));
	return *main;
}

Result<std::optional<std::string>> restore_capabilities(pid_t pid, const std::vector<pid_t> &tids,
							const Image &img, uid_t uid)
{
	if (!img.caps)
		return std::nullopt;	// an image of an older hetmig
	const Capabilities &want = *img.caps;
	const uint64_t all = all_capabilities();
	std::optional<std::string> notice;
	if (uid == 0) {
		Capabilities here = want;
		here.bounding &= all;
		for (pid_t tid : tids)
			if (auto r = give(pid, tid, here, all); !r)
				return std::unexpected(r.error());
	} else if (want.permitted || want.ambient || (want.bounding & all) != all) {
		notice = strf("process %d ran as uid %u with capabilities (permitted %016llx, "
			      "bounding %016llx): a process of a user other than root is rebuilt "
			      "with none and the whole bounding set", pid, uid,
			      (unsigned long long)want.permitted, (unsigned long long)want.bounding);
	}
	// Last: it takes no privilege, and nothing after it may need one.
	for (pid_t tid : tids) {
		if (!want.no_new_privs)
			break;
		auto calls = RemoteSyscalls::in(pid, tid);
		if (!calls)
			return std::unexpected(calls.error());
		auto r = calls->call(SYS_prctl, {PR_SET_NO_NEW_PRIVS, 1});
		if (!r)
			return std::unexpected(r.error());
		if (*r < 0)
			return fail(int(-*r), strf("setting no_new_privs in thread %d of process %d",
						   tid, pid));
	}
	// What /proc says, the whole of it where we set it.
	for (pid_t tid : tids) {
		auto got = read_status(thread_status(pid, tid));
		if (!got)
			return fail(ESRCH, strf("cannot read the capabilities of thread %d of "
						"process %d", tid, pid));
		bool same = uid == 0 ? got->inheritable == want.inheritable &&
					       got->permitted == want.permitted &&
					       got->effective == want.effective &&
					       got->bounding == (want.bounding & all) &&
					       got->ambient == want.ambient
				     : true;
		if (!same || got->no_new_privs != want.no_new_privs)
			return fail(EPERM, strf("thread %d of process %d does not have the "
						"capabilities it had (effective %016llx, not %016llx)",
						tid, pid, (unsigned long long)got->effective,
						(unsigned long long)want.effective));
	}
	return notice;
}

} // namespace hetmig
