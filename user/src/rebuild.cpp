// SPDX-License-Identifier: GPL-2.0
// The restore, in two processes:
//
//  parent (this hetmig)                 child (becomes the process)
//  checks the image against the host
//  clone3 (set_tid: the image's pid)  -> waits
//  PTRACE_SEIZE, TRACECLONE, EXITKILL
//  "go"                               -> credentials, oom_score_adj, files,
//                                        cwd, umask, signal handlers,
//  sees each new thread stop          <- clone3 of the other threads
//  "ready"                            -> timers, vdso/vvar moved,
//                                        RESTORE_MM: address space replaced,
//                                        stops with SIGSTOP, never returns
//  WRITE_PAGES, SET_THREAD per thread,
//  (page_writer.h), rlimits, an
//  oom_score_adj the child could not set
//  (resource_limits.h), the exe link
//  (exe_link.h), pending signals (each
//  thread queues its own: inject.h)
//  release: PTRACE_DETACH             -> runs as the image says
//
// Until RESTORE_MM the child runs our code and reports a failure through a
// pipe; after it, only the kernel acts on it.
#include "rebuild.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <memory>
#include <grp.h>
#include <linux/hetmig.h>
#include <linux/sched.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "anon_fill.h"
#include "capture.h"
#include "capabilities.h"
#include "credentials.h"
#include "advice.h"
#include "exe_link.h"
#include "fds/devices.h"
#include "fds/epoll.h"
#include "fds/eventfd.h"
#include "fds/fifos.h"
#include "fds/ghost_files.h"
#include "fds/memfd.h"
#include "fds/owner.h"
#include "fds/pipes.h"
#include "fds/signalfd.h"
#include "fds/timerfd.h"
#include "fds/tree_files.h"
#include "fds/tcp.h"
#include "fds/in_flight.h"
#include "fds/unix_pairs.h"
#include "fds/unix_sockets.h"
#include "genl.h"
#include "page_writer.h"
#include "pending_signals.h"
#include "postcopy_loop.h"
#include "program/program.h"
#include "resource_limits.h"
#include "timers.h"
#include "tree.h"

namespace hetmig {

namespace {

constexpr uint32_t NT_PRSTATUS_ = 1, NT_PRFPREG_ = 2, NT_X86_XSTATE_ = 0x202,
		   NT_ARM_TLS_ = 0x401, NT_ARM_SYSTEM_CALL_ = 0x404;

// The register sets written back, in order; the general registers last.
const std::vector<uint32_t> &restored_regsets()
{
#if defined(__x86_64__)
	static const std::vector<uint32_t> notes = {NT_X86_XSTATE_, NT_PRSTATUS_};
#else
	static const std::vector<uint32_t> notes = {NT_PRFPREG_, NT_ARM_TLS_,
						    NT_ARM_SYSTEM_CALL_, NT_PRSTATUS_};
#endif
	return notes;
}

const Mapping *find_special(const Image &img, const char *name)
{
	for (const auto &m : img.mappings)
		if (m.name == name)
			return &m;
	return nullptr;
}

bool converted(const Image &img) { return !img.program.converted_from.empty(); }

Result<void> check_same_file(const std::string &path, uint64_t size, int64_t mtime)
{
	struct stat st;
	if (stat(path.c_str(), &st))
		return fail(errno, "file " + path + " of the process is missing here");
	if (uint64_t(st.st_size) != size || mtime_ns(st) != mtime)
		return fail(ESTALE, "file " + path + " differs here (size or mtime): "
				    "it must be the same file on both machines");
	return {};
}

// FD, opened on F's symbolic link (O_PATH | O_NOFOLLOW), leads where it
// led on the source.
Result<void> check_symlink_target(int fd, const OpenFile &f)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(fd, "", target, sizeof(target));
	if (n < 0)
		return fail(errno, strf("symbolic link %s of the process (fd %d): readlink",
					f.path.c_str(), f.fd));
	if (std::string(target, size_t(n)) != *f.symlink)
		return fail(ESTALE, strf("symbolic link %s of the process (fd %d) leads to %.*s "
					 "here, not to %s as on the source", f.path.c_str(), f.fd,
					 int(n), target, f.symlink->c_str()));
	return {};
}

// F's symbolic link is at its path here, the same link: its target, size
// and mtime (lstat's) as they were.
Result<void> check_symlink_here(const OpenFile &f)
{
	struct stat st;
	if (lstat(f.path.c_str(), &st))
		return fail(errno, strf("symbolic link %s of the process (fd %d) is missing here",
					f.path.c_str(), f.fd));
	if (!S_ISLNK(st.st_mode))
		return fail(ESTALE, strf("%s (fd %d of the process) is no symbolic link here",
					 f.path.c_str(), f.fd));
	fds::UniqueFd fd(open(f.path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
	if (fd.get() < 0)
		return fail(errno, "opening " + f.path);
	if (auto r = check_symlink_target(fd.get(), f); !r)
		return r;
	if (uint64_t(st.st_size) != f.size || mtime_ns(st) != f.mtime_ns)
		return fail(ESTALE, "symbolic link " + f.path + " differs here (mtime): it must "
				    "be the same link on both machines");
	return {};
}

// A directory fd F of the process: at position 0 (never read, or a
// directory held for openat and renameat) any directory at its path will
// do. Read part-way, its position is a cookie of the filesystem's (a
// hash on ext4, an index on tmpfs) that only the same directory with the
// same entries gives meaning to: the same inode, size and mtime (a shared
// file system, or a restore on the source machine).
Result<void> check_same_directory(const OpenFile &f, const struct stat &st)
{
	if (!S_ISDIR(st.st_mode))
		return fail(ENOTDIR, strf("directory %s of the process (fd %d) is no directory "
					  "here", f.path.c_str(), f.fd));
	if (f.offset && (uint64_t(st.st_ino) != f.inode || uint64_t(st.st_size) != f.size ||
			 mtime_ns(st) != f.mtime_ns))
		return fail(ESTALE, strf("directory %s of the process (fd %d) was read up to "
					 "position %llu, which only the same directory unchanged "
					 "gives meaning to: here it is another directory or it "
					 "changed (inode, size or mtime)", f.path.c_str(), f.fd,
					 (unsigned long long)f.offset));
	return {};
}

// The last line of defence: a sender checks the receiver's kernel before
// it stops the process (Msg::kKernel), an image from a file only here.
Result<void> check_vdso_here(const Image &img)
{
	auto here = this_kernel_vdso();
	if (!here)
		return std::unexpected(here.error());
	return check_same_vdso(kernel_vdso_of(img), *here);
}

// The auxv of a converted image describes the source machine where it
// describes a machine at all; this machine's values replace those.
std::vector<uint64_t> with_machine_auxv(const std::vector<uint64_t> &image_auxv)
{
	static const uint64_t machine_keys[] = {AT_HWCAP, AT_HWCAP2, AT_PAGESZ, AT_CLKTCK,
						AT_SYSINFO_EHDR, 51 /* AT_MINSIGSTKSZ */};
	std::vector<uint64_t> own;
	if (FILE *f = std::fopen("/proc/self/auxv", "rb")) {
		uint64_t pair[2];
		while (std::fread(pair, sizeof(pair), 1, f) == 1 && pair[0] != AT_NULL)
			own.insert(own.end(), pair, pair + 2);
		std::fclose(f);
	}
	auto is_machine = [](uint64_t key) {
		return std::find(std::begin(machine_keys), std::end(machine_keys), key) !=
		       std::end(machine_keys);
	};
	std::vector<uint64_t> out;
	for (size_t i = 0; i + 1 < image_auxv.size(); i += 2)
		if (image_auxv[i] != AT_NULL && !is_machine(image_auxv[i]))
			out.insert(out.end(), {uint64_t(image_auxv[i]), uint64_t(image_auxv[i + 1])});
	for (size_t i = 0; i + 1 < own.size(); i += 2)
		if (is_machine(own[i]))
			out.insert(out.end(), {uint64_t(own[i]), uint64_t(own[i + 1])});
	out.insert(out.end(), {uint64_t(AT_NULL), uint64_t(0)});
	return out;
}

// Everything that can be known before a process is created.
Result<void> check_image(const Image &img, const RestorePolicy &policy)
{
	if (img.arch != this_arch())
		return fail(EXDEV, strf("the image is of an %s process; this machine "
					       "is %s", arch_name(img.arch),
					       arch_name(this_arch())));
	if (img.page_size != uint32_t(sysconf(_SC_PAGESIZE)))
		return fail(EXDEV, "the image's page size differs from this kernel's");
	if (img.threads.empty() || img.threads.front().tid != img.pid)
		return fail(EBADMSG, "the image has no leader thread");
	if (converted(img)) {
		// Built for this ISA by the converter: it brings no vdso (this
		// machine's stays), and its program must be this machine's half
		// of the pair.
		if (auto r = check_program_build(img.program); !r)
			return r;
	} else if (auto r = check_vdso_here(img); !r) {
		return r;
	}
	if (auto r = check_credentials(img, policy); !r)
		return r;
	for (const auto &f : img.files) {
		if (f.std_stream || f.dup_of >= 0 || f.made_anew() || f.tree_file >= 0 ||
		    f.ghost >= 0)
			continue;
		if (!f.ns.empty() || f.proc_pid)
			continue;	// opened by the process once it exists
		auto r = fds::is_device(f) ? fds::check_device_here(f)
			 : f.symlink	   ? check_symlink_here(f)
			 : f.directory	   ? check_directory_here(f)
			 : f.fifo	   ? fds::check_fifo_here(f)
					   : check_same_file(f.path, f.size, f.mtime_ns);
		if (!r)
			return r;
	}
	for (const auto &f : img.mapped_files)
		if (auto r = check_same_file(f.path, f.size, f.mtime_ns); !r)
			return r;
	if (auto r = fds::check_unix_names_here(img.unix_sockets); !r)
		return r;
	return fds::check_unix_names_here(img.tree_sockets);
}

long raw_clone3(clone_args &args)
{
	return syscall(SYS_clone3, &args, sizeof(args));
}

// A pipe, or with SOCKET a unix socket pair (which carries descriptors):
// the parent reads from one end, a child writes into the other.
class Pipe {
public:
	explicit Pipe(bool socket = false)
	{
		if (socket ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_)
			   : pipe2(fds_, O_CLOEXEC))
			fds_[0] = fds_[1] = -1;
	}
	~Pipe() { close_read(); close_write(); }
	int read_end() const { return fds_[0]; }
	int write_end() const { return fds_[1]; }
	void close_read() { if (fds_[0] >= 0) close(fds_[0]); fds_[0] = -1; }
	void close_write() { if (fds_[1] >= 0) close(fds_[1]); fds_[1] = -1; }

private:
	int fds_[2];
};

// ---- the child ------------------------------------------------------------

struct ChildPipes {
	int go = -1;		// parent -> child: one byte "go", one byte "ready"
	int report = -1;	// child -> parent: an error message
};

[[noreturn]] void child_fail(const ChildPipes &p, const std::string &what, int err = 0)
{
	std::string msg = err ? what + ": " + std::strerror(err) : what;
	(void)!write(p.report, msg.data(), msg.size());
	_exit(1);
}

void wait_byte(const ChildPipes &p)
{
	char c;
	if (read(p.go, &c, 1) != 1)
		_exit(1);  // the parent is gone
}

// The kernel's struct sigaction on x86_64 and arm64.
struct KernelSigaction {
	uint64_t handler, flags, restorer, mask;
};

void child_signals(const Image &img, const ChildPipes &p)
{
	uint64_t all = ~uint64_t(0);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, nullptr, 8);
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		KernelSigaction ksa{};  // SIG_DFL unless the image says otherwise
		for (const auto &s : img.signals)
			if (int(s.signal) == sig)
				ksa = {s.handler, s.flags, s.restorer, s.mask};
		if (syscall(SYS_rt_sigaction, sig, &ksa, nullptr, 8) && ksa.handler)
			child_fail(p, strf("setting the handler of signal %d", sig), errno);
	}
}

