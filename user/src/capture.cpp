// SPDX-License-Identifier: GPL-2.0
#include "capture.h"
#include "credentials.h"

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <linux/hetmig.h>
#include <linux/magic.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "capabilities.h"
#include "fds/devices.h"
#include "fds/epoll.h"
#include "fds/in_flight.h"
#include "fds/eventfd.h"
#include "fds/fifos.h"
#include "fds/ghost_files.h"
#include "fds/owner.h"
#include "fds/pipes.h"
#include "fds/signalfd.h"
#include "fds/timerfd.h"
#include "fds/unix_sockets.h"
#include "inject.h"
#include "pagemap.h"
#include "pending_signals.h"
#include "timers.h"

namespace hetmig {

namespace {

std::string proc(pid_t pid, const std::string &what)
{
	return "/proc/" + std::to_string(pid) + "/" + what;
}

std::optional<std::string> read_link(const std::string &path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
	if (n < 0)
		return std::nullopt;
	return std::string(buf, size_t(n));
}

// "Key:\tvalue..." from a /proc status-like file.
std::optional<std::string> status_field(const std::string &file, const std::string &key)
{
	std::ifstream in(file);
	for (std::string line; std::getline(in, line);)
		if (line.starts_with(key + ":"))
			return line.substr(key.size() + 1);
	return std::nullopt;
}

} // namespace

Result<void> check_root(pid_t pid)
{
	auto root = read_link(proc(pid, "root"));
	if (!root)
		return fail(errno, strf("cannot read the root directory of process %d", pid));
	if (*root != "/")
		return fail(EOPNOTSUPP, strf("process %d runs in %s (chroot): a root directory "
					     "other than the file system's is not carried, and "
					     "restored without it the process would see the whole "
					     "file system", pid, root->c_str()));
	return {};
}

Result<bool> child_subreaper_of(pid_t pid)
{
	auto set = prctl_get_of(pid, PR_GET_CHILD_SUBREAPER, "the child subreaper flag");
	if (!set)
		return std::unexpected(set.error());
	return *set != 0;
}

namespace {

class Fd {
public:
	explicit Fd(int fd) : fd_(fd) {}
	~Fd() { if (fd_ >= 0) close(fd_); }
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	int get() const { return fd_; }

private:
	int fd_;
};

Result<void> pread_all(int fd, uint8_t *buf, size_t len, uint64_t off, const char *what)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, off_t(off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(n < 0 ? errno : EIO,
				    strf("%s at 0x%lx", what, (unsigned long)off));
		buf += n;
		len -= size_t(n);
		off += uint64_t(n);
	}
	return {};
}

} // namespace

int64_t mtime_ns(const struct stat &st)
{
	return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

namespace {

// Whether fd A of process PA and fd B of PB are one open file description
// (one offset); not, where the kernel cannot say.
bool same_description(pid_t pa, int a, pid_t pb, int b)
{
	return fds::same_description(pa, a, pb, b).value_or(false);
}

// Another process holding FD's open file description (its offset): a
// shell's child that inherited the stream, or the `hetmig send` a program
// that moves itself starts. Reopened on the destination, the file would
// have an offset of its own there, and the two would write over each
// other's output. 0 when none (or none this caller may see).
pid_t description_shared_outside(pid_t pid, int fd, const std::string &path,
				 std::span<const pid_t> tree = {})
{
	std::error_code ec;
	for (const auto &entry : std::filesystem::directory_iterator("/proc", ec)) {
		const std::string name = entry.path().filename();
		if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])))
			continue;
		pid_t other = pid_t(std::stol(name));
		if (other == pid || std::find(tree.begin(), tree.end(), other) != tree.end())
			continue;
		std::error_code fd_ec;
		for (const auto &link :
		     std::filesystem::directory_iterator(entry.path() / "fd", fd_ec)) {
			std::error_code link_ec;
			if (std::filesystem::read_symlink(link.path(), link_ec) != path)
				continue;
			int their = std::atoi(link.path().filename().c_str());
			if (same_description(pid, fd, other, their))
				return other;
		}
	}
	return 0;
}

