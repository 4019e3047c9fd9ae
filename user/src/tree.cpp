// SPDX-License-Identifier: GPL-2.0
#include "tree.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture.h"
#include "fds/ghost_files.h"
#include "fds/memfd.h"
#include "fds/tree_files.h"
#include "inject.h"

namespace hetmig {

Result<std::vector<MemberPlan>> plan_tree(const std::vector<TreeMember> &members)
{
	std::vector<MemberPlan> plan(members.size());
	if (members.empty())
		return plan;
	auto index_of = [&](uint32_t pid, size_t before) {
		for (size_t j = 0; j < before; j++)
			if (members[j].pid == pid)
				return j;
		return kNoMember;
	};
	const TreeMember &root = members[0];
	plan[0].session_leader = plan[0].group_leader = true;
	for (size_t i = 1; i < members.size(); i++) {
		const TreeMember &m = members[i];
		MemberPlan &p = plan[i];
		p.parent = index_of(m.ppid, i);
		if (p.parent == kNoMember)
			return fail(EINVAL, strf("process %u of the tree comes before its parent %u",
						 m.pid, m.ppid));
		const TreeMember &parent = members[p.parent];
		if (m.sid == m.pid) {
			p.session_leader = p.group_leader = true;
			continue;
		}
		if (m.sid != parent.sid)
			return fail(EOPNOTSUPP, strf("process %u is in session %u, which is neither "
						     "its own nor its parent's (%u, in session %u): "
						     "its session cannot be made again",
						     m.pid, m.sid, parent.pid, parent.sid));
		if (m.pgid == m.pid) {
			p.group_leader = true;
			continue;
		}
		size_t leader = index_of(m.pgid, members.size());
		if (leader != kNoMember) {
			if (members[leader].pgid != members[leader].pid ||
			    members[leader].sid != m.sid)
				return fail(EOPNOTSUPP, strf("process %u is in process group %u, "
							     "whose leader has left it", m.pid, m.pgid));
			p.join = leader;
		} else if (m.pgid == root.pgid) {
			p.join = 0;
		} else {
			return fail(EOPNOTSUPP, strf("process %u is in process group %u, whose "
						     "leader is not in the tree (nor is it the group "
						     "of the tree's root, %u): its group cannot be "
						     "made again", m.pid, m.pgid, root.pid));
		}
	}
	return plan;
}

std::vector<TreeMember> tree_members(const Image &img)
{
	std::vector<TreeMember> out;
	auto one = [](const Image &i) {
		return TreeMember{i.pid, i.links.ppid, i.links.pgid, i.links.sid};
	};
	out.push_back(one(img));
	for (const auto &m : img.members)
		out.push_back(one(m));
	return out;
}

namespace {

struct ProcStat {
	pid_t pid = 0;
	char state = 0;
	uint32_t ppid = 0, pgid = 0, sid = 0;
};

// "pid (comm) state ppid pgrp session ...": comm may hold anything but ')'.
std::optional<ProcStat> read_stat(const std::filesystem::path &dir)
{
	std::ifstream in(dir / "stat");
	std::string line;
	std::getline(in, line);
	auto close = line.rfind(')');
	ProcStat st;
	if (close == std::string::npos ||
	    std::sscanf(line.c_str(), "%d", &st.pid) != 1 ||
	    std::sscanf(line.c_str() + close + 1, " %c %u %u %u", &st.state, &st.ppid,
			&st.pgid, &st.sid) != 4)
		return std::nullopt;
	return st;
}

// The processes whose parent is PID, by pid, from every /proc/N/stat (the
// "children" files need CONFIG_PROC_CHILDREN, which not every kernel has).
std::vector<ProcStat> children_of(pid_t pid)
{
	std::vector<ProcStat> out;
	std::error_code ec;
	for (const auto &entry : std::filesystem::directory_iterator("/proc", ec)) {
		const std::string name = entry.path().filename().string();
		if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])))
			continue;
		if (auto st = read_stat(entry.path()); st && st->ppid == uint32_t(pid))
			out.push_back(*st);
	}
	std::sort(out.begin(), out.end(),
		  [](const ProcStat &a, const ProcStat &b) { return a.pid < b.pid; });
	return out;
}