// Moves our vdso and vvar to where the image had them.
void child_vdso(const Image &img, const ChildPipes &p)
{
	const Mapping *want_vdso = find_special(img, "[vdso]");
	const Mapping *want_vvar = find_special(img, "[vvar]");
	auto own = own_vdso();
	if (!own || !want_vdso)
		child_fail(p, "no vdso to move");
	auto [vdso, vvar] = *own;
	// Through a free area first, so the two moves cannot overlap each other.
	uint64_t vdso_len = vdso.end - vdso.start, vvar_len = vvar.end - vvar.start;
	void *tmp = mmap(nullptr, vdso_len + vvar_len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tmp == MAP_FAILED)
		child_fail(p, "mmap", errno);
	auto move = [&](Region from, uint64_t to) {
		void *r = mremap(reinterpret_cast<void *>(from.start), from.end - from.start,
				 from.end - from.start, MREMAP_MAYMOVE | MREMAP_FIXED,
				 reinterpret_cast<void *>(to));
		if (r == MAP_FAILED)
			child_fail(p, "moving the vdso", errno);
	};
	uint64_t t = reinterpret_cast<uint64_t>(tmp);
	if (vvar_len)
		move(vvar, t);
	move(vdso, t + vvar_len);
	// The image's places must be free of our own mappings.
	std::ifstream maps("/proc/self/maps");
	for (std::string line; std::getline(maps, line);) {
		Region r;
		std::sscanf(line.c_str(), "%lx-%lx", &r.start, &r.end);
		for (const Mapping *m : {want_vdso, want_vvar})
			if (m && r.start < m->end && m->start < r.end &&
			    r.start != t && r.start != t + vvar_len)
				child_fail(p, "the image's vdso place is taken here: " + line);
	}
	if (want_vvar && vvar_len)
		move({t, t + vvar_len}, want_vvar->start);
	move({t + vvar_len, t + vvar_len + vdso_len}, want_vdso->start);
}

// F's /proc file (F.proc_pid's) here: the process's own pid here replaces
// OLD_PID, its pid on the source; the tree's others keep theirs.
std::string proc_path_here(const OpenFile &f, pid_t old_pid)
{
	std::string prefix = strf("/proc/%d/", f.proc_pid);
	pid_t here = f.proc_pid == old_pid ? getpid() : pid_t(f.proc_pid);
	return strf("/proc/%d/", here) + f.path.substr(std::min(prefix.size(), f.path.size()));
}

// The receiver's choice for standard stream FD (0, 1 or 2): empty for ours.
const std::string &receiver_stream(const RestorePolicy &policy, int fd)
{
	return fd == 0 ? policy.stdin_path : policy.output_path;
}

// The file PATH that mappings of IMG map, opened as the process (its
// permissions asked as they were): for writing too when a shared mapping
// of it may write (mprotect can make a read-only one writable, as the
// source's open for writing allowed), else for reading.
int open_mapped_file(const Image &img, const std::string &path)
{
	bool shared = false, writes = false;
	for (const Mapping &m : img.mappings)
		if (m.kind == HETMIG_VMA_FILE && m.path == path &&
		    (m.flags & HETMIG_VMA_F_MAYSHARE)) {
			shared = true;
			writes |= (m.prot & HETMIG_PROT_WRITE) != 0;
		}
	if (!shared)
		return open(path.c_str(), O_RDONLY);
	int fd = open(path.c_str(), O_RDWR);
	if (fd < 0 && !writes && (errno == EACCES || errno == EROFS))
		fd = open(path.c_str(), O_RDONLY);
	return fd;
}