// "which stays", or "of the tree" for a process that moves with PID.
const char *whose(pid_t other, std::span<const pid_t> tree)
{
	return std::find(tree.begin(), tree.end(), other) != tree.end()
		? "which moves with it, but only pipes, eventfds, timerfds and unix socket "
		  "pairs are shared between a tree's processes" : "which stays";
}

// F, a namespace file of PID ("net:[N]"), when it is the process's own
// namespace of its kind.
Result<OpenFile> describe_namespace(pid_t pid, OpenFile f)
{
	size_t colon = f.path.find(":[");
	std::string kind = colon == std::string::npos ? "" : f.path.substr(0, colon);
	auto own = kind.empty() ? std::nullopt : read_link(proc(pid, "ns/" + kind));
	if (!own || *own != f.path)
		return fail(EOPNOTSUPP, strf("fd %d is the namespace %s, which is not one the "
					     "process is in: namespaces are not carried, only a "
					     "descriptor of the process's own (opened again as "
					     "that of the namespace it is in after the move)",
					     f.fd, f.path.c_str()));
	f.ns = kind;
	return f;
}

// F, an O_PATH descriptor of a symbolic link (ST: the link's stat).
Result<OpenFile> describe_symlink(OpenFile f, const struct stat &st)
{
	struct stat here;
	char target[PATH_MAX];
	ssize_t n = -1;
	if (f.path.starts_with("/") && !f.path.ends_with(" (deleted)") &&
	    !lstat(f.path.c_str(), &here) && here.st_ino == st.st_ino && here.st_dev == st.st_dev)
		n = readlink(f.path.c_str(), target, sizeof(target));
	if (n < 0 || size_t(n) >= sizeof(target))
		return fail(EOPNOTSUPP, strf("fd %d is the symbolic link %s, which was deleted or "
					     "replaced: it cannot be opened again", f.fd,
					     f.path.c_str()));
	f.symlink = std::string(target, size_t(n));
	f.size = uint64_t(st.st_size);
	f.mtime_ns = mtime_ns(st);
	return f;
}

