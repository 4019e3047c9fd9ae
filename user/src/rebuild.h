// SPDX-License-Identifier: GPL-2.0
// Rebuilding a process from an Image on this machine, through hetmig.ko
// (uapi/linux/hetmig.h, "Rebuilding a process"). The process comes out
// stopped and traced by the caller: it runs only when released, and dies
// if the caller dies first, so a migration can still be called off.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "fds/tcp.h"
#include "image.h"
#include "kernel_vdso.h"
#include "postcopy.h"

namespace hetmig {

// What the receiving side allows and provides; the image cannot change it.
struct RestorePolicy {
	std::optional<uid_t> uid;	// run as this user; default: the image's
	std::optional<gid_t> gid;	// and group; default: the image's
	bool allow_root = false;	// else a process that would run as root is refused
	bool keep_pid = true;		// try the image's pid (clone3 set_tid)
	std::string stdin_path;		// empty: inherit ours
	std::string output_path;	// stdout and stderr, appended; empty: inherit
};

// The standard streams of IMG that cannot be carried here: a terminal or
// a pipe on the source, or a regular file that is not here as it was
// (missing, or another size or mtime). Each becomes the policy's choice
// (stdin_path, output_path; ours when empty) and gets a line saying so.
// Streams that are regular files and are here as they were, or
// /dev/null, are carried like any other file: reopened at their offset.
std::vector<std::string> settle_std_streams(Image &img, const RestorePolicy &policy);

// Whether directory fd F of an image can be opened again here: a
// directory at its path, and when it was read part-way (its getdents
// position is not 0), the same one, unchanged (inode, size, mtime). Else
// an error naming it.
Result<void> check_directory_here(const OpenFile &f);

class RestoredProcess {
public:
	RestoredProcess(pid_t pid, std::vector<pid_t> tids, bool pid_kept)
		: pid_(pid), tids_(std::move(tids)), pid_kept_(pid_kept) {}
	RestoredProcess(RestoredProcess &&o) noexcept
		: pid_(o.pid_), tids_(std::move(o.tids_)), members_(std::move(o.members_)),
		  stopped_(std::move(o.stopped_)), tcp_(std::move(o.tcp_)), notices_(std::move(o.notices_)), pid_kept_(o.pid_kept_),
		  lazy_(std::move(o.lazy_))
	{
		o.pid_ = 0;
		o.lazy_.clear();
	}
	RestoredProcess &operator=(RestoredProcess &&) = delete;
	~RestoredProcess() { discard(); }

	pid_t pid() const { return pid_; }
	// Every thread of the tree's processes, the root's first.
	void set_threads(std::vector<pid_t> tids) { tids_ = std::move(tids); }
	// The root's descendants (a process tree), each traced by us.
	void add_member(pid_t pid) { members_.push_back(pid); }
	const std::vector<pid_t> &members() const { return members_; }
	// A process of the tree that was stopped (a group stop) at the dump:
	// release() stops it again before it runs.
	void add_stopped(pid_t pid) { stopped_.push_back(pid); }
	// Whether every process of the tree has the pid it had.
	bool pid_kept() const { return pid_kept_; }
	void set_pid_kept(bool kept) { pid_kept_ = kept; }

	// Connections of its processes made in repair mode, which release
	// takes out of it (a discarded process closes them in it, silently).
	void add_tcp(std::vector<fds::TcpRelease> r)
	{
		tcp_.insert(tcp_.end(), r.begin(), r.end());
	}

	// What the restore could not make as it was, for the user (one line
	// each, without "hetmig: ").
	void add_notice(std::string line) { notices_.push_back(std::move(line)); }
	const std::vector<std::string> &notices() const { return notices_; }

	// Lets every thread run on from where the image stopped it; those of
	// a process stopped at the dump enter its group stop at once, and its
	// parent is told (SIGCHLD, waitpid's WUNTRACED).
	Result<void> release();
	// Kills the stopped process and reaps it (a migration called off).
	void discard();
	// Post-copy (postcopy.h): the userfaultfd (taken) of the tree's
	// process INDEX (0 the root), PID here, and what it fills; release()
	// registers the plan's mappings with it before the process runs,
	// after which the caller takes them all, by index (-1 for none).
	void set_lazy(size_t index, pid_t pid, int uffd, const LazyPlan &plan);
	std::vector<int> take_lazy_uffds(size_t processes);

private:
	pid_t pid_;
	std::vector<pid_t> tids_;
	std::vector<pid_t> members_;
	std::vector<pid_t> stopped_;
	std::vector<fds::TcpRelease> tcp_;
	std::vector<std::string> notices_;
	bool pid_kept_;
	struct Lazy {
		size_t index;
		pid_t pid;
		int uffd;
		LazyPlan plan;
	};
	std::vector<Lazy> lazy_;
	void close_lazy();
};

// Checks IMG against this machine and POLICY (architecture, kernel vdso,
// files, credentials), then rebuilds it, stopped. Its pages are IMG's, and
// with PAGES (a streamed image) each record of PAGES written into its
// process as it is read, the trailer checked before the return. With LAZY
// (post-copy: a plan per process of the tree, the root's first) the plans'
// mappings are left empty, for the caller to fill once the processes run
// (RestoredProcess::take_lazy_uffds).
Result<RestoredProcess> rebuild(const Image &img, const RestorePolicy &policy,
				PageStream *pages = nullptr,
				const std::vector<LazyPlan> *lazy = nullptr);

// aarch64: re-executes this hetmig once with the legacy (bottom-up) mmap
// layout, unless it already has it or HETMIG_NO_REEXEC is set; a no-op on
// x86_64. ARGV is main's. For the commands that rebuild processes: a
// rebuilt process inherits our layout, and a hetmig-cc program must keep
// mapping below 2^47 to be able to move to x86_64 again.
void use_low_mmap_layout(char **argv);

// A hetmig-cc program's build for this machine is at WANT.path and is the
// other half of the pair WANT.pair_id names.
Result<void> check_program_build(const ProgramRef &want);

} // namespace hetmig
