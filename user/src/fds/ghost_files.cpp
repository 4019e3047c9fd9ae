// SPDX-License-Identifier: GPL-2.0
#include "fds/ghost_files.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/hetmig.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "fds/fifos.h"
#include "fds/memfd.h"
#include "fds/pipes.h"

namespace hetmig {

uint64_t GhostFile::data_bytes() const
{
	uint64_t n = 0;
	for (const auto &e : extents)
		n += e.data.size();
	return n;
}

namespace fds {

namespace {

constexpr const char *kDeleted = " (deleted)";
// Bytes read at once from a ghost's data.
constexpr size_t kReadChunk = size_t(1) << 20;

uint64_t g_limit = kGhostLimitDefault;

std::string fd_link(pid_t pid, int fd)
{
	return "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
}

std::string without_deleted(const std::string &link)
{
	return link.substr(0, link.size() - std::strlen(kDeleted));
}

int32_t kind_of(const std::string &link, const struct stat &st)
{
	if (S_ISDIR(st.st_mode))
		return GhostFile::kDirectory;
	if (S_ISFIFO(st.st_mode))
		return GhostFile::kFifo;
	if (memfd_name(link))
		return GhostFile::kMemfd;
	if (is_shared_anon(link, st))
		return GhostFile::kSharedAnon;
	return GhostFile::kFile;
}

std::string mib(uint64_t bytes)
{
	return strf("%.1f MiB", double(bytes) / double(1 << 20));
}

std::unexpected<Error> over_limit(int fd, const std::string &link, uint64_t bytes)
{
	return fail(EFBIG, strf("fd %d is %s, a file no name leads to any more, whose "
				"%s of data would travel in the image: more than the %s "
				"hetmig carries of one (hetmig dump --ghost-limit MIB)", fd,
				link.c_str(), mib(bytes).c_str(), mib(g_limit).c_str()));
}

// A deleted FIFO's capacity and bytes, read without taking them from a
// non-blocking read-only open of our own (it never waits for a writer;
// the buffer is the inode's). Refused when a process that is not moved
// (none of TREE) holds it too: the two would share its buffer.
Result<void> capture_fifo_bytes(pid_t pid, int fd, const OpenFile &f,
				std::span<const pid_t> tree, GhostFile &g)
{
	if (pid_t other = held_elsewhere(pid, f.path, tree, false))
		return fail(EOPNOTSUPP, strf("fd %d is the deleted FIFO %s, which process %d holds "
					     "too and is not moved: only FIFOs whose every holder "
					     "moves can be carried", fd, f.path.c_str(), other));
	auto state = capture_fifo(pid, fd, f.path);
	if (!state)
		return std::unexpected(state.error());
	g.size = state->capacity;
	if (!state->data.empty())
		g.extents.push_back({0, std::move(state->data)});
	return {};
}

// The state and bytes of the ghost PID holds at FD; TREE: the processes
// that move with it.
Result<GhostFile> capture_one(pid_t pid, int fd, const OpenFile &f, const struct stat &st,
			      std::span<const pid_t> tree)
{
	GhostFile g;
	g.kind = kind_of(f.path, st);
	g.path = g.kind == GhostFile::kMemfd	  ? *memfd_name(f.path)
		 : g.kind == GhostFile::kSharedAnon ? std::string()
						    : without_deleted(f.path);
	g.mode = st.st_mode & 07777;
	g.uid = st.st_uid;
	g.gid = st.st_gid;
	g.size = uint64_t(st.st_size);
	g.mtime_ns = mtime_ns(st);
	g.dev = shared_dev(st);
	g.inode = st.st_ino;
	if (g.kind == GhostFile::kDirectory)
		return g;
	if (g.kind == GhostFile::kFifo) {
		if (auto r = capture_fifo_bytes(pid, fd, f, tree, g); !r)
			return std::unexpected(r.error());
		return g;
	}
	// A description of our own, for reading: the process's may be
	// write-only, and SEEK_DATA would move its offset. Through its copy
	// only where ours is refused (a file the process made unreadable to
	// its owner, dumped by that owner), its offset put back after.
	UniqueFd own(open(fd_link(pid, fd).c_str(), O_RDONLY | O_CLOEXEC));
	std::optional<off_t> offset;
	if (own.get() < 0) {
		int err = errno;
		if ((f.flags & O_ACCMODE) == O_WRONLY || (f.flags & O_PATH))
			return fail(err, strf("fd %d: reading %s", fd, f.path.c_str()));
		auto copy = copy_of(pid, fd);
		if (!copy)
			return std::unexpected(copy.error());
		own = std::move(*copy);
		offset = lseek(own.get(), 0, SEEK_CUR);
	}
	auto r = read_extents(own.get(), g, g_limit, strf("fd %d is %s", fd, f.path.c_str()));
	if (offset && *offset >= 0)
		lseek(own.get(), *offset, SEEK_SET);
	if (!r)
		return std::unexpected(r.error());
	if (g.kind == GhostFile::kMemfd || g.kind == GhostFile::kSharedAnon)
		if (auto s = capture_seals(own.get(), g); !s)
			return std::unexpected(s.error());
	return g;
}

// The directories of PATH's parent that are missing, made (0700), in
// order: a deleted file or directory whose parent went too (zdtm's
// rmdir_open removes both) is made at its name all the same.
Result<std::vector<std::string>> make_parents(const std::string &path)
{
	std::vector<std::string> made;
	for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
		std::string dir = path.substr(0, at);
		struct stat st;
		if (!stat(dir.c_str(), &st))
			continue;
		if (errno != ENOENT || mkdir(dir.c_str(), 0700))
			return fail(errno, "making directory " + dir);
		made.push_back(dir);
	}
	return made;
}

// Removes what make_parents made, when it goes.
struct Parents {
	std::vector<std::string> made;
	~Parents()
	{
		for (auto it = made.rbegin(); it != made.rend(); ++it)
			rmdir(it->c_str());
	}
};

// A deleted regular file made again: at its name when that is free, else
// at NAME.hetmig-XXXXXX beside it (then /proc shows that name, deleted),
// and removed at once, as its holder UID, GID would (only where it may
// make a file, and owned by it while it has a name); then written and
// given its attributes (the owner, which root may give, included).
Result<UniqueFd> make_file(const GhostFile &g, uid_t uid, gid_t gid)
{
	UniqueFd fd;
	{
		CreatingAs holder(uid, gid);
		auto parents = make_parents(g.path);
		if (!parents)
			return std::unexpected(parents.error());
		Parents made{std::move(*parents)};
		std::string name = g.path;
		fd = UniqueFd(open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
		if (fd.get() < 0 && errno == EEXIST) {
			name = g.path + ".hetmig-XXXXXX";
			fd = UniqueFd(mkostemp(name.data(), O_CLOEXEC));
		}
		if (fd.get() < 0)
			return fail(errno, "making " + name);
		if (unlink(name.c_str()))
			return fail(errno, "removing " + name);
	}
	if (auto r = write_extents(fd.get(), g); !r)
		return std::unexpected(r.error());
	if (auto r = set_attributes(fd.get(), g); !r)
		return std::unexpected(r.error());
	return fd;
}

// A deleted FIFO made again the same way, held open for reading and
// writing (which never waits, and lets every fd of it open without
// waiting for the other side), with its capacity and bytes.
Result<UniqueFd> make_fifo(const GhostFile &g, uid_t uid, gid_t gid)
{
	UniqueFd fd;
	{
		CreatingAs holder(uid, gid);
		auto parents = make_parents(g.path);
		if (!parents)
			return std::unexpected(parents.error());
		Parents made{std::move(*parents)};
		std::string name = g.path;
		if (mkfifo(name.c_str(), 0600)) {
			if (errno != EEXIST)
				return fail(errno, "making " + name);
			// mkfifo has no mkstemp: a temporary directory's name, free.
			name = g.path + ".hetmig-XXXXXX";
			if (!mkdtemp(name.data()) || rmdir(name.c_str()) ||
			    mkfifo(name.c_str(), 0600))
				return fail(errno, "making " + name);
		}
		fd = UniqueFd(open(name.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
		int err = errno;
		if (unlink(name.c_str()) && fd.get() >= 0)
			return fail(errno, "removing " + name);
		if (fd.get() < 0)
			return fail(err, "opening " + name);
	}
	if (g.size && fcntl(fd.get(), F_GETPIPE_SZ) < int(g.size) &&
	    fcntl(fd.get(), F_SETPIPE_SZ, int(g.size)) < 0)
		return fail(errno, strf("giving it its capacity of %llu bytes",
					(unsigned long long)g.size));
	for (const auto &e : g.extents)
		for (size_t done = 0; done < e.data.size();) {
			ssize_t n = write(fd.get(), e.data.data() + done, e.data.size() - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return fail(n < 0 ? errno : EIO, "writing its bytes");
			done += size_t(n);
		}
	if (auto r = set_attributes(fd.get(), g); !r)
		return std::unexpected(r.error());
	return fd;
}

// A deleted directory made again, opened and removed, the same way.
Result<UniqueFd> make_directory(const GhostFile &g, uid_t uid, gid_t gid)
{
	UniqueFd fd;
	{
		CreatingAs holder(uid, gid);
		auto parents = make_parents(g.path);
		if (!parents)
			return std::unexpected(parents.error());
		Parents made{std::move(*parents)};
		std::string name = g.path;
		if (mkdir(name.c_str(), 0700)) {
			if (errno != EEXIST)
				return fail(errno, "making directory " + name);
			name = g.path + ".hetmig-XXXXXX";
			if (!mkdtemp(name.data()))
				return fail(errno, "making directory " + name);
		}
		fd = UniqueFd(open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		int err = errno;
		if (rmdir(name.c_str()) && fd.get() >= 0)
			return fail(errno, "removing directory " + name);
		if (fd.get() < 0)
			return fail(err, "opening directory " + name);
	}
	if (auto r = set_attributes(fd.get(), g); !r)
		return std::unexpected(r.error());
	return fd;
}

// The first process of ROOT's tree that holds ghost K (an fd or a
// private mapping of it).
const Image &holder_of(const Image &root, size_t k)
{
	std::vector<const Image *> procs = {&root};
	for (const auto &m : root.members)
		procs.push_back(&m);
	for (const Image *img : procs) {
		for (const auto &f : img->files)
			if (f.ghost == int32_t(k))
				return *img;
		for (const auto &m : img->mappings)
			if (m.ghost == int32_t(k))
				return *img;
	}
	for (const auto &f : root.tree_files)
		if (f.ghost == int32_t(k))
			return root;
	for (const Image *img : procs)
		if (img->cwd_ghost == int32_t(k))
			return *img;
	return root;
}

} // namespace

void set_ghost_limit(uint64_t bytes)
{
	g_limit = bytes;
}

uint64_t ghost_limit()
{
	return g_limit;
}

bool is_ghost(const std::string &link, const struct stat &st)
{
	// SysV shared memory ("/SYSV00000000 (deleted)") is no file the
	// process made, and is refused as it was.
	return link.starts_with("/") && link.ends_with(kDeleted) && !link.starts_with("/SYSV") &&
	       (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISFIFO(st.st_mode));
}

Result<OpenFile> describe_ghost(pid_t pid, OpenFile f, const struct stat &st)
{
	int32_t kind = kind_of(f.path, st);
	if (kind == GhostFile::kMemfd || kind == GhostFile::kSharedAnon)
		if (auto r = check_memfd(f.fd, f.path, fd_link(pid, f.fd)); !r)
			return std::unexpected(r.error());
	if ((kind == GhostFile::kFile || kind == GhostFile::kFifo) && st.st_nlink > 0)
		return fail(EOPNOTSUPP, strf("fd %d is %s, whose name was removed while the file "
					     "has %lu other name(s) (hard links), which hetmig "
					     "cannot find: a copy made on the destination would not "
					     "be the file those names lead to", f.fd, f.path.c_str(),
					     (unsigned long)st.st_nlink));
	// What it could carry at most, before any byte is read: a file
	// allocates no more than its blocks, a sparse one less than its size.
	uint64_t bound = std::min<uint64_t>(uint64_t(st.st_size), uint64_t(st.st_blocks) * 512);
	if (kind != GhostFile::kDirectory && bound > g_limit)
		return over_limit(f.fd, f.path, bound);
	f.size = uint64_t(st.st_size);
	f.mtime_ns = mtime_ns(st);
	if (kind == GhostFile::kDirectory) {
		f.directory = true;
		f.inode = st.st_ino;
	}
	f.ghost = kGhostPending;
	return f;
}

Result<void> capture_ghosts(Image &root)
{
	std::vector<Image *> procs = {&root};
	for (auto &m : root.members)
		procs.push_back(&m);
	std::map<std::pair<uint64_t, uint64_t>, int32_t> index;	// device, inode
	uint64_t total = 0;
	std::vector<pid_t> tree;
	for (const Image *img : procs)
		tree.push_back(pid_t(img->pid));
	for (Image *img : procs)
		for (auto &f : img->files) {
			if (f.ghost != kGhostPending)
				continue;
			pid_t pid = pid_t(img->pid);
			struct stat st;
			if (stat(fd_link(pid, f.fd).c_str(), &st))
				return fail(errno, strf("fd %d of process %d (%s)", f.fd, pid,
							f.path.c_str()));
			auto [it, fresh] = index.try_emplace({uint64_t(st.st_dev), uint64_t(st.st_ino)},
							     int32_t(root.ghosts.size()));
			f.ghost = it->second;
			if (!fresh)
				continue;
			auto g = capture_one(pid, f.fd, f, st, tree);
			if (!g) {
				Error e = g.error();
				if (!root.members.empty())
					e.context = strf("process %d: ", pid) + e.context;
				return std::unexpected(e);
			}
			total += g->data_bytes();
			if (total > kGhostTotalMax)
				return fail(EFBIG, strf("the deleted files and memfds of the process "
							"(tree) hold more than %s of data, which "
							"an image cannot carry (fd %d of process "
							"%d, %s, is the last)",
							mib(kGhostTotalMax).c_str(), f.fd, pid,
							f.path.c_str()));
			root.ghosts.push_back(std::move(*g));
		}
	// Removed working directories, which fds of the tree may hold too.
	for (Image *img : procs) {
		if (img->cwd_ghost != kGhostPending)
			continue;
		pid_t pid = pid_t(img->pid);
		std::string cwd = "/proc/" + std::to_string(pid) + "/cwd";
		struct stat st;
		if (stat(cwd.c_str(), &st))
			return fail(errno, strf("process %d's working directory %s", pid,
						img->cwd.c_str()));
		if (!S_ISDIR(st.st_mode))
			return fail(ENOTDIR, strf("process %d's working directory %s", pid,
						  img->cwd.c_str()));
		auto [it, fresh] = index.try_emplace({uint64_t(st.st_dev), uint64_t(st.st_ino)},
						     int32_t(root.ghosts.size()));
		img->cwd_ghost = it->second;
		if (!fresh)
			continue;
		OpenFile dir;
		dir.path = img->cwd;
		auto g = capture_one(pid, -1, dir, st, tree);
		if (!g)
			return std::unexpected(g.error());
		root.ghosts.push_back(std::move(*g));
	}
	// Private mappings of them: mapped from the file made again, their
	// written pages carried as any private file mapping's.
	for (Image *img : procs)
		for (auto &m : img->mappings) {
			if (m.kind != HETMIG_VMA_FILE || !m.path.ends_with(kDeleted) ||
			    (m.flags & HETMIG_VMA_F_MAYSHARE))
				continue;
			uint64_t dev = (uint64_t(m.dev_major) << 32) | m.dev_minor;
			for (size_t k = 0; k < root.ghosts.size(); k++)
				if (root.ghosts[k].dev == dev && root.ghosts[k].inode == m.inode &&
				    root.ghosts[k].kind != GhostFile::kDirectory)
					m.ghost = int32_t(k);
			if (m.ghost < 0)
				return fail(EOPNOTSUPP, strf("process %u: mapping %lx-%lx %s: a "
							     "private mapping of a file that was "
							     "deleted, which no fd of the tree holds: "
							     "it cannot be carried", img->pid,
							     (unsigned long)m.start,
							     (unsigned long)m.end, m.path.c_str()));
		}
	return {};
}

std::optional<std::string> ghosts_problem(const Image &root)
{
	uint64_t total = 0;
	std::vector<int32_t> linked;
	for (size_t k = 0; k < root.ghosts.size(); k++) {
		const GhostFile &g = root.ghosts[k];
		bool named = g.kind == GhostFile::kFile || g.kind == GhostFile::kDirectory ||
			     g.kind == GhostFile::kFifo;
		bool memory = g.kind == GhostFile::kMemfd || g.kind == GhostFile::kSharedAnon;
		if ((!named && !memory) || (named && (g.path.size() < 2 || g.path[0] != '/')) ||
		    g.mode > 07777 || g.path.size() > PATH_MAX)
			return strf("deleted file %zu of an unknown kind or without a path", k);
		if ((g.kind == GhostFile::kDirectory && (!g.extents.empty() || g.size > (1u << 30))) ||
		    (!memory && (g.seals || g.shared != -1)))
			return strf("deleted file %zu: a directory with bytes, or seals or shared "
				    "memory on a file", k);
		if (g.shared < -1 || (g.shared >= 0 && size_t(g.shared) >= root.shared.size()) ||
		    (g.shared >= 0 && std::count(linked.begin(), linked.end(), g.shared)))
			return strf("memfd %zu: shared memory the image lacks, or another's", k);
		linked.push_back(g.shared);
		if (g.size > (uint64_t(1) << 62) ||
		    (g.kind == GhostFile::kFifo && g.size > (uint64_t(1) << 31)))
			return strf("deleted file %zu: size out of range", k);
		uint64_t end = 0;
		for (const auto &e : g.extents) {
			if (e.data.empty() || e.offset < end || e.offset > g.size ||
			    e.data.size() > g.size - e.offset)
				return strf("deleted file %zu: its bytes out of order or beyond its "
					    "size", k);
			end = e.offset + e.data.size();
		}
		total += g.data_bytes();
	}
	if (total > kGhostTotalMax)
		return std::string("deleted files holding more than an image may carry");
	std::vector<const Image *> procs = {&root};
	for (const auto &m : root.members)
		procs.push_back(&m);
	for (const Image *img : procs)
		for (const auto &m : img->mappings)
			if (m.ghost != -1 &&
			    (m.ghost < 0 || size_t(m.ghost) >= root.ghosts.size() || m.shared >= 0 ||
			     m.kind != HETMIG_VMA_FILE || (m.flags & HETMIG_VMA_F_MAYSHARE) ||
			     root.ghosts[size_t(m.ghost)].kind == GhostFile::kDirectory))
				return strf("mapping 0x%lx of process %u: a private mapping of a "
					    "deleted file the image lacks", (unsigned long)m.start,
					    img->pid);
	for (const Image *img : procs)
		if (img->cwd_ghost != -1 &&
		    (img->cwd_ghost < 0 || size_t(img->cwd_ghost) >= root.ghosts.size() ||
		     root.ghosts[size_t(img->cwd_ghost)].kind != GhostFile::kDirectory))
			return strf("process %u: a removed working directory the image lacks",
				    img->pid);
	std::vector<const std::vector<OpenFile> *> lists = {&root.files, &root.tree_files};
	for (const auto &m : root.members)
		lists.push_back(&m.files);
	for (const auto *files : lists)
		for (const auto &f : *files) {
			if (f.ghost == -1)
				continue;
			if (f.ghost < 0 || size_t(f.ghost) >= root.ghosts.size() || f.made_anew() ||
			    f.std_stream || f.rdev)
				return strf("fd %d: a deleted file the image lacks", f.fd);
			bool dir = root.ghosts[size_t(f.ghost)].kind == GhostFile::kDirectory;
			if (dir != f.directory)
				return strf("fd %d: a deleted directory that is not one, or the "
					    "reverse", f.fd);
		}
	return std::nullopt;
}

Result<std::vector<UniqueFd>> make_ghosts(const Image &root, std::span<const int> shm,
					  const CredentialsOf &creds_of)
{
	std::vector<UniqueFd> made;
	for (size_t k = 0; k < root.ghosts.size(); k++) {
		const GhostFile &g = root.ghosts[k];
		auto [uid, gid] = creds_of(holder_of(root, k));
		auto fd = g.kind == GhostFile::kFile	  ? make_file(g, uid, gid)
			  : g.kind == GhostFile::kDirectory ? make_directory(g, uid, gid)
			  : g.kind == GhostFile::kFifo	  ? make_fifo(g, uid, gid)
							    : make_memfd(g, shm);
		if (!fd) {
			Error e = fd.error();
			const char *what = g.kind == GhostFile::kFile	    ? "deleted file "
					   : g.kind == GhostFile::kDirectory ? "deleted directory "
					   : g.kind == GhostFile::kFifo	    ? "deleted FIFO "
					   : g.kind == GhostFile::kMemfd     ? "memfd "
									     : "shared memory ";
			e.context = what + g.path + ": " + e.context;
			return std::unexpected(e);
		}
		made.push_back(std::move(*fd));
	}
	return made;
}

Result<int> reopen_ghost(const OpenFile &f, int ghost_fd)
{
	// Creation flags are spent; O_TMPFILE's (an O_TMPFILE file is one of
	// these) would ask for a new file in a directory.
	int flags = (reopen_flags(f.flags) & ~__O_TMPFILE) | O_CLOEXEC;
	if (!f.directory)
		flags &= ~O_DIRECTORY;
	std::string self = "/proc/self/fd/" + std::to_string(ghost_fd);
	UniqueFd fd(open(self.c_str(), flags));
	if (fd.get() < 0)
		return fail(errno, "opening " + f.path + " again");
	// An O_PATH descriptor has no position, nor has a FIFO.
	struct stat st;
	bool fifo = !fstat(fd.get(), &st) && S_ISFIFO(st.st_mode);
	if (!(f.flags & O_PATH) && !fifo && lseek(fd.get(), off_t(f.offset), SEEK_SET) < 0)
		return fail(errno, "seeking in " + f.path);
	return fd.release();
}

Result<void> read_extents(int fd, GhostFile &g, uint64_t limit, const std::string &what)
{
	uint64_t carried = 0;
	for (uint64_t off = 0; off < g.size;) {
		off_t data = lseek(fd, off_t(off), SEEK_DATA);
		off_t hole = -1;
		if (data < 0 && errno == ENXIO)
			break;	// holes up to the end
		if (data < 0 && errno != EINVAL)
			return fail(errno, what + ": SEEK_DATA");
		if (data < 0)
			data = off_t(off);	// no SEEK_DATA here: all of it is data
		else
			hole = lseek(fd, data, SEEK_HOLE);
		uint64_t end = hole < 0 ? g.size : std::min(uint64_t(hole), g.size);
		if (uint64_t(data) >= end)
			break;
		carried += end - uint64_t(data);
		if (carried > limit)
			return fail(EFBIG, strf("%s, a file no name leads to any more, with more "
						"than %s of data: more than hetmig carries of one "
						"(hetmig dump --ghost-limit MIB)", what.c_str(),
						mib(limit).c_str()));
		GhostExtent e{uint64_t(data), std::vector<uint8_t>(end - uint64_t(data))};
		for (size_t done = 0; done < e.data.size();) {
			size_t want = std::min(kReadChunk, e.data.size() - done);
			ssize_t n = pread(fd, e.data.data() + done, want, off_t(e.offset + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return fail(errno, what + ": reading");
			if (n == 0) {
				e.data.resize(done);	// it shrank meanwhile: not frozen
				break;
			}
			done += size_t(n);
		}
		if (!e.data.empty())
			g.extents.push_back(std::move(e));
		off = end;
	}
	return {};
}

Result<void> write_extents(int fd, const GhostFile &g)
{
	for (const auto &e : g.extents)
		if (auto r = pwrite_all(fd, e.data, e.offset, "writing its bytes"); !r)
			return r;
	if (ftruncate(fd, off_t(g.size)))
		return fail(errno, "sizing it");
	return {};
}

Result<void> set_attributes(int fd, const GhostFile &g)
{
	// The owner first: chown clears set-user-ID bits the mode then sets.
	if (fchown(fd, g.uid, g.gid) && geteuid() == 0)
		return fail(errno, strf("giving it to uid %u gid %u", g.uid, g.gid));
	if (fchmod(fd, mode_t(g.mode)))
		return fail(errno, strf("setting its mode %o", g.mode));
	const struct timespec times[2] = {
		{0, UTIME_OMIT}, {time_t(g.mtime_ns / 1000000000), long(g.mtime_ns % 1000000000)}};
	if (futimens(fd, times))
		return fail(errno, "setting its mtime");
	return {};
}

} // namespace fds

} // namespace hetmig