// Why a file descriptor cannot be carried, or nothing if it can. TREE:
// the processes that move with PID.
Result<OpenFile> describe_fd(pid_t pid, int fd, std::span<const pid_t> tree)
{
	OpenFile f;
	f.fd = fd;
	auto target = read_link(proc(pid, "fd/" + std::to_string(fd)));
	if (!target)
		return fail(errno, strf("fd %d: cannot read its link", fd));
	f.path = *target;
	std::ifstream info(proc(pid, "fdinfo/" + std::to_string(fd)));
	for (std::string line; std::getline(info, line);) {
		if (line.starts_with("pos:"))
			f.offset = std::stoull(line.substr(4));
		else if (line.starts_with("flags:"))
			f.flags = int(std::stoul(line.substr(6), nullptr, 8));
	}
	struct stat st {};
	bool statted = !stat(proc(pid, "fd/" + std::to_string(fd)).c_str(), &st);
	if (auto rdev = statted ? fds::same_everywhere_device(f.path, st) : std::nullopt) {
		f.rdev = *rdev;
		return f;
	}
	// Made anew on the destination (fds/): a pipe is decided with its
	// other ends (capture_pipes), an eventfd's counter read once every fd
	// is described, a timerfd's timer read here.
	if (uint64_t inode = fds::pipe_inode(f.path)) {
		f.pipe = inode;
		return f;
	}
	if (uint64_t inode = fds::socket_inode(f.path)) {
		f.unix_socket = inode;	// decided with its peer (capture_unix_pairs)
		return f;
	}
	// An eventfd or timerfd the tree's other processes share is made once
	// for them all (capture_tree_files); one shared with a process that
	// stays cannot be.
	if (fds::is_eventfd(f.path)) {
		if (pid_t other = description_shared_outside(pid, fd, f.path, tree))
			return fail(EOPNOTSUPP, strf("fd %d is an eventfd shared with process %d, "
						     "which stays: it cannot be carried", fd, other));
		f.eventfd = EventCounter{};
		return f;
	}
	if (fds::is_timerfd(f.path)) {
		if (pid_t other = description_shared_outside(pid, fd, f.path, tree))
			return fail(EOPNOTSUPP, strf("fd %d is a timerfd shared with process %d, "
						     "which stays: it cannot be carried", fd, other));
		auto timer = fds::capture_timerfd(pid, fd);
		if (!timer)
			return std::unexpected(timer.error());
		f.timerfd = *timer;
		return f;
	}
	if (fds::is_epoll(f.path) || fds::is_signalfd(f.path)) {
		const char *kind = fds::is_epoll(f.path) ? "an epoll" : "a signalfd";
		if (pid_t other = description_shared_outside(pid, fd, f.path))
			return fail(EOPNOTSUPP, strf("fd %d is %s shared with process %d, %s: it "
						     "cannot be carried", fd, kind, other,
						     whose(other, tree)));
		if (fds::is_signalfd(f.path)) {
			auto mask = fds::capture_signalfd(pid, fd);
			if (!mask)
				return std::unexpected(mask.error());
			f.signalfd = *mask;
			return f;
		}
		auto targets = fds::capture_epoll(pid, fd);
		if (!targets)
			return std::unexpected(targets.error());
		f.epoll = std::move(*targets);
		return f;
	}
	// A file no name leads to any more: a deleted file or directory, a
	// memfd (fds/ghost_files.h), carried with its bytes. At fd 0-2 it
	// is a standard stream (a rotated log), the receiver's choice below:
	// its bytes are no one's to read, and may be many.
	if (fd > 2 && statted && fds::is_ghost(f.path, st))
		return fds::describe_ghost(pid, std::move(f), st);
	struct statfs fs;
	bool fs_known = !statfs(proc(pid, "fd/" + std::to_string(fd)).c_str(), &fs);
	// A namespace (nsfs, "net:[4026531840]"; S_IFREG too): one the process
	// is in is the one of that kind it is in after the restore, which is
	// the receiver's (namespaces are not carried); any other is refused.
	if (statted && fs_known && fs.f_type == NSFS_MAGIC)
		return describe_namespace(pid, std::move(f));
	// An O_PATH descriptor of a symbolic link (O_NOFOLLOW): the link by its
	// path, which must lead where it led.
	if (statted && S_ISLNK(st.st_mode))
		return describe_symlink(std::move(f), st);
	// A regular file by path.
	bool regular = statted && S_ISREG(st.st_mode) && f.path.starts_with("/") &&
		       !f.path.ends_with(" (deleted)");
	// A /proc file of the process or of its tree is about a process that
	// moves: opened again by its path once the tree is made again (the
	// pids are kept; its own is its own pid here). Other /proc files
	// (/proc/1/status, /proc/meminfo) are opened again as they are.
	unsigned long of = 0;
	if (regular && std::sscanf(f.path.c_str(), "/proc/%lu/", &of) == 1 && fs_known &&
	    fs.f_type == PROC_SUPER_MAGIC &&
	    (pid_t(of) == pid || std::find(tree.begin(), tree.end(), pid_t(of)) != tree.end())) {
		if (fd <= 2)
			return fail(EOPNOTSUPP, strf("fd %d is %s, a /proc file of a process that "
						     "moves: a standard stream cannot be one", fd,
						     f.path.c_str()));
		f.proc_pid = int32_t(of);
		return f;
	}
	if (!regular && fd <= 2) {
		// A terminal or a socket: the destination provides its own
		// (capture_pipes does the same for a pipe that leads out).
		f.std_stream = true;
		return f;
	}
	// A standard stream the tree's processes share (a parent's log its
	// children inherited) is opened again in each.
	if (fd <= 2)
		if (pid_t other = description_shared_outside(pid, fd, f.path, tree)) {
			f.std_stream = true;
			f.left_behind = strf("shared with process %d, which stays", other);
			return f;
		}
	bool directory = statted && S_ISDIR(st.st_mode);
	if (statted && S_ISFIFO(st.st_mode)) {
		if (f.path.ends_with(" (deleted)") || f.path.front() != '/')
			return fail(EOPNOTSUPP, strf("fd %d is the FIFO %s, which was deleted: it "
						     "cannot be opened again", fd, f.path.c_str()));
		f.fifo = true;	// its bytes: capture_fifos
		return f;
	}
	if (!regular && !directory)
		return fail(EOPNOTSUPP, strf("fd %d is %s: only regular files, directories, "
					     "pipes whose ends are all in the process, eventfds, "
					     "timerfds, epolls, signalfds, /dev/null, /dev/zero, /dev/full, "
					     "/dev/random, /dev/urandom and the standard streams "
					     "can be carried",
					     fd, f.path.c_str()));
	f.size = uint64_t(st.st_size);
	f.mtime_ns = mtime_ns(st);
	if (directory) {
		// Its position (fdinfo's pos, what lseek(fd, 0, SEEK_CUR)
		// says) is the getdents cookie; the inode tells whether the
		// destination's directory is the one the cookie belongs to.
		f.directory = true;
		f.inode = uint64_t(st.st_ino);
	}
	return f;
}

