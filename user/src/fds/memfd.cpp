// SPDX-License-Identifier: GPL-2.0
#include "fds/memfd.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "fds/ghost_files.h"

namespace hetmig::fds {

namespace {

constexpr const char *kDeleted = " (deleted)";

} // namespace

std::optional<std::string> memfd_name(const std::string &link)
{
	const std::string prefix = "/memfd:";
	if (!link.starts_with(prefix) || !link.ends_with(kDeleted))
		return std::nullopt;
	return link.substr(prefix.size(), link.size() - prefix.size() - std::strlen(kDeleted));
}

bool is_shared_anon(const std::string &link, const struct stat &st)
{
	// The kernel's internal tmpfs has device 0:N; the device /dev/zero
	// is a character device, and a file named so on a disk is neither.
	return link == "/dev/zero (deleted)" && S_ISREG(st.st_mode) && major(st.st_dev) == 0;
}

Result<void> check_memfd(int fd, const std::string &link, const std::string &fd_path)
{
	struct statfs fs;
	if (statfs(fd_path.c_str(), &fs))
		return fail(errno, strf("fd %d: statfs of %s", fd, link.c_str()));
	if (fs.f_type == HUGETLBFS_MAGIC)
		return fail(EOPNOTSUPP, strf("fd %d is %s, a memfd of huge pages (MFD_HUGETLB), "
					     "which cannot be carried", fd, link.c_str()));
	return {};
}

Result<void> capture_seals(int fd, GhostFile &g)
{
	// A memfd made without MFD_ALLOW_SEALING reads F_SEAL_SEAL, and so
	// is one made with it and sealed so: the seals alone say it.
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return fail(errno, "F_GET_SEALS of memfd " + g.path);
	g.seals = uint32_t(seals);
	return {};
}

uint64_t shared_dev(const struct stat &st)
{
	return (uint64_t(major(st.st_dev)) << 32) | minor(st.st_dev);
}

bool link_ghost_to_shared(Image &root, uint64_t dev, uint64_t inode, int32_t index)
{
	for (auto &g : root.ghosts)
		if ((g.kind == GhostFile::kMemfd || g.kind == GhostFile::kSharedAnon) &&
		    g.dev == dev && g.inode == inode) {
			g.shared = index;
			return true;
		}
	return false;
}

bool shared_needs_sealing(const Image &root, size_t k)
{
	// F_SEAL_SEAL alone is what a memfd made without MFD_ALLOW_SEALING
	// (and anonymous shared memory) reads, as the tree's are made.
	for (const auto &g : root.ghosts)
		if (g.shared == int32_t(k) && g.seals != F_SEAL_SEAL)
			return true;
	return false;
}

Result<UniqueFd> make_memfd(const GhostFile &g, std::span<const int> shm)
{
	UniqueFd fd;
	if (g.shared >= 0) {
		// The object its mappings map: one object, as on the source.
		if (size_t(g.shared) >= shm.size())
			return fail(EINVAL, "a memfd of shared memory the image lacks");
		fd = UniqueFd(fcntl(shm[size_t(g.shared)], F_DUPFD_CLOEXEC, 0));
	} else {
		// An anonymous one gets the name the tree's shared memory has.
		const std::string name = g.kind == GhostFile::kMemfd ? g.path : "hetmig-shared-anon";
		fd = UniqueFd(memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
	}
	if (fd.get() < 0)
		return fail(errno, "making memfd " + g.path);
	// Bytes and size first, attributes (F_SEAL_EXEC forbids a later
	// chmod), seals last: F_SEAL_WRITE forbids the writes before it.
	if (auto r = write_extents(fd.get(), g); !r)
		return std::unexpected(r.error());
	if (auto r = set_attributes(fd.get(), g); !r)
		return std::unexpected(r.error());
	int now = fcntl(fd.get(), F_GET_SEALS);
	if (now < 0)
		return fail(errno, "F_GET_SEALS of memfd " + g.path);
	if (uint32_t(now) != g.seals &&
	    fcntl(fd.get(), F_ADD_SEALS, int(g.seals & ~uint32_t(now))) < 0)
		return fail(errno, strf("sealing memfd %s (seals 0x%x)", g.path.c_str(), g.seals));
	return fd;
}

} // namespace hetmig::fds
