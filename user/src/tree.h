// SPDX-License-Identifier: GPL-2.0
// A process tree: the process `dump`/`send` is given and its descendants,
// frozen together, captured into one Image (Image::members), and the plan
// by which the restore makes its sessions and process groups again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "frozen.h"
#include "image.h"

namespace hetmig {

// A process of the tree as the source saw it; the root first, every
// parent before its children.
struct TreeMember {
	uint32_t pid = 0, ppid = 0, pgid = 0, sid = 0;
};

inline constexpr size_t kNoMember = SIZE_MAX;

// How the restore makes one member again. Each is forked by its parent's
// restore (the root by the restorer), so parent links, and the session it
// inherits, come from the order; the rest are these steps:
struct MemberPlan {
	size_t parent = kNoMember;	// index of its parent; none for the root
	bool session_leader = false;	// setsid() before anything (the root always)
	bool group_leader = false;	// setpgid(0, 0) before it forks its children
	size_t join = kNoMember;	// setpgid(0, that member's new pid), once the
					// whole tree exists; the root's group stands
					// for the group the root was in
};

// The plan for MEMBERS, or why their sessions and groups cannot be made
// again: a member in a session that is neither its own nor its parent's,
// or in a group whose leader is not in the tree (the root's own group
// excepted, which the root leads after the restore).
Result<std::vector<MemberPlan>> plan_tree(const std::vector<TreeMember> &members);

// The links of IMG and its members, in order.
std::vector<TreeMember> tree_members(const Image &img);

// The tree rooted at a pid, frozen for as long as the object lives: each
// process is frozen before its children are looked for, so none can fork
// unseen; its zombie children are noted. thaw() (also the destructor's)
// or kill() end every freeze.
class FrozenTree {
public:
	static Result<FrozenTree> freeze(pid_t root);
	FrozenTree(FrozenTree &&) noexcept = default;
	~FrozenTree() { thaw(); }

	std::vector<FrozenProcess> &processes() { return procs_; }
	std::vector<pid_t> pids() const;
	// The zombie children of processes()[I]: exited, not waited for, and
	// so unable to change until their parent, frozen, waits.
	const std::vector<pid_t> &zombies(size_t i) const { return zombies_[i]; }
	// Whether processes()[I] was stopped by a stop signal (a group stop,
	// /proc state T) when it was frozen.
	bool stopped(size_t i) const { return stopped_[i]; }
	void thaw();
	void kill();
	// Whether the TCP connections and listeners of every process are as
	// the capture read them (fds::TcpRepair::check_unchanged): asked
	// last, before the source is killed.
	Result<void> check_tcp_unchanged();

private:
	FrozenTree() = default;
	std::vector<FrozenProcess> procs_;
	std::vector<std::vector<pid_t>> zombies_;
	std::vector<bool> stopped_;
};

// The frozen tree into one Image: the root's, with the others in
// Image::members, the shared memory in Image::shared and the descriptions
// they share in Image::tree_files (fds/tree_files.h). Refused (naming
// both processes) when a member shares memory, a pipe or another
// description with a process outside the tree, or when plan_tree refuses
// its sessions or groups.
Result<Image> capture_tree(FrozenTree &tree);

} // namespace hetmig