// Descriptors that share one open file description (dup, 2>&1): its
// offset is one, so the destination dups the first instead of opening the
// file again, where each open would have an offset of its own and the two
// would overwrite each other. A kernel without kcmp (CONFIG_KCMP) leaves
// every file its own.
void note_shared_descriptions(pid_t pid, std::vector<OpenFile> &files)
{
	for (size_t i = 0; i < files.size(); i++)
		for (size_t j = 0; j < i; j++)
			if (files[j].dup_of < 0 && files[j].path == files[i].path &&
			    same_description(pid, files[j].fd, pid, files[i].fd)) {
				files[i].dup_of = files[j].fd;
				break;
			}
}

} // namespace

bool is_shared_memory(const Mapping &m)
{
	// The kernel's internal tmpfs (device 0:N) holds MAP_SHARED anonymous
	// memory and shared /dev/zero (both "/dev/zero (deleted)") and memfds.
	bool internal = m.kind == HETMIG_VMA_FILE && m.dev_major == 0 &&
			(m.flags & HETMIG_VMA_F_MAYSHARE) && m.path.ends_with(" (deleted)");
	return internal && !(m.flags & HETMIG_VMA_F_HUGETLB) &&
	       (m.path == "/dev/zero (deleted)" || m.path.starts_with("/memfd:"));
}