// Puts every file of the image at its number, in fd order: each is opened
// or made at a free number and moved to its own at once, so nothing stays
// at a number a later one needs. Pipes keep their ends above them all.
// TREE_FILES: the descriptions the tree's processes share, which the
// restorer made and we inherited (fds/tree_files.h), above them too.
void child_files(const Image &img, const RestorePolicy &policy, const ChildPipes &p,
		 const std::vector<int> &tree_files, const std::map<int, int> &ghosts,
		 const std::map<int, int> &inherited, fds::TcpMaker &tcp,
		 fds::UnixSocketMaker &unix_sockets)
{
	int top = 2;
	for (const auto &f : img.files)
		top = std::max(top, f.fd);
	// The makers keep their copies above every number the image uses (two
	// a pipe): room for them past the soft limit (zdtm's epoll: 250 pipes
	// up to fd 949), which the image's own limits replace later
	// (set_rlimits).
	struct rlimit nofile;
	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	fds::PipeMaker pipes(img.pipes, top + 1);
	fds::UnixPairMaker sockets(img.unix_pairs, top + 1);
	fds::FifoOpener fifos(top + 1);
	if (auto r = fifos.fill(img.fifos); !r)
		child_fail(p, r.error().describe());
	for (const auto &f : img.files) {
		int fd;
		if (f.dup_of >= 0) {
			// Its description's first fd is in place (the files are
			// in fd order), or was left to ours when it is a standard
			// stream we inherit.
			if (dup3(f.dup_of, f.fd, (f.flags & O_CLOEXEC) ? O_CLOEXEC : 0) < 0)
				child_fail(p, strf("fd %d, shared with fd %d", f.fd, f.dup_of), errno);
			continue;
		}
		if (f.tree_file >= 0) {
			if (size_t(f.tree_file) >= tree_files.size())
				child_fail(p, strf("fd %d: a descriptor shared in the tree that the "
						   "image lacks", f.fd));
			fd = fcntl(tree_files[size_t(f.tree_file)],
				   (f.flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
		} else if (f.ghost >= 0) {
			auto opened = ghosts.find(f.fd);
			fd = opened == ghosts.end() ? -1 : opened->second;	// at its offset
		} else if (f.made_anew() || fds::is_device(f)) {
			auto made = f.pipe	   ? pipes.open_end(f)
				    : f.unix_socket ? (unix_sockets.has(f.unix_socket)
							? unix_sockets.take(f) : sockets.open_end(f))
				    : f.tcp || f.udp ? tcp.take(f)
				    : f.eventfd	   ? fds::make_eventfd(f)
				    : f.timerfd	   ? fds::make_timerfd(f)
				    : f.epoll	   ? fds::make_epoll(f)
				    : f.signalfd ? fds::make_signalfd(f)
						   : fds::open_device(f);
			if (!made)
				child_fail(p, made.error().describe());
			fd = *made;
		} else if (f.fifo) {
			auto made = fifos.open_end(f);
			if (!made)
				child_fail(p, made.error().describe());
			fd = *made;
		} else if (f.std_stream) {
			const std::string &path = receiver_stream(policy, f.fd);
			if (path.empty())
				continue;  // ours, inherited
			fd = f.fd == 0 ? open(path.c_str(), O_RDONLY)
				       : open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
		} else if (!f.ns.empty()) {
			fd = open(("/proc/self/ns/" + f.ns).c_str(), fds::reopen_flags(f.flags));
		} else if (f.proc_pid) {
			fd = open(proc_path_here(f, pid_t(img.pid)).c_str(),
				  fds::reopen_flags(f.flags));
		} else if (f.symlink) {
			fd = open(f.path.c_str(), fds::reopen_flags(f.flags) | O_NOFOLLOW);
		} else if (auto early = inherited.find(f.fd); early != inherited.end()) {
			fd = early->second;
		} else {
			fd = open(f.path.c_str(), fds::reopen_flags(f.flags));
		}
		if (fd < 0)
			child_fail(p, "opening " + (f.proc_pid ? proc_path_here(f, pid_t(img.pid))
						   : f.ns.empty() ? f.path
								  : "/proc/self/ns/" + f.ns), errno);
		if (f.proc_pid && lseek(fd, off_t(f.offset), SEEK_SET) < 0)
			child_fail(p, "seeking in " + proc_path_here(f, pid_t(img.pid)), errno);
		if (f.symlink)
			if (auto r = check_symlink_target(fd, f); !r)
				child_fail(p, r.error().describe());
		if (!f.std_stream && !f.made_anew() && !fds::is_device(f) && !f.fifo &&
		    f.tree_file < 0 && f.ghost < 0 && f.ns.empty() && !f.proc_pid) {
			struct stat st;
			if (fstat(fd, &st))
				child_fail(p, "fstat " + f.path, errno);
			if (f.directory) {
				if (auto r = check_same_directory(f, st); !r)
					child_fail(p, r.error().describe());
			} else if (uint64_t(st.st_size) != f.size || mtime_ns(st) != f.mtime_ns) {
				child_fail(p, "file " + f.path + " changed");
			}
			// An O_PATH descriptor has no position (lseek: EBADF).
			if (!(f.flags & O_PATH) && lseek(fd, off_t(f.offset), SEEK_SET) < 0)
				child_fail(p, "seeking in " + f.path, errno);
		}
		if (fd != f.fd) {
			if (dup3(fd, f.fd, (f.flags & O_CLOEXEC) ? O_CLOEXEC : 0) < 0)
				child_fail(p, "dup3", errno);
			close(fd);
		}
	}
	// Their owners, once every process of the tree exists and this one has
	// its credentials (fds/owner.h).
	for (const auto &f : img.files)
		if (f.dup_of < 0 && !f.in_flight && !f.std_stream)
			if (auto r = fds::restore_owner(f.fd, f, pid_t(img.pid)); !r)
				child_fail(p, r.error().describe());
	// Every target is at its number now, epolls watched by other epolls
	// included.
	for (const auto &f : img.files)
		if (f.epoll && f.dup_of < 0)
			if (auto r = fds::fill_epoll(f); !r)
				child_fail(p, r.error().describe());
	// And every file in flight is at its number: the messages that carry
	// them go into their queues, and the numbers of those only in flight
	// are closed.
	if (auto r = fds::send_in_flight(img.files, img.unix_pairs, img.unix_sockets); !r)
		child_fail(p, r.error().describe());
}

// An upper bound of the RESTORE_MM request's attributes for IMG: the mm
// fields, the auxv (with the entries with_machine_auxv may add), a nest per
// mapping and a descriptor to close per file mapping, per ghost (GHOSTS of
// them, fds/ghost_files.h) and for our own.
size_t restore_mm_bytes(const Image &img, size_t ghosts)
{
	const size_t u64 = NLA_HDRLEN + 8, u32 = NLA_HDRLEN + 4;
	size_t bytes = 11 * u64 + NLA_HDRLEN + (img.mm.auxv.size() + 16) * 8;
	for (const Mapping &m : img.mappings)
		bytes += NLA_HDRLEN + 4 * u64 + 2 * u32 + (m.kind == HETMIG_VMA_FILE ? u32 : 0);
	return bytes + (8 + ghosts) * u32;
}

// The member's part once the whole tree exists (Tree::member_main made
// it, its session and group): everything else, up to RESTORE_MM. SHM: the
// tree's shared memory objects, one fd each; TREE_FILES: the descriptions
// its processes share.
// The key of child_main's OPENERS for the working directory.
constexpr int kCwdOpener = -1;

[[noreturn]] void child_main(const Image &img, const RestorePolicy &policy, ChildPipes p,
			     bool keep_tids, std::vector<int> shm, std::vector<int> tree_files,
			     std::vector<int> ghosts, bool root,
			     const std::map<int, std::pair<uid_t, gid_t>> &openers)
{
	// Our pipes and the shared memory go above every number the image
	// uses, the rest is closed.
	int top = 2;
	for (const auto &f : img.files)
		top = std::max(top, f.fd);
	int go = fcntl(p.go, F_DUPFD, top + 1), report = fcntl(p.report, F_DUPFD, top + 1);
	if (go < 0 || report < 0)
		child_fail(p, "fcntl", errno);
	std::vector<int> keep = {go, report};
	for (int &fd : shm) {
		fd = fcntl(fd, F_DUPFD, top + 1);
		if (fd < 0)
			child_fail({go, report}, "fcntl", errno);
		keep.push_back(fd);
	}
	for (int &fd : tree_files) {
		fd = fcntl(fd, F_DUPFD_CLOEXEC, top + 1);
		if (fd < 0)
			child_fail({go, report}, "fcntl", errno);
		keep.push_back(fd);
	}
	for (int &fd : ghosts) {
		fd = fcntl(fd, F_DUPFD_CLOEXEC, top + 1);
		if (fd < 0)
			child_fail({go, report}, "fcntl", errno);
		keep.push_back(fd);
	}
	for (int fd = 0; fd <= top; fd++) {
		bool std_inherited = fd <= 2 && std::any_of(img.files.begin(), img.files.end(),
			[&](const OpenFile &f) { return f.fd == fd && f.std_stream; });
		if (!std_inherited)
			close(fd);
	}
	int highest = *std::max_element(keep.begin(), keep.end());
	close_range(unsigned(highest) + 1, ~0U, 0);
	for (int fd = top + 1; fd < highest; fd++)
		if (std::find(keep.begin(), keep.end(), fd) == keep.end())
			close(fd);
	p = {go, report};
	// The netlink socket too, before the uid changes: its send buffer must
	// take the RESTORE_MM request, one attribute nest per mapping, which
	// only root may raise past net.core.wmem_max.
	auto client = GenlClient::connect_above(std::max(go, report),
						restore_mm_bytes(img, ghosts.size()));
	if (!client)
		child_fail(p, client.error().describe());

	// The process never gets more than the receiving side's policy.
	uid_t uid = policy.uid.value_or(img.uid);
	gid_t gid = policy.gid.value_or(img.gid);
	// TCP sockets too: repair mode needs CAP_NET_ADMIN, and a port below
	// 1024 CAP_NET_BIND_SERVICE. Above every number the image uses.
	auto tcp = fds::TcpMaker::make(img.files, top + 1, uid, gid);
	if (!tcp)
		child_fail(p, tcp.error().describe());
	// Named unix sockets too: their files are reached as the process's
	// user, and given the owner they had.
	auto unix_sockets = fds::UnixSocketMaker::make(img.unix_sockets, top + 1,
						       {img.uid, uid, img.gid, gid});
	if (!unix_sockets)
		child_fail(p, unix_sockets.error().describe());
	// Each fd of a deleted file or memfd opened on the one the restorer
	// made, before the credentials change: the process may have taken
	// away its own permission since it opened it (fchmod 0).
	std::map<int, int> ghost_fds;
	for (const auto &f : img.files) {
		if (f.ghost < 0 || f.dup_of >= 0 || f.tree_file >= 0)
			continue;
		if (size_t(f.ghost) >= ghosts.size())
			child_fail(p, strf("fd %d: a deleted file the image lacks", f.fd));
		auto fd = fds::reopen_ghost(f, ghosts[size_t(f.ghost)]);
		int high = fd ? fcntl(*fd, F_DUPFD_CLOEXEC, top + 1) : -1;
		if (!fd)
			child_fail(p, strf("fd %d: ", f.fd) + fd.error().describe());
		if (high < 0)
			child_fail(p, "fcntl", errno);
		close(*fd);
		ghost_fds[f.fd] = high;
	}
	// Standard streams inherited from the tree's process that opened them
	// (OpenFile::opened_by): opened again with its file system ids, before
	// ours change; a child that changed its own since (zdtm's pid00) may no
	// longer open its parent's log.
	std::map<int, int> inherited_fds;
	for (const auto &f : img.files) {
		auto who = openers.find(f.fd);
		if (who == openers.end() || f.std_stream || f.dup_of >= 0 || geteuid() != 0)
			continue;
		setfsgid(who->second.second);
		setfsuid(who->second.first);
		int fd = open(f.path.c_str(), fds::reopen_flags(f.flags));
		int err = errno;
		setfsuid(geteuid());
		setfsgid(getegid());
		if (fd < 0)
			child_fail(p, strf("opening %s (fd %d) as process %u, which opened it",
					   f.path.c_str(), f.fd, f.opened_by), err);
		int high = fcntl(fd, F_DUPFD_CLOEXEC, top + 1);
		close(fd);
		if (high < 0)
			child_fail(p, "fcntl", errno);
		inherited_fds[f.fd] = high;
	}
	// A working directory inherited the same way (its parent's, which a
	// child that changed its ids since may no longer enter): entered with
	// the file system ids of the topmost process of the tree it came from.
	bool cwd_entered = false;
	if (auto who = openers.find(kCwdOpener); who != openers.end() && geteuid() == 0) {
		setfsgid(who->second.second);
		setfsuid(who->second.first);
		int err = chdir(img.cwd.c_str()) ? errno : 0;
		setfsuid(geteuid());
		setfsgid(getegid());
		if (err)
			child_fail(p, "chdir " + img.cwd + " as the process it came from", err);
		cwd_entered = true;
	}
	// A saved uid of 0, for the exe link only, which the restorer then has
	// every thread drop (exe_link.h).
	const IdSet ids = ids_here(img, policy);
	const bool saved_root = exe_link_keeps_saved_root(img, ids);
	// Its supplementary groups too, unless the receiver chose its user or
	// group (then it has none).
	std::vector<gid_t> groups;
	if (!policy.uid && !policy.gid)
		groups.assign(img.groups.begin(), img.groups.end());
	if (geteuid() == 0)
		if (int err = switch_credentials(ids, groups, saved_root))
			child_fail(p, strf("switching to uid %u gid %u", uid, gid), err);
	prctl(PR_SET_DUMPABLE, 1);
	// The process's oom_score_adj, written as the process itself would
	// (rebuild() checks it and writes it when this could not): a value
	// raised without privilege can be lowered again by the process.
	if (img.oom_score_adj)
		write_oom_score_adj("self", *img.oom_score_adj);

	child_files(img, policy, p, tree_files, ghost_fds, inherited_fds, *tcp, *unix_sockets);
	// The shared descriptions this process does not hold must not stay
	// open in it (a pipe's reader would never see its end of file). The
	// restorer's ghosts stay for the private mappings of them, and
	// RESTORE_MM closes them.
	for (int fd : tree_files)
		close(fd);
	// A removed working directory: the one the restorer made again
	// (fds/ghost_files.h), entered as the process, then removed.
	if (img.cwd_ghost >= 0) {
		if (size_t(img.cwd_ghost) >= ghosts.size())
			child_fail(p, "a removed working directory the image lacks");
		if (fchdir(ghosts[size_t(img.cwd_ghost)]))
			child_fail(p, "entering the removed working directory " + img.cwd, errno);
	} else if (!cwd_entered && chdir(img.cwd.c_str())) {
		child_fail(p, "chdir " + img.cwd, errno);
	}
	umask(mode_t(img.umask));
	child_signals(img, p);

	// Files the mappings need, and the netlink socket: closed by RESTORE_MM.
	std::vector<int> close_fds = {p.go, p.report};
	close_fds.insert(close_fds.end(), shm.begin(), shm.end());
	close_fds.insert(close_fds.end(), ghosts.begin(), ghosts.end());
	std::vector<int> map_fds(img.mappings.size(), -1);
	std::map<std::string, int> opened;	// path -> fd
	for (size_t i = 0; i < img.mappings.size(); i++) {
		const Mapping &m = img.mappings[i];
		if (m.shared >= 0) {
			if (size_t(m.shared) >= shm.size())
				child_fail(p, "a mapping of shared memory the image lacks");
			map_fds[i] = shm[size_t(m.shared)];
			continue;
		}
		if (m.ghost >= 0) {
			if (size_t(m.ghost) >= ghosts.size())
				child_fail(p, "a mapping of a deleted file the image lacks");
			map_fds[i] = ghosts[size_t(m.ghost)];
			continue;
		}
		if (m.kind != HETMIG_VMA_FILE)
			continue;
		// One descriptor a file, whatever number of mappings it has (zdtm's
		// maps06 maps one file 20,480 times: one fd each ran past
		// RLIMIT_NOFILE, after the source was gone).
		auto [at, fresh] = opened.try_emplace(m.path, -1);
		if (fresh) {
			at->second = open_mapped_file(img, m.path);
			if (at->second < 0)
				child_fail(p, "opening " + m.path, errno);
			close_fds.push_back(at->second);
		}
		map_fds[i] = at->second;
	}
	close_fds.push_back(client->fd());

	// The other threads: each stops at birth under our tracer.
	void *stack = mmap(nullptr, 65536, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	std::vector<pid_t> made_tids = {pid_t(syscall(SYS_gettid))};
	// A thread's id is chosen (set_tid) only with CAP_CHECKPOINT_RESTORE:
	// a process that runs as root has it, one that keeps a saved uid of 0
	// takes it back for as long as it makes its threads. They are born
	// with that effective uid 0 and drop it with the process (exe_link.h).
	const bool tids_here = keep_tids && (ids.uids[1] == 0 || saved_root);
	const bool raise = tids_here && saved_root && img.threads.size() > 1;
	if (raise && syscall(SYS_setresuid, -1, 0, -1))
		child_fail(p, "taking back euid 0 to make its threads with their ids", errno);
	for (size_t i = 1; i < img.threads.size(); i++) {
		pid_t want = pid_t(img.threads[i].tid);
		clone_args args{};
		args.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			     CLONE_THREAD | CLONE_SYSVSEM;
		args.stack = reinterpret_cast<uint64_t>(stack);
		args.stack_size = 65536;
		if (tids_here) {
			args.set_tid = reinterpret_cast<uint64_t>(&want);
			args.set_tid_size = 1;
		}
		long r = raw_clone3(args);
		if (r < 0 && tids_here) {
			args.set_tid = 0;
			args.set_tid_size = 0;
			r = raw_clone3(args);
		}
		if (r < 0)
			child_fail(p, "creating a thread", errno);
		made_tids.push_back(pid_t(r));
	}
	if (raise && syscall(SYS_setresuid, -1, ids.uids[1], -1))
		child_fail(p, "dropping euid 0 again", errno);
	wait_byte(p);  // every thread is stopped
	// Timers are the process's, and stay through RESTORE_MM. Armed this
	// late, they lose the least of their time to the restore; their
	// signals wait, blocked, until SET_THREAD gives each thread its mask.
	if (img.timers)
		if (auto r = restore_timers(*img.timers, made_tids); !r)
			child_fail(p, r.error().describe());
	// After the credentials, which clear it; its parent is the member
	// that forked us, as on the source.
	if (!root && img.links.pdeathsig &&
	    prctl(PR_SET_PDEATHSIG, (unsigned long)img.links.pdeathsig))
		child_fail(p, strf("setting the parent-death signal %d", img.links.pdeathsig),
			   errno);
	if (img.child_subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1))
		child_fail(p, "making the process a child subreaper", errno);
	// Last: after the move, libc's cached vdso entry points are stale, so
	// nothing that could read the clock runs from here on.
	if (!converted(img))
		child_vdso(img, p);

	auto req = client->new_request(HETMIG_CMD_RESTORE_MM, 0,
				       restore_mm_bytes(img, ghosts.size()));
	if (!req)
		child_fail(p, req.error().describe());
	nl_msg *msg = req->get();
	const MmLayout &mm = img.mm;
	const std::pair<int, uint64_t> fields[] = {
		{HETMIG_A_MM_START_CODE, mm.start_code}, {HETMIG_A_MM_END_CODE, mm.end_code},
		{HETMIG_A_MM_START_DATA, mm.start_data}, {HETMIG_A_MM_END_DATA, mm.end_data},
		{HETMIG_A_MM_START_BRK, mm.start_brk}, {HETMIG_A_MM_BRK, mm.brk},
		{HETMIG_A_MM_START_STACK, mm.start_stack},
		{HETMIG_A_MM_ARG_START, mm.arg_start}, {HETMIG_A_MM_ARG_END, mm.arg_end},
		{HETMIG_A_MM_ENV_START, mm.env_start}, {HETMIG_A_MM_ENV_END, mm.env_end},
	};
	bool ok = true;
	for (auto [attr, v] : fields)
		ok &= nla_put_u64(msg, attr, v) == 0;
	const std::vector<uint64_t> auxv = converted(img) ? with_machine_auxv(mm.auxv) : mm.auxv;
	if (!auxv.empty())
		ok &= nla_put(msg, HETMIG_A_MM_AUXV, int(auxv.size() * 8), auxv.data()) == 0;
	for (size_t i = 0; i < img.mappings.size() && ok; i++) {
		const Mapping &m = img.mappings[i];
		if (m.kind == HETMIG_VMA_SPECIAL)
			continue;
		nlattr *nest = nla_nest_start(msg, HETMIG_A_VMA);
		ok &= nest && !nla_put_u64(msg, HETMIG_A_VMA_START, m.start) &&
		      !nla_put_u64(msg, HETMIG_A_VMA_END, m.end) &&
		      !nla_put_u32(msg, HETMIG_A_VMA_PROT, m.prot) &&
		      !nla_put_u32(msg, HETMIG_A_VMA_FLAGS,
				   m.flags & kMapFlags);
		if (ok && map_fds[i] >= 0)
			ok &= !nla_put_u32(msg, HETMIG_A_VMA_FD, uint32_t(map_fds[i])) &&
			      !nla_put_u64(msg, HETMIG_A_VMA_PGOFF, m.pgoff);
		if (ok)
			nla_nest_end(msg, nest);
	}
	for (int fd : close_fds)
		ok &= nla_put_u32(msg, HETMIG_A_CLOSE_FD, uint32_t(fd)) == 0;
	if (!ok)
		child_fail(p, "the RESTORE_MM request does not fit a message");
	auto r = client->ack(std::move(*req), "RESTORE_MM");
	// Success never comes back here: the task stopped in the kernel.
	child_fail(p, r ? std::string("RESTORE_MM returned") : r.error().describe());
}

// ---- the tree -------------------------------------------------------------
//
// Each member is forked by its parent's restore (the root by the restorer),
// with its pid (clone3 set_tid), after its parent made its own session or
// group: the parent links and inherited sessions are the fork order's. Each
// then writes its index and pid into CREATED and waits; the restorer traces
// them all and tells each, with "g", which group to join (a sibling's or
// cousin's group exists only once the whole tree does).

struct TreeSetup {
	std::vector<const Image *> images;	// the root first
	std::vector<MemberPlan> plan;
	const RestorePolicy *policy = nullptr;
	bool keep_pids = false, keep_tids = false;
	std::vector<int> go_read, go_write, report_read, report_write;	// per member
	int created_read = -1, created_write = -1;
	// Per member: the socket its userfaultfd comes back on (anon_fill.h).
	std::vector<int> uffd_read, uffd_write;
	std::vector<int> shm;	// the tree's shared memory, memfds
	std::vector<int> tree_files;	// the descriptions its processes share
	std::vector<int> ghosts;	// its deleted files and memfds (fds/ghost_files.h)
	// Post-copy's plans (postcopy.h), by member; null without post-copy.
	const std::vector<LazyPlan> *lazy = nullptr;
	bool lazy_member(size_t i) const
	{
		return lazy && i < lazy->size() && !(*lazy)[i].mappings.empty();
	}
};

struct Created {
	uint32_t index;
	int32_t pid;
};

bool read_full(int fd, void *buf, size_t len)
{
	auto *p = static_cast<uint8_t *>(buf);
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= size_t(n);
	}
	return true;
}

// Ends this process the way STATUS (waitpid's) says: an exit code, or a
// signal (without a core dump).
[[noreturn]] void exit_as(int status)
{
	if (WIFSIGNALED(status)) {
		struct rlimit none = {0, 0};
		setrlimit(RLIMIT_CORE, &none);
		int sig = WTERMSIG(status);
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, nullptr);
		kill(getpid(), sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

// A child for a process of the tree, with pid WANT when the tree keeps its
// pids: clone3's result (0 in the child). A ZOMBIE is made again only to
// exit as it did. Fails the member on an error.
long clone_tree_process(const TreeSetup &t, const ChildPipes &p, pid_t want, bool zombie)
{
	clone_args args{};
	args.exit_signal = SIGCHLD;
	if (t.keep_pids) {
		args.set_tid = reinterpret_cast<uint64_t>(&want);
		args.set_tid_size = 1;
	}
	long r = raw_clone3(args);
	if (r >= 0)
		return r;
	int err = errno;  // before strf, which may set it
	if (t.keep_pids && err == EEXIST)
		child_fail(p, strf("pid %d of the tree%s is taken here (--no-pid gives the tree's "
				   "processes new pids)", want, zombie ? " (a zombie)" : ""), err);
	child_fail(p, zombie ? strf("making zombie %d again", want)
			     : strf("creating process %d of the tree", want), err);
}

// Zombie Z in a process group whose leader has gone (check_zombie_group):
// a helper with the leader's pid makes the group and forks Z as our child
// (CLONE_PARENT) into it, then exits and is reaped here. Z's pid (ours
// when the tree has new pids).
long zombie_in_gone_group(const TreeSetup &t, const ChildPipes &p, const Zombie &z)
{
	long helper = clone_tree_process(t, p, pid_t(z.pgid), true);
	if (helper == 0) {
		if (setpgid(0, 0))
			_exit(1);
		clone_args args{};
		args.flags = CLONE_PARENT;
		pid_t want = pid_t(z.pid);
		if (t.keep_pids) {
			args.set_tid = reinterpret_cast<uint64_t>(&want);
			args.set_tid_size = 1;
		}
		long r = raw_clone3(args);
		if (r == 0)
			exit_as(z.status);
		if (r < 0)
			_exit(errno == EEXIST ? 2 : 1);
		_exit(0);
	}
	int status = 0;
	if (waitpid(pid_t(helper), &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		child_fail(p, WIFEXITED(status) && WEXITSTATUS(status) == 2
				      ? strf("pid %u of the tree (a zombie) is taken here (--no-pid "
					     "gives the tree's processes new pids)", z.pid)
				      : strf("making zombie %u again in process group %u, whose "
					     "leader had gone", z.pid, z.pgid));
	if (t.keep_pids)
		return z.pid;
	// With new pids: our child that is in the helper's group.
	siginfo_t si{};
	if (waitid(P_PGID, id_t(helper), &si, WEXITED | WNOWAIT) < 0)
		child_fail(p, "waiting for a zombie made again", errno);
	return si.si_pid;
}

[[noreturn]] void member_main(const TreeSetup &t, size_t i)
{
	ChildPipes p{t.go_read[i], t.report_write[i]};
	if (i == 0) {
		// The restorer's ends: a member must see EOF when it is gone.
		for (size_t j = 0; j < t.plan.size(); j++) {
			close(t.go_write[j]);
			close(t.report_read[j]);
			close(t.uffd_read[j]);
		}
		close(t.created_read);
	}
	const MemberPlan &plan = t.plan[i];
	if (plan.session_leader) {
		if (setsid() < 0)
			child_fail(p, "setsid", errno);
	} else if (plan.group_leader && setpgid(0, 0)) {
		child_fail(p, "making its process group", errno);
	}
	// Its zombies: children that exit at once as they did, never waited
	// for here (SIGCHLD at its default, so they stay).
	signal(SIGCHLD, SIG_DFL);
	// A zombie in its parent's group (as the dump saw the parent) is made
	// in the group the parent has now, and follows it (below) where the
	// parent joins a group another member leads, once every member exists.
	const uint32_t parent_group = t.images[i]->links.pgid;
	std::vector<pid_t> follow;
	for (const Zombie &z : t.images[i]->zombies) {
		long r = 0;
		if (z.pgid && z.pgid != parent_group && z.pgid != z.pid)
			r = zombie_in_gone_group(t, p, z);
		else if ((r = clone_tree_process(t, p, pid_t(z.pid), true)) == 0) {
			if (z.pgid == z.pid && setpgid(0, 0))
				_exit(127);
			exit_as(z.status);
		}
		siginfo_t si;
		waitid(P_PID, id_t(r), &si, WEXITED | WNOWAIT);  // a zombie, not reaped
		if (z.pgid && z.pgid == parent_group && z.pgid != z.pid)
			follow.push_back(pid_t(r));
	}
	// Their SIGCHLD is the restore's, not the process's. Ignored at its
	// default, it is dropped, unless the mask we inherited from whoever
	// started the restorer blocks it: then, left pending, it would
	// interrupt the call the process sleeps in once it runs.
	if (!t.images[i]->zombies.empty()) {
		sigset_t chld, old;
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, &old);
		struct timespec now = {0, 0};
		while (sigtimedwait(&chld, nullptr, &now) > 0)
			;
		sigprocmask(SIG_SETMASK, &old, nullptr);
	}
	for (size_t c = 1; c < t.plan.size(); c++) {
		if (t.plan[c].parent != i)
			continue;
		if (clone_tree_process(t, p, pid_t(t.images[c]->pid), false) == 0)
			member_main(t, c);
	}
	for (size_t j = 0; j < t.plan.size(); j++)
		if (j != i) {
			close(t.go_read[j]);
			close(t.report_write[j]);
			close(t.uffd_write[j]);
		}
	Created rec{uint32_t(i), int32_t(getpid())};
	if (write(t.created_write, &rec, sizeof(rec)) != sizeof(rec))
		child_fail(p, "telling the restorer its pid", errno);
	close(t.created_write);
	char go[5];
	if (!read_full(p.go, go, sizeof(go)) || go[0] != 'g')
		_exit(1);  // the restorer is gone, or gave up
	int32_t pgid;
	std::memcpy(&pgid, go + 1, sizeof(pgid));
	if (pgid && setpgid(0, pgid))
		child_fail(p, strf("joining process group %d", pgid), errno);
	// The kernel lets a parent move its child that exited and never ran
	// exec to another group of its session, as a zombie too.
	for (pid_t z : follow)
		if (getpgid(z) != getpgrp() && setpgid(z, getpgrp()))
			child_fail(p, strf("moving zombie %d into process group %d", z, getpgrp()),
				   errno);
	// Our address space's userfaultfd, for the restorer to fill the
	// memory RESTORE_MM makes (anon_fill.h); given away, so the process
	// never holds it. Without one the restorer writes the pages as ptrace
	// would. Post-copy needs one kernel accesses wait on too.
	if (int uffd = make_userfaultfd(t.lazy_member(i)); uffd >= 0) {
		(void)send_fd(t.uffd_write[i], uffd);
		close(uffd);
	}
	close(t.uffd_write[i]);
	// The file system ids of the processes its standard streams came from,
	// and its working directory: that of its topmost ancestor in the tree
	// with the same one.
	std::map<int, std::pair<uid_t, gid_t>> openers;
	auto fs_ids = [&](const Image &holder) {
		IdSet ids = ids_here(holder, *t.policy);
		return std::pair<uid_t, gid_t>{ids.uids[3], ids.gids[3]};
	};
	for (const auto &f : t.images[i]->files)
		for (const Image *holder : t.images)
			if (f.opened_by && holder->pid == f.opened_by)
				openers[f.fd] = fs_ids(*holder);
	const Image *cwd_from = nullptr;
	for (size_t at = i; at != 0 && t.images[i]->cwd_ghost < 0;) {
		at = t.plan[at].parent;
		if (t.images[at]->cwd != t.images[i]->cwd || t.images[at]->cwd_ghost >= 0)
			break;
		cwd_from = t.images[at];
	}
	if (cwd_from)
		openers[kCwdOpener] = fs_ids(*cwd_from);
	child_main(*t.images[i], *t.policy, p, t.keep_tids, t.shm, t.tree_files, t.ghosts,
		   i == 0, openers);
}

// ---- the parent -------------------------------------------------------------

std::string read_report(int fd)
{
	std::string msg;
	char buf[512];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		msg.append(buf, size_t(n));
	return msg;
}

Result<void> set_thread(GenlClient &client, pid_t pid, pid_t tid, const ThreadState &t)
{
	auto req = client.pid_request(HETMIG_CMD_SET_THREAD, uint32_t(pid));
	if (!req)
		return std::unexpected(req.error());
	nl_msg *msg = req->get();
	bool ok = !nla_put_u32(msg, HETMIG_A_TID, uint32_t(tid));
	for (uint32_t note : restored_regsets()) {
		auto it = t.regsets.find(note);
		if (it == t.regsets.end())
			continue;
		nlattr *nest = nla_nest_start(msg, HETMIG_A_REGSET);
		ok &= nest && !nla_put_u32(msg, HETMIG_A_REGSET_NOTE, note) &&
		      !nla_put(msg, HETMIG_A_REGSET_DATA, int(it->second.size()),
			       it->second.data());
		if (ok)
			nla_nest_end(msg, nest);
	}
	ok &= !nla_put_u64(msg, HETMIG_A_SIGMASK, t.sigmask) &&
	      !nla_put_u64(msg, HETMIG_A_ALTSTACK_SP, t.altstack_sp) &&
	      !nla_put_u64(msg, HETMIG_A_ALTSTACK_SIZE, t.altstack_size) &&
	      !nla_put_u32(msg, HETMIG_A_ALTSTACK_FLAGS, t.altstack_flags) &&
	      !nla_put_u64(msg, HETMIG_A_CLEAR_CHILD_TID, t.clear_child_tid) &&
	      !nla_put_u64(msg, HETMIG_A_ROBUST_LIST, t.robust_list);
	if (t.rseq)
		ok &= !nla_put_u64(msg, HETMIG_A_RSEQ, t.rseq) &&
		      !nla_put_u32(msg, HETMIG_A_RSEQ_SIG, t.rseq_sig);
	if (!ok)
		return fail(EMSGSIZE, "SET_THREAD: the thread's state does not fit a message");
	return client.ack(std::move(*req), "SET_THREAD");
}

} // namespace

Result<void> RestoredProcess::release()
{
	// Its memory still to come is registered last: nothing of ours
	// touches it after this.
	for (const auto &l : lazy_)
		if (auto r = register_lazy(l.uffd, l.pid, l.plan); !r)
			return r;
	// Its connections leave repair mode now that every socket of the tree
	// exists and the move is committed (fds/tcp.h).
	for (const auto &r : tcp_)
		if (auto e = fds::leave_repair(r); !e)
			return e;
	tcp_.clear();
	// Queued while every thread is in a ptrace stop, a SIGSTOP is taken
	// on the way out of the detach, before any code of the process runs,
	// and it is no tracer's then: the group stop the process was in.
	for (pid_t p : stopped_)
		if (kill(p, SIGSTOP))
			return fail(errno, strf("stopping process %d again, as it was", p));
	for (pid_t tid : tids_)
		if (ptrace(PTRACE_DETACH, tid, 0, 0))
			return fail(errno, strf("letting thread %d run", tid));
	pid_ = 0;
	tids_.clear();
	members_.clear();
	stopped_.clear();
	return {};
}

void RestoredProcess::set_lazy(size_t index, pid_t pid, int uffd, const LazyPlan &plan)
{
	lazy_.push_back({index, pid, uffd, plan});
}

std::vector<int> RestoredProcess::take_lazy_uffds(size_t processes)
{
	std::vector<int> fds(processes, -1);
	for (auto &l : lazy_) {
		if (l.index < processes)
			fds[l.index] = l.uffd;
		else
			close(l.uffd);
	}
	lazy_.clear();
	return fds;
}

void RestoredProcess::close_lazy()
{
	for (const auto &l : lazy_)
		close(l.uffd);
	lazy_.clear();
}

void RestoredProcess::discard()
{
	close_lazy();
	if (!pid_)
		return;
	kill(pid_, SIGKILL);
	for (pid_t m : members_)
		kill(m, SIGKILL);
	for (pid_t tid : tids_)
		if (tid != pid_)
			waitpid(tid, nullptr, __WALL);
	for (pid_t m : members_)
		if (std::find(tids_.begin(), tids_.end(), m) == tids_.end())
			waitpid(m, nullptr, __WALL);
	waitpid(pid_, nullptr, __WALL);
	pid_ = 0;
	tids_.clear();
	members_.clear();
	stopped_.clear();
	tcp_.clear();
}

std::vector<std::string> settle_std_streams(Image &img, const RestorePolicy &policy)
{
	static const char *const names[] = {"stdin", "stdout", "stderr"};
	std::vector<std::string> notices;
	for (auto &f : img.files) {
		if (f.fd > 2 || f.dup_of >= 0)
			continue;
		std::string was = "was " + f.path;
		if (!f.left_behind.empty())
			was += " (" + f.left_behind + ")";
		if (!f.std_stream) {
			if (f.made_anew() || fds::is_device(f) || f.ghost >= 0 || !f.ns.empty() ||
			    f.symlink)
				continue;
			auto same = check_same_file(f.path, f.size, f.mtime_ns);
			if (same)
				continue;
			f.std_stream = true;
			was += " on the source, which " +
			       std::string(same.error().code == ENOENT ? "is missing here"
								       : "differs here (size or mtime)");
		}
		const std::string &mine = receiver_stream(policy, f.fd);
		notices.push_back(strf("%s %s: it is now %s", names[f.fd], was.c_str(),
				       mine.empty() ? "the receiver's own" : mine.c_str()));
	}
	// The tree's other processes, each said with its pid.
	for (auto &m : img.members)
		for (const auto &line : settle_std_streams(m, policy))
			notices.push_back(strf("process %u's ", m.pid) + line);
	return notices;
}

Result<void> check_directory_here(const OpenFile &f)
{
	struct stat st;
	if (stat(f.path.c_str(), &st))
		return fail(errno, strf("directory %s of the process (fd %d) is missing here",
					f.path.c_str(), f.fd));
	return check_same_directory(f, st);
}

namespace {

// The tid of TID's thread group, from /proc (a thread stopped at birth).
pid_t tgid_of(pid_t tid)
{
	std::ifstream in("/proc/" + std::to_string(tid) + "/status");
	for (std::string line; std::getline(in, line);)
		if (line.starts_with("Tgid:"))
			return pid_t(std::stol(line.substr(5)));
	return 0;
}

struct FdList {
	std::vector<int> fds;
	FdList() = default;
	FdList(const FdList &) = delete;
	~FdList() { for (int fd : fds) close(fd); }
};

// A member that failed has closed its end of its "go" pipe: our next byte
// to it must come back as EPIPE, so that its report is read and shown, not
// kill us with SIGPIPE before we say anything. The members set every
// disposition from their images, so they do not keep this one.
class SigpipeIgnored {
public:
	SigpipeIgnored()
	{
		struct sigaction ignore {};
		ignore.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &ignore, &saved_);
	}
	~SigpipeIgnored() { sigaction(SIGPIPE, &saved_, nullptr); }
	SigpipeIgnored(const SigpipeIgnored &) = delete;
	SigpipeIgnored &operator=(const SigpipeIgnored &) = delete;

private:
	struct sigaction saved_ {};
};

} // namespace

Result<RestoredProcess> rebuild(const Image &img, const RestorePolicy &policy,
				PageStream *pages, const std::vector<LazyPlan> *lazy)
{
	SigpipeIgnored sigpipe_ignored;
	TreeSetup t;
	if (lazy && lazy->size() != img.members.size() + 1)
		return fail(EBADMSG, strf("corrupted post-copy plan: %zu plans for a tree of %zu "
					  "processes", lazy->size(), img.members.size() + 1));
	t.lazy = lazy;
	t.images.push_back(&img);
	for (const auto &m : img.members)
		t.images.push_back(&m);
	for (const Image *i : t.images)
		if (auto r = check_image(*i, policy); !r)
			return std::unexpected(r.error());
	auto plan = plan_tree(tree_members(img));
	if (!plan)
		return std::unexpected(plan.error());
	t.plan = std::move(*plan);
	const size_t n = t.images.size();
	const bool tree = n > 1;
	bool privileged = geteuid() == 0;
	if (tree && policy.keep_pid && !privileged)
		return fail(EPERM, "a process tree is restored with its own pids, which needs "
				   "root here; with --no-pid its processes get new ones, which "
				   "they do not know of");
	auto client = GenlClient::connect();
	if (!client)
		return std::unexpected(client.error());

	FdList shm;
	for (const auto &sh : img.shared) {
		// Sealable only where a memfd held as an fd was (fds/memfd.h).
		int fd = memfd_create(sh.name.empty() ? "hetmig-shared-anon" : sh.name.c_str(),
				      MFD_CLOEXEC | (fds::shared_needs_sealing(img, shm.fds.size())
							     ? MFD_ALLOW_SEALING : 0));
		if (fd < 0)
			return fail(errno, "making the tree's shared memory");
		shm.fds.push_back(fd);
		if (ftruncate(fd, off_t(sh.size)))
			return fail(errno, "sizing the tree's shared memory");
	}
	// Made before the root, which inherits them, and its children from it:
	// deleted files and memfds first, which shared descriptions may be of.
	auto creds_of = [&](const Image &holder) {
		return std::pair{uid_t(policy.uid.value_or(holder.uid)),
				 gid_t(policy.gid.value_or(holder.gid))};
	};
	auto ghosts = fds::make_ghosts(img, shm.fds, creds_of);
	if (!ghosts)
		return std::unexpected(ghosts.error());
	std::vector<int> ghost_fds;
	for (const auto &fd : *ghosts)
		ghost_fds.push_back(fd.get());
	auto tree_files = fds::make_tree_files(img, ghost_fds, creds_of);
	if (!tree_files)
		return std::unexpected(tree_files.error());
	std::vector<std::unique_ptr<Pipe>> go, report, uffd;
	Pipe created;
	for (size_t i = 0; i < n; i++) {
		go.push_back(std::make_unique<Pipe>());
		report.push_back(std::make_unique<Pipe>());
		uffd.push_back(std::make_unique<Pipe>(true));
		if (go.back()->read_end() < 0 || report.back()->read_end() < 0 ||
		    uffd.back()->read_end() < 0)
			return fail(errno, "pipe");
		t.go_read.push_back(go.back()->read_end());
		t.go_write.push_back(go.back()->write_end());
		t.report_read.push_back(report.back()->read_end());
		t.report_write.push_back(report.back()->write_end());
		t.uffd_read.push_back(uffd.back()->read_end());
		t.uffd_write.push_back(uffd.back()->write_end());
	}
	if (created.read_end() < 0)
		return fail(errno, "pipe");
	t.created_read = created.read_end();
	t.created_write = created.write_end();
	t.shm = shm.fds;
	for (const auto &fd : *tree_files)
		t.tree_files.push_back(fd.get());
	t.ghosts = ghost_fds;
	t.policy = &policy;
	t.keep_pids = policy.keep_pid && privileged;
	// Where the process can choose them (child_main).
	t.keep_tids = t.keep_pids;

	clone_args args{};
	args.exit_signal = SIGCHLD;
	pid_t want = pid_t(img.pid);
	if (t.keep_pids) {
		args.set_tid = reinterpret_cast<uint64_t>(&want);
		args.set_tid_size = 1;
	}
	long child = raw_clone3(args);
	if (child < 0 && args.set_tid && !tree) {
		// One process takes another pid when its own is taken here; a
		// tree's processes know each other's pids, so a tree does not.
		args.set_tid = 0;
		args.set_tid_size = 0;
		child = raw_clone3(args);
	}
	if (child < 0)
		return fail(errno, tree && errno == EEXIST
				   ? strf("pid %d of the tree is taken here (--no-pid gives the "
					  "tree's processes new pids)", want)
				   : std::string("creating the process"));
	if (child == 0)
		member_main(t, 0);
	// The root holds them now; a pipe's end kept here would hide its end
	// of file from the tree.
	tree_files->clear();
	ghosts->clear();
	for (size_t i = 0; i < n; i++) {
		go[i]->close_read();
		report[i]->close_write();
		uffd[i]->close_write();
	}
	created.close_write();

	RestoredProcess proc(pid_t(child), {pid_t(child)}, child == want);
	auto died = [&](const std::string &fallback) {
		// Members not traced yet see their "go" pipe end and exit; the
		// traced ones are killed. Then their reports are whole.
		for (auto &g : go)
			g->close_write();
		proc.discard();
		std::string msg;
		for (auto &r : report)
			if (msg.empty())
				msg = read_report(r->read_end());
		return fail(EIO, "restore: " + (msg.empty() ? fallback : msg));
	};

	std::vector<pid_t> pids(n, 0);
	for (size_t k = 0; k < n; k++) {
		Created rec;
		if (!read_full(created.read_end(), &rec, sizeof(rec)) || rec.index >= n ||
		    pids[rec.index])
			return died("a process of the tree died while the tree was made");
		pids[rec.index] = rec.pid;
	}
	// Traced from here on: each dies with us (EXITKILL).
	bool kept = true;
	for (size_t i = 0; i < n; i++) {
		if (ptrace(PTRACE_SEIZE, pids[i], 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL))
			return died(strf("tracing process %d: %s", pids[i], std::strerror(errno)));
		if (i)
			proc.add_member(pids[i]);
		if (t.images[i]->stopped)
			proc.add_stopped(pids[i]);
		kept &= pids[i] == pid_t(t.images[i]->pid);
	}
	proc.set_pid_kept(kept);
	for (size_t i = 0; i < n; i++)
		proc.add_tcp(fds::tcp_releases(pids[i], *t.images[i]));
	for (size_t i = 0; i < n; i++) {
		char msg[5] = {'g'};
		int32_t pgid = t.plan[i].join == kNoMember ? 0 : pids[t.plan[i].join];
		std::memcpy(msg + 1, &pgid, sizeof(pgid));
		if (write(go[i]->write_end(), msg, sizeof(msg)) != sizeof(msg))
			return died("a process of the tree is gone");
	}

	// Collect the threads each creates; each stops at birth.
	auto member_of = [&](pid_t pid) {
		return size_t(std::find(pids.begin(), pids.end(), pid) - pids.begin());
	};
	std::vector<std::vector<pid_t>> tids(n);
	size_t threads_wanted = 0;
	for (size_t i = 0; i < n; i++) {
		tids[i] = {pids[i]};
		threads_wanted += t.images[i]->threads.size() - 1;
	}
	auto note_thread = [&](size_t i, pid_t tid) {
		if (i < n && std::find(tids[i].begin(), tids[i].end(), tid) == tids[i].end())
			tids[i].push_back(tid);
	};
	size_t stopped_threads = 0;
	while (stopped_threads < threads_wanted) {
		int status;
		pid_t w = waitpid(-1, &status, __WALL);
		if (w < 0)
			return died("waitpid");
		size_t mi = member_of(w);
		if (mi < n && (WIFEXITED(status) || WIFSIGNALED(status)))
			return died(strf("process %d died while being set up", w));
		if (!WIFSTOPPED(status))
			continue;
		int event = status >> 16;
		if (mi < n) {
			if (event == PTRACE_EVENT_CLONE) {
				unsigned long tid;
				ptrace(PTRACE_GETEVENTMSG, w, 0, &tid);
				note_thread(mi, pid_t(tid));
			}
			ptrace(PTRACE_CONT, w, 0, 0);
			continue;
		}
		if (event == PTRACE_EVENT_STOP) {
			note_thread(member_of(tgid_of(w)), w);
			stopped_threads++;
		}
	}
	std::vector<pid_t> all;
	for (const auto &v : tids)
		all.insert(all.end(), v.begin(), v.end());
	proc.set_threads(all);
	for (size_t i = 0; i < n; i++)
		if (write(go[i]->write_end(), "r", 1) != 1)
			return died("a process of the tree is gone");

	// RESTORE_MM ends with each member stopped by SIGSTOP.
	for (size_t i = 0; i < n; i++)
		for (;;) {
			int status;
			if (waitpid(pids[i], &status, __WALL) != pids[i])
				return died("waitpid");
			if (WIFEXITED(status) || WIFSIGNALED(status))
				return died(strf("process %d died while its address space was "
						 "rebuilt (see the kernel log)", pids[i]));
			if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP && !(status >> 16))
				break;
			// Its children's SIGCHLD, of their restore: not the process's.
			if (WIFSTOPPED(status) && (status >> 16) == 0 &&
			    WSTOPSIG(status) != SIGSTOP && WSTOPSIG(status) != SIGCHLD)
				return died(strf("process %d got signal %d while being set up",
						 pids[i], WSTOPSIG(status)));
			ptrace(PTRACE_CONT, pids[i], 0, 0);
		}

	for (size_t i = 0; i < n; i++) {
		const Image &mi = *t.images[i];
		if (tids[i].size() != mi.threads.size())
			return died(strf("process %d has %zu threads, not %zu", pids[i],
					 tids[i].size(), mi.threads.size()));
		// Sent before its RESTORE_MM, so here by now, if made at all.
		int fill = receive_fd(uffd[i]->read_end());
		LazyFill lazy_fill;
		if (t.lazy_member(i)) {
			// Its copy stays with the process: the plan's mappings are
			// registered with it last before it runs (release).
			int keep = fill >= 0 ? fcntl(fill, F_DUPFD_CLOEXEC, 0) : -1;
			if (keep < 0)
				return fail(fill >= 0 ? errno : EOPNOTSUPP,
					    strf("post-copy: no userfaultfd for process %d", pids[i]));
			proc.set_lazy(i, pids[i], keep, (*t.lazy)[i]);
			lazy_fill = {(*t.lazy)[i].mappings, lazy_uffd_features()};
		}
		if (auto r = pages ? write_streamed_pages(*client, pids[i], mi, shm.fds, fill,
							  *pages, i, lazy_fill)
				   : write_pages(*client, pids[i], mi, shm.fds, fill, lazy_fill);
		    !r)
			return std::unexpected(r.error());
		for (size_t k = 0; k < mi.threads.size(); k++)
			if (auto r = set_thread(*client, pids[i], tids[i][k], mi.threads[k]); !r)
				return std::unexpected(r.error());
		if (auto r = set_rlimits(pids[i], mi); !r)
			return std::unexpected(r.error());
		if (auto r = set_oom_score_adj(pids[i], mi); !r)
			return std::unexpected(r.error());
		// Once the pages are in and under the image's RLIMIT_MEMLOCK.
		if (auto r = restore_advice(pids[i], mi); !r)
			return std::unexpected(r.error());
		// The root's parent-death signal is not carried (restrictions.md).
		auto exe = restore_exe_link(pids[i], tids[i], mi, ids_here(mi, policy),
					    i ? int(mi.links.pdeathsig) : 0);
		if (!exe)
			return std::unexpected(exe.error());
		if (*exe)
			proc.add_notice(std::move(**exe));
		// After the exe link, which needed CAP_SYS_RESOURCE.
		auto caps = restore_capabilities(pids[i], tids[i], mi, policy.uid.value_or(mi.uid));
		if (!caps)
			return std::unexpected(caps.error());
		if (*caps)
			proc.add_notice(std::move(**caps));
		// Last, under the image's limits (RLIMIT_SIGPENDING), by the
		// threads with their own registers and stacks.
		if (auto r = queue_pending_signals(pids[i], tids[i], mi); !r)
			return std::unexpected(r.error());
	}
	if (pages)
		if (auto r = pages->finish(); !r)
			return std::unexpected(r.error());
	return proc;
}

void use_low_mmap_layout(char **argv)
{
#if defined(__aarch64__)
	// clone3 copies our mm, and with it the mmap layout our exec chose:
	// arm64's default puts top-down mmaps near the stack, above x86_64's
	// 47-bit limit. A hetmig-cc program re-executes itself with the legacy
	// layout for that reason (user/runtime/layout.c); once rebuilt here,
	// whatever it maps next (musl's TLS area at resume, large malloc
	// chunks) must stay below 2^47 too, or it can never move back.
	int cur = personality(0xffffffff);
	if (cur < 0 || (cur & ADDR_COMPAT_LAYOUT) || getenv("HETMIG_NO_REEXEC"))
		return;
	if (personality(cur | ADDR_COMPAT_LAYOUT) < 0)
		return;
	execv("/proc/self/exe", argv);
	personality(cur);  // exec failed: run on in the default layout
#else
	(void)argv;
#endif
}

Result<void> check_program_build(const ProgramRef &want)
{
	// The pair note only: reading the DWARF and analysing every function
	// would take seconds of the move's downtime in an emulated guest.
	auto prog = program::Program::open_elf(want.path);
	if (!prog)
		return fail(ENOENT, strf("this machine has no %s build of the program at %s "
					 "(%s)", arch_name(this_arch()), want.path.c_str(),
					 prog.error().describe().c_str()));
	if (prog->pair_id() != want.pair_id)
		return fail(ESTALE, strf("%s is not the other half of the sender's build "
					 "(pair id %s, the sender's %s)", want.path.c_str(),
					 prog->pair_id().empty() ? "none" : prog->pair_id().c_str(),
					 want.pair_id.c_str()));
	return {};
}

} // namespace hetmig