// The wait status of zombie PID: /proc/PID/stat's 52nd field, exit_code.
Result<int32_t> exit_status_of(pid_t pid)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
	std::string line;
	std::getline(in, line);
	auto close = line.rfind(')');
	if (close == std::string::npos)
		return fail(ESRCH, strf("process %d vanished", pid));
	std::istringstream fields(line.substr(close + 1));
	std::string field;
	for (int k = 3; fields >> field; k++)
		if (k == 52)
			return int32_t(std::stol(field));
	return fail(ENOSYS, strf("this kernel does not say how process %d exited", pid));
}

// Whether zombie Z, a child of PARENT, can be made again in its process
// group and session: its parent's, its own, or one whose leader has gone
// (no process has its pid), in its parent's session. A group of another
// process of the tree (TREE) or of one outside it is refused.
Result<void> check_zombie_group(const ProcStat &z, const ProcStat &parent,
				std::span<const pid_t> tree)
{
	if (z.sid != parent.sid)
		return fail(EOPNOTSUPP, strf("zombie %d of process %d is in session %u, not its "
					     "parent's (%u): a zombie is made again in its "
					     "parent's session", z.pid, parent.pid, z.sid,
					     parent.sid));
	if (z.pgid == parent.pgid || z.pgid == uint32_t(z.pid))
		return {};
	std::error_code ec;
	bool leader_here = std::find(tree.begin(), tree.end(), pid_t(z.pgid)) != tree.end() ||
			   std::filesystem::exists("/proc/" + std::to_string(z.pgid), ec);
	if (!leader_here)
		return {};
	return fail(EOPNOTSUPP, strf("zombie %d of process %d is in process group %u, led by "
				     "process %u, which is neither the zombie nor its parent: "
				     "a zombie is made again only in its parent's group, its "
				     "own, or one whose leader has gone", z.pid, parent.pid,
				     z.pgid, z.pgid));
}

// Processes of the tree that share one file descriptor table (CLONE_FILES)
// or one root, working directory and umask (CLONE_FS) without being
// threads of one process: refused, naming both. Each process is forked
// again with tables of its own, and a table two processes change is not
// two copies (zdtm's fdt_shared).
Result<void> check_tables_unshared(std::span<const pid_t> pids)
{
	constexpr int kFiles = 2, kFs = 3;	// KCMP_FILES, KCMP_FS
	for (size_t i = 0; i < pids.size(); i++)
		for (size_t j = i + 1; j < pids.size(); j++)
			for (int type : {kFiles, kFs}) {
				long r = syscall(SYS_kcmp, pids[i], pids[j], type, 0, 0);
				if (r != 0)
					continue;
				return fail(EOPNOTSUPP,
					    strf("processes %d and %d of the tree share one %s "
						 "(clone with %s): processes are made again with "
						 "tables of their own", pids[i], pids[j],
						 type == kFiles ? "file descriptor table"
								: "root, working directory and umask",
						 type == kFiles ? "CLONE_FILES" : "CLONE_FS"));
			}
	return {};
}

struct SharedKey {
	uint32_t major, minor;
	uint64_t inode;
	auto operator<=>(const SharedKey &) const = default;
};

// A process outside TREE that maps the shared memory KEY, or 0: from every
// /proc/N/maps this caller may read.
pid_t mapped_outside(const SharedKey &key, std::span<const pid_t> tree)
{
	std::error_code ec;
	for (const auto &entry : std::filesystem::directory_iterator("/proc", ec)) {
		const std::string name = entry.path().filename().string();
		if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])))
			continue;
		pid_t other = pid_t(std::stol(name));
		if (std::find(tree.begin(), tree.end(), other) != tree.end())
			continue;
		std::ifstream maps(entry.path() / "maps");
		for (std::string line; std::getline(maps, line);) {
			unsigned major, minor;
			unsigned long long inode;
			if (std::sscanf(line.c_str(), "%*x-%*x %*s %*x %x:%x %llu", &major, &minor,
					&inode) == 3 &&
			    SharedKey{major, minor, inode} == key)
				return other;
		}
	}
	return 0;
}