namespace {

Result<void> check_mapping(const Mapping &m)
{
	auto refuse = [&](const char *why) {
		return fail(EOPNOTSUPP, strf("mapping %lx-%lx %s: %s", (unsigned long)m.start, (unsigned long)m.end,
						    m.path.empty() ? m.name.c_str() : m.path.c_str(), why));
	};
	if (m.kind == HETMIG_VMA_SPECIAL)
		return m.name == "[vdso]" || m.name == "[vvar]" ? Result<void>{}
			: refuse("a special mapping other than vdso/vvar");
	if (m.flags & (HETMIG_VMA_F_HUGETLB | HETMIG_VMA_F_IO))
		return refuse("hugetlb and device memory cannot be carried");
	if (is_shared_memory(m))
		return {};  // capture_tree's
	if ((m.flags & HETMIG_VMA_F_MAYSHARE) && m.kind != HETMIG_VMA_FILE)
		return refuse("shared anonymous memory (shared with other processes) cannot be carried");
	// A shared file mapping, writable or not, is the file: what the
	// process wrote through it is in the file (the page cache), so it is
	// mapped again, not carried (collect_pages takes no page of it). A
	// private mapping of a deleted file or memfd: mapped from its ghost
	// again if an fd of the tree holds it (capture_ghosts decides).
	if (m.kind == HETMIG_VMA_FILE && m.path.ends_with(" (deleted)") &&
	    (m.flags & HETMIG_VMA_F_MAYSHARE))
		return refuse("the mapped file was deleted");
	return {};
}

// The pages of M that must be carried: for anonymous memory every page
// that is present or swapped; for a private file mapping only the pages
// that were written (private copies); the rest comes from the file.
Result<void> collect_pages(const Mapping &m, int pagemap_fd, uint64_t page,
			   std::vector<PageRun> &out)
{
	uint64_t npages = (m.end - m.start) / page;
	std::vector<uint64_t> entries(npages);
	if (auto r = pread_all(pagemap_fd, reinterpret_cast<uint8_t *>(entries.data()),
			       npages * 8, m.start / page * 8, "pagemap"); !r)
		return r;
	bool file = m.kind == HETMIG_VMA_FILE;
	for (uint64_t i = 0; i < npages;) {
		auto wanted = [&](uint64_t e) {
			if (file)
				return (pm_present(e) && !pm_file_or_shared(e)) || pm_swapped(e);
			return pm_present(e) || pm_swapped(e);
		};
		if (!wanted(entries[i])) {
			i++;
			continue;
		}
		uint64_t j = i;
		while (j < npages && wanted(entries[j]))
			j++;
		out.push_back({m.start + i * page, (j - i) * page, {}});
		i = j;
	}
	return {};
}

// On x86_64 a thread stopped inside a system call that the kernel would
// restart is stored as if about to make the call again, so a fresh task
// on any kernel resumes it without the source kernel's restart state.
void normalize_restart(ThreadState &t)
{
	if (t.arch != HETMIG_ARCH_X86_64)
		return;  // arm64 rewinds before the stop: nothing to do
	auto it = t.regsets.find(1 /* NT_PRSTATUS */);
	if (it == t.regsets.end() || it->second.size() < 19 * 8)
		return;
	auto *w = reinterpret_cast<int64_t *>(it->second.data());
	constexpr int kRax = 10, kOrigRax = 15, kRip = 16;
	int64_t rax = w[kRax];
	if (w[kOrigRax] < 0 || rax > -512 || rax < -516 || rax == -515)
		return;
	w[kRax] = w[kOrigRax];
	w[kRip] -= 2;  // the syscall instruction
	w[kOrigRax] = -1;
}

} // namespace

Result<MemoryReader> MemoryReader::open(pid_t pid)
{
	int fd = ::open(proc(pid, "mem").c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, strf("cannot read the memory of process %d", pid));
	return MemoryReader(fd, pid);
}

Result<std::vector<MemoryReader>> open_tree_memory(std::span<const pid_t> pids,
						   WriteOptions &opts)
{
	std::vector<MemoryReader> memory;
	for (pid_t p : pids) {
		auto m = MemoryReader::open(p);
		if (!m)
			return std::unexpected(m.error());
		memory.push_back(std::move(*m));
	}
	opts.reader = memory.empty() ? PageReader{} : memory[0].reader();
	opts.member_readers.clear();
	for (size_t i = 1; i < memory.size(); i++)
		opts.member_readers.push_back(memory[i].reader());
	return memory;
}

MemoryReader::~MemoryReader()
{
	if (fd_ >= 0)
		close(fd_);
}

// process_vm_readv is the faster way in (one copy, no /proc file
// position); pages it cannot read (PROT_NONE) come through /proc/PID/mem,
// which reads them as ptrace does.
PageReader MemoryReader::reader() const
{
	return [fd = fd_, pid = pid_](uint64_t addr, std::span<uint8_t> out) -> Result<void> {
		iovec local{out.data(), out.size()};
		iovec remote{reinterpret_cast<void *>(addr), out.size()};
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == ssize_t(out.size()))
			return {};
		return pread_all(fd, out.data(), out.size(), addr, "reading memory");
	};
}

Result<std::string> memory_digest(pid_t pid, uint64_t addr, uint64_t len)
{
	Fd mem(open(proc(pid, "mem").c_str(), O_RDONLY | O_CLOEXEC));
	if (mem.get() < 0)
		return fail(errno, "open " + proc(pid, "mem"));
	std::vector<uint8_t> bytes(len);
	if (auto r = pread_all(mem.get(), bytes.data(), len, addr, "reading the vdso"); !r)
		return std::unexpected(r.error());
	unsigned char hash[32];
	crypto_generichash(hash, sizeof(hash), bytes.data(), bytes.size(), nullptr, 0);
	std::string hex;
	for (unsigned char c : hash)
		hex += strf("%02x", c);
	return hex;
}

Result<void> capture_files(pid_t pid, Image &img, std::span<const pid_t> tree,
			   fds::TcpRepair *repair)
{
	std::error_code ec;
	for (const auto &entry : std::filesystem::directory_iterator(proc(pid, "fd"), ec)) {
		int fd = std::stoi(entry.path().filename().string());
		auto f = describe_fd(pid, fd, tree);
		if (!f) {
			// A descriptor an epoll of the process watches: say so,
			// since the epoll cannot go without it either.
			Error e = f.error();
			e.context += fds::epolls_watching(pid, fd);
			return std::unexpected(e);
		}
		img.files.push_back(std::move(*f));
	}
	if (ec)
		return fail(ec.value(), strf("cannot list the files of process %d", pid));
	std::sort(img.files.begin(), img.files.end(),
		  [](const OpenFile &a, const OpenFile &b) { return a.fd < b.fd; });
	note_shared_descriptions(pid, img.files);
	// Who each description signals (F_SETOWN): before the files in flight
	// join them, which are no fds of the process.
	for (auto &f : img.files) {
		if (f.dup_of >= 0 || f.std_stream || (f.flags & O_PATH))
			continue;	// O_PATH: no fcntl but F_GETFL and F_*FD
		auto owner = fds::capture_owner(pid, f.fd, tree);
		if (!owner)
			return std::unexpected(owner.error());
		f.owner = *owner;
	}
	// Before the pipes: a pipe end in flight only is one of them.
	fds::InFlight in_flight;
	if (auto r = fds::capture_in_flight(pid, img.files, in_flight, tree); !r)
		return r;
	if (auto r = fds::capture_pipes(pid, img.files, img.pipes, tree, in_flight.numbers()); !r)
		return r;
	if (auto r = fds::capture_fifos(pid, img.files, img.fifos, tree); !r)
		return r;
	// Before the unix sockets: TCP sockets are taken out of them.
	if (auto r = fds::capture_tcp(pid, img.files, repair); !r)
		return r;
	if (auto r = fds::capture_unix_sockets(pid, img.files, img.unix_pairs, img.unix_sockets,
					       tree); !r)
		return r;
	if (auto r = fds::attach_in_flight(in_flight, img.files, img.unix_pairs,
						   img.unix_sockets); !r)
		return r;
	// After the pipes and sockets: one leading out at fd 0-2 is left to
	// the receiver.
	if (auto r = fds::check_epoll_targets(img.files); !r)
		return r;
	// Last of the descriptors: on 6.1 the eventfd's mode is probed by a
	// read and a write, which an epoll of the process watching it sees
	// (restrictions.md).
	for (auto &f : img.files) {
		if (!f.eventfd)
			continue;
		if (f.dup_of >= 0) {
			for (const auto &original : img.files)
				if (original.fd == f.dup_of)
					f.eventfd = original.eventfd;
			continue;
		}
		auto counter = fds::capture_eventfd(pid, f.fd);
		if (!counter)
			return std::unexpected(counter.error());
		f.eventfd = *counter;
	}
	return {};
}