// Each shared object of the tree once in ROOT.shared, every mapping of it
// pointing there, and its pages: every page of every mapping, each offset
// of the object carried once, with the first mapping that holds it. All of
// them, not what pagemap says is present: a page another process wrote,
// one whose writer has exited, or one swapped out, is in the object
// without being in this mapping's page table.
Result<void> capture_shared(Image &root, std::span<const pid_t> tree)
{
	std::map<SharedKey, int32_t> index;
	std::vector<std::vector<std::pair<uint64_t, uint64_t>>> carried;  // object offsets
	std::vector<bool> by_fd;	// carried by a ghost (fds/memfd.h)
	auto each = [&](Image &img) -> Result<void> {
		for (auto &m : img.mappings) {
			if (!is_shared_memory(m))
				continue;
			SharedKey key{m.dev_major, m.dev_minor, m.inode};
			auto [it, fresh] = index.try_emplace(key, int32_t(root.shared.size()));
			if (fresh) {
				if (pid_t other = mapped_outside(key, tree))
					return fail(EOPNOTSUPP,
						    strf("process %u shares the memory at "
							 "%lx-%lx (%s) with process %d, which "
							 "is not in the tree: it cannot be "
							 "carried", img.pid,
							 (unsigned long)m.start,
							 (unsigned long)m.end, m.path.c_str(),
							 other));
				std::string name;
				if (m.path.starts_with("/memfd:"))
					name = m.path.substr(7, m.path.size() - 7 -
								     std::string(" (deleted)").size());
				uint64_t dev = (uint64_t(m.dev_major) << 32) | m.dev_minor;
				root.shared.push_back({dev, m.inode, 0, name});
				carried.emplace_back();
				// One a process holds as an fd too brings its bytes
				// with it, all of them: its mappings carry none.
				by_fd.push_back(fds::link_ghost_to_shared(root, dev, m.inode,
									  it->second));
			}
			m.shared = it->second;
			SharedMemory &obj = root.shared[size_t(m.shared)];
			uint64_t len = m.end - m.start;
			obj.size = std::max(obj.size, m.pgoff + len);
			if (by_fd[size_t(m.shared)])
				continue;
			// The offsets of [pgoff, pgoff + len) not carried yet.
			auto &done = carried[size_t(m.shared)];
			uint64_t off = m.pgoff, end = m.pgoff + len;
			std::sort(done.begin(), done.end());
			for (const auto &[a, b] : done) {
				if (b <= off || a >= end)
					continue;
				if (a > off)
					img.pages.push_back({m.start + (off - m.pgoff), a - off, {}});
				off = std::max(off, b);
			}
			if (off < end)
				img.pages.push_back({m.start + (off - m.pgoff), end - off, {}});
			done.emplace_back(m.pgoff, end);
		}
		return {};
	};
	if (auto r = each(root); !r)
		return r;
	for (auto &m : root.members)
		if (auto r = each(m); !r)
			return r;
	return {};
}

} // namespace

Result<FrozenTree> FrozenTree::freeze(pid_t root)
{
	FrozenTree tree;
	for (pid_t p = getpid(); p > 1;) {
		if (p == root)
			return fail(EINVAL, strf("this hetmig is in the tree of process %d, which "
						 "it cannot freeze while it runs in it", root));
		auto st = read_stat("/proc/" + std::to_string(p));
		if (!st)
			break;
		p = pid_t(st->ppid);
	}
	// A process stopped by a stop signal (SIGSTOP, a shell's job
	// control) is carried stopped: noted before it is seized, which
	// shows it in a tracing stop ('t') from then on. Its group stop
	// outlives the seizure: a thaw leaves it stopped as it was.
	auto root_st = read_stat("/proc/" + std::to_string(root));
	bool root_stopped = root_st && root_st->state == 'T';
	auto first = FrozenProcess::freeze(root);
	if (!first)
		return std::unexpected(first.error());
	tree.procs_.push_back(std::move(*first));
	tree.stopped_.push_back(root_stopped);
	note_group_stopped(root, root_stopped);
	// Breadth first: every parent before its children. A frozen process
	// forks no more; a child that exits meanwhile fails its freeze.
	for (size_t i = 0; i < tree.procs_.size(); i++) {
		pid_t parent = tree.procs_[i].pid();
		tree.zombies_.emplace_back();
		for (const auto &child : children_of(parent)) {
			if (child.state == 'Z') {
				tree.zombies_[i].push_back(child.pid);
				continue;
			}
			auto f = FrozenProcess::freeze(child.pid);
			if (!f) {
				Error e = f.error();
				e.context = strf("process %d, a child of %d in the tree: ", child.pid,
					      parent) + e.context;
				return std::unexpected(e);
			}
			tree.procs_.push_back(std::move(*f));
			tree.stopped_.push_back(child.state == 'T');
			note_group_stopped(child.pid, child.state == 'T');
		}
	}
	return tree;
}

std::vector<pid_t> FrozenTree::pids() const
{
	std::vector<pid_t> out;
	for (const auto &p : procs_)
		out.push_back(p.pid());
	return out;
}

void FrozenTree::thaw()
{
	for (auto &p : procs_) {
		note_group_stopped(p.pid(), false);
		p.thaw();
	}
}

void FrozenTree::kill()
{
	for (auto &p : procs_) {
		note_group_stopped(p.pid(), false);
		p.kill();
	}
}

Result<void> FrozenTree::check_tcp_unchanged()
{
	for (auto &p : procs_)
		if (auto r = p.tcp().check_unchanged(); !r)
			return r;
	return {};
}

Result<Image> capture_tree(FrozenTree &tree)
{
	const std::vector<pid_t> pids = tree.pids();
	if (auto r = check_tables_unshared(pids); !r)
		return std::unexpected(r.error());
	std::vector<Image> images;
	for (size_t i = 0; i < pids.size(); i++) {
		auto img = capture(tree.processes()[i].client(), pids[i], pids,
				   &tree.processes()[i].tcp());
		if (!img) {
			Error e = img.error();
			if (pids.size() > 1)
				e.context = strf("process %d of the tree: ", pids[i]) + e.context;
			return std::unexpected(e);
		}
		auto st = read_stat("/proc/" + std::to_string(pids[i]));
		if (!st)
			return fail(ESRCH, strf("process %d vanished", pids[i]));
		img->links = {st->ppid, st->pgid, st->sid, 0};
		img->stopped = tree.stopped(i);
		for (pid_t z : tree.zombies(i)) {
			auto status = exit_status_of(z);
			if (!status)
				return std::unexpected(status.error());
			auto zst = read_stat("/proc/" + std::to_string(z));
			if (!zst)
				return fail(ESRCH, strf("zombie %d vanished", z));
			if (auto r = check_zombie_group(*zst, *st, pids); !r)
				return std::unexpected(r.error());
			img->zombies.push_back({uint32_t(z), *status, zst->pgid, zst->sid});
		}
		if (i) {
			// The root's parent stays behind: its parent-death signal
			// would fire when the restorer exits.
			auto sig = prctl_get_of(pids[i], PR_GET_PDEATHSIG, "the parent-death signal");
			if (!sig)
				return std::unexpected(sig.error());
			img->links.pdeathsig = *sig;
		}
		images.push_back(std::move(*img));
	}
	Image root = std::move(images[0]);
	for (size_t i = 1; i < images.size(); i++)
		root.members.push_back(std::move(images[i]));
	if (auto plan = plan_tree(tree_members(root)); !plan)
		return std::unexpected(plan.error());
	// Before the shared memory, which a memfd held as an fd brings, and
	// the shared descriptions, which may be of a ghost.
	if (auto r = fds::capture_ghosts(root); !r)
		return std::unexpected(r.error());
	if (auto r = capture_shared(root, pids); !r)
		return std::unexpected(r.error());
	if (auto r = fds::capture_tree_files(root); !r)
		return std::unexpected(r.error());
	if (auto r = fds::note_inherited_streams(root); !r)
		return std::unexpected(r.error());
	return root;
}

} // namespace hetmig