Result<Image> capture(GenlClient &client, pid_t pid, std::span<const pid_t> tree,
		      fds::TcpRepair *repair)
{
	Image img;
	img.arch = this_arch();
	img.page_size = uint32_t(sysconf(_SC_PAGESIZE));
	img.pid = uint32_t(pid);
	utsname uts;
	if (uname(&uts) == 0) {
		img.kernel_release = uts.release;
		img.hostname = uts.nodename;
	}

	auto threads = query_threads(client, pid);
	if (!threads)
		return std::unexpected(threads.error());
	img.threads = std::move(*threads);
	for (auto &t : img.threads)
		normalize_restart(t);
	auto mm = query_mm(client, pid);
	if (!mm)
		return std::unexpected(mm.error());
	img.mm = std::move(*mm);
	auto signals = query_signals(client, pid);
	if (!signals)
		return std::unexpected(signals.error());
	img.signals = std::move(*signals);
	auto maps = query_mappings(client, pid, false);
	if (!maps)
		return std::unexpected(maps.error());
	img.mappings = std::move(*maps);

	// What /proc knows: credentials, umask, working directory, name.
	if (auto r = capture_credentials(pid, img); !r)
		return std::unexpected(r.error());
	auto umask = status_field(proc(pid, "status"), "Umask");
	if (umask)
		img.umask = uint32_t(std::stoul(*umask, nullptr, 8));
	if (auto r = check_root(pid); !r)
		return std::unexpected(r.error());
	img.cwd = read_link(proc(pid, "cwd")).value_or("/");
	// A removed working directory is made again as a removed directory
	// (fds/ghost_files.h), once for the tree, with the fds of it.
	if (img.cwd.ends_with(" (deleted)"))
		img.cwd_ghost = fds::kGhostPending;
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		struct rlimit lim;
		if (prlimit(pid, static_cast<__rlimit_resource>(r), nullptr, &lim))
			return fail(errno, strf("cannot read the resource limits of process %d", pid));
		img.rlimits.push_back({lim.rlim_cur, lim.rlim_max});
	}
	img.oom_score_adj = read_oom_score_adj(std::to_string(pid));
	if (!img.oom_score_adj)
		return fail(ESRCH, strf("cannot read the oom_score_adj of process %d", pid));
	std::vector<uint32_t> tids;
	for (const auto &t : img.threads)
		tids.push_back(t.tid);
	auto timers = capture_timers(pid, tids);
	if (!timers)
		return std::unexpected(timers.error());
	img.timers = std::move(*timers);
	auto subreaper = child_subreaper_of(pid);
	if (!subreaper)
		return std::unexpected(subreaper.error());
	img.child_subreaper = *subreaper;
	auto caps = capture_capabilities(pid);
	if (!caps)
		return std::unexpected(caps.error());
	img.caps = *caps;
	auto pending = capture_pending_signals(pid, img.threads);
	if (!pending)
		return std::unexpected(pending.error());
	img.pending_signals = std::move(*pending);
	img.program.path = read_link(proc(pid, "exe")).value_or("");
	std::ifstream comm(proc(pid, "comm"));
	std::getline(comm, img.comm);

	// Resources the restore cannot rebuild are refused up front.
	if (auto r = capture_files(pid, img, tree, repair); !r)
		return std::unexpected(r.error());

	Fd pagemap(open(proc(pid, "pagemap").c_str(), O_RDONLY | O_CLOEXEC));
	if (pagemap.get() < 0)
		return fail(errno, strf("cannot read the memory of process %d", pid));
	for (const auto &m : img.mappings) {
		if (auto r = check_mapping(m); !r)
			return std::unexpected(r.error());
		if (m.name == "[vdso]") {
			img.vdso_size = m.end - m.start;
			auto digest = memory_digest(pid, m.start, m.end - m.start);
			if (!digest)
				return std::unexpected(digest.error());
			img.vdso_digest = *digest;
			continue;
		}
		if (m.name == "[vvar]") {
			img.vvar_size = m.end - m.start;
			continue;
		}
		if (is_shared_memory(m))
			continue;  // its pages: capture_tree, once for the tree
		if (m.kind == HETMIG_VMA_FILE && !m.path.ends_with(" (deleted)") &&
		    std::none_of(img.mapped_files.begin(), img.mapped_files.end(),
				 [&](const MappedFile &f) { return f.path == m.path; })) {
			struct stat st;
			if (stat(m.path.c_str(), &st))
				return fail(errno, "stat " + m.path);
			img.mapped_files.push_back({m.path, uint64_t(st.st_size), mtime_ns(st)});
		}
		if (auto r = collect_pages(m, pagemap.get(), img.page_size, img.pages); !r)
			return std::unexpected(r.error());
	}
	return img;
}

} // namespace hetmig
