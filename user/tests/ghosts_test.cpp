// SPDX-License-Identifier: GPL-2.0
// Deleted files, removed directories and memfds held as fds
// (fds/ghost_files.h, fds/memfd.h): their fields round-trip through the
// image (format 7), a damaged or inconsistent ghost is refused, their
// bytes are read with their holes left out and made again sparse, and
// the files made again are where, what and as deleted as they were.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <csignal>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <linux/hetmig.h>

#include "capture.h"
#include "fds/ghost_files.h"
#include "fds/memfd.h"
#include "image.h"
#include "image_bytes.h"

namespace hetmig {
namespace {

using testing::decode;
using testing::encode;
using testing::version_of;

Image with_ghosts()
{
	Image img = testing::one_process(1234);
	GhostFile log;
	log.kind = GhostFile::kFile;
	log.path = "/var/log/app.log";
	log.mode = 0640;
	log.uid = 1000;
	log.gid = 100;
	log.size = 1 << 20;
	log.mtime_ns = 1700000000123456789;
	log.extents = {{0, {'G', 'H', 'O', 'S', 'T', '-', 'D', 'A', 'T', 'A'}},
		       {65536, std::vector<uint8_t>(4096, 0x5a)}};
	log.dev = 0x800000001, log.inode = 77;
	GhostFile dir;
	dir.kind = GhostFile::kDirectory;
	dir.path = "/srv/gone";
	dir.mode = 0750;
	GhostFile memfd;
	memfd.kind = GhostFile::kMemfd;
	memfd.path = "jit";
	memfd.size = 8192;
	memfd.seals = F_SEAL_GROW | F_SEAL_SHRINK;
	memfd.shared = 0;
	memfd.extents = {{4096, std::vector<uint8_t>(4096, 3)}};
	img.ghosts = {log, dir, memfd};
	img.shared = {{1, 88, 8192, "jit"}};
	OpenFile a{3, "/var/log/app.log (deleted)", O_RDWR, 42, log.size, log.mtime_ns};
	a.ghost = 0;
	OpenFile b = a;
	b.fd = 4, b.flags = O_RDONLY, b.offset = 7;
	OpenFile d{5, "/srv/gone (deleted)", O_RDONLY | O_DIRECTORY};
	d.directory = true, d.ghost = 1;
	OpenFile m{6, "/memfd:jit (deleted)", O_RDWR, 123};
	m.ghost = 2;
	img.files = {a, b, d, m};
	return img;
}

// Ghosts made as the test's own user.
std::pair<uid_t, gid_t> ours(const Image &)
{
	return {getuid(), getgid()};
}

bool corrupted(const Image &img, const std::string &what = "corrupted image")
{
	auto r = decode(encode(img, false));
	if (r)
		return false;
	EXPECT_NE(r.error().describe().find(what), std::string::npos) << r.error().describe();
	return r.error().describe().find(what) != std::string::npos;
}

TEST(Ghosts, RoundTripInFormat7)
{
	Image img = with_ghosts();
	auto bytes = encode(img, false);
	EXPECT_EQ(version_of(bytes), kImageFormatGhosts);
	EXPECT_EQ(kImageFormatGhosts, 7u);
	auto back = decode(bytes);
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->ghosts.size(), 3u);
	const GhostFile &g = back->ghosts[0];
	EXPECT_EQ(g.kind, GhostFile::kFile);
	EXPECT_EQ(g.path, "/var/log/app.log");
	EXPECT_EQ(g.mode, 0640u);
	EXPECT_EQ(g.uid, 1000u);
	EXPECT_EQ(g.gid, 100u);
	EXPECT_EQ(g.size, uint64_t(1) << 20);
	EXPECT_EQ(g.mtime_ns, 1700000000123456789);
	ASSERT_EQ(g.extents.size(), 2u);
	EXPECT_EQ(g.extents[1].offset, 65536u);
	EXPECT_EQ(g.extents[1].data, img.ghosts[0].extents[1].data);
	EXPECT_EQ(g.data_bytes(), 10u + 4096u);
	EXPECT_EQ(g.inode, 77u);
	EXPECT_EQ(back->ghosts[1].kind, GhostFile::kDirectory);
	EXPECT_EQ(back->ghosts[2].seals, uint32_t(F_SEAL_GROW | F_SEAL_SHRINK));
	EXPECT_EQ(back->ghosts[2].shared, 0);
	EXPECT_EQ(back->files[1].ghost, 0);
	EXPECT_EQ(back->files[1].offset, 7u);
	EXPECT_EQ(back->files[2].ghost, 1);
	EXPECT_EQ(back->files[3].ghost, 2);

	// Without ghosts an image stays in the format older hetmigs read.
	Image plain = testing::one_process(1234);
	EXPECT_LT(version_of(encode(plain, false)), 6u);
	auto older = decode(encode(plain, false));
	ASSERT_TRUE(older.has_value());
	EXPECT_TRUE(older->ghosts.empty());
}

TEST(Ghosts, DamagedBytesAreRefused)
{
	auto bytes = encode(with_ghosts(), false);
	const char *mark = "GHOST-DATA";
	auto at = std::search(bytes.begin(), bytes.end(), mark, mark + std::strlen(mark));
	ASSERT_NE(at, bytes.end());
	at[3] ^= 0x20;
	auto r = decode(bytes);
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("metadata checksum mismatch"), std::string::npos)
		<< r.error().describe();
	// A format 6 header on an image with ghosts: a writer's mistake.
	auto relabelled = testing::relabelled(encode(with_ghosts(), false), 6);
	auto r5 = decode(relabelled);
	ASSERT_FALSE(r5.has_value());
	EXPECT_NE(r5.error().describe().find("deleted file or memfd in a format 1 to 6"),
		  std::string::npos) << r5.error().describe();
}

TEST(Ghosts, InconsistentGhostsAreRefused)
{
	Image beyond = with_ghosts();
	beyond.ghosts[0].extents[1].offset = (1 << 20) - 100;
	EXPECT_TRUE(corrupted(beyond, "beyond its size"));
	Image overlapping = with_ghosts();
	overlapping.ghosts[0].extents[1].offset = 5;
	EXPECT_TRUE(corrupted(overlapping, "out of order"));
	Image lacking = with_ghosts();
	lacking.files[0].ghost = 3;
	EXPECT_TRUE(corrupted(lacking, "a deleted file the image lacks"));
	Image pending = with_ghosts();
	pending.files[0].ghost = fds::kGhostPending;
	EXPECT_TRUE(corrupted(pending, "a deleted file the image lacks"));
	Image no_shared = with_ghosts();
	no_shared.ghosts[2].shared = 1;
	EXPECT_TRUE(corrupted(no_shared, "shared memory the image lacks"));
	Image dir_bytes = with_ghosts();
	dir_bytes.ghosts[1].extents = {{0, {1}}};
	EXPECT_TRUE(corrupted(dir_bytes, "a directory with bytes"));
	Image not_dir = with_ghosts();
	not_dir.files[2].directory = false;
	EXPECT_TRUE(corrupted(not_dir, "a deleted directory that is not one"));
	Image relative = with_ghosts();
	relative.ghosts[0].path = "app.log";
	EXPECT_TRUE(corrupted(relative, "without a path"));
	// A private mapping of a ghost: of one the image has, not a directory.
	Image mapped = with_ghosts();
	Mapping map;
	map.start = 0x7f0000000000;
	map.end = 0x7f0000002000;
	map.kind = HETMIG_VMA_FILE;
	map.path = "/var/log/app.log (deleted)";
	map.ghost = 0;
	mapped.mappings.push_back(map);
	auto back = decode(encode(mapped, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	EXPECT_EQ(back->mappings.back().ghost, 0);
	Image mapped_dir = mapped;
	mapped_dir.mappings.back().ghost = 1;
	EXPECT_TRUE(corrupted(mapped_dir, "a private mapping of a deleted file the image lacks"));
	Image mapped_lacking = mapped;
	mapped_lacking.mappings.back().ghost = 9;
	EXPECT_TRUE(corrupted(mapped_lacking, "a private mapping of a deleted file the image lacks"));
	Image mapped_shared = mapped;
	mapped_shared.mappings.back().flags = HETMIG_VMA_F_MAYSHARE;
	EXPECT_TRUE(corrupted(mapped_shared, "a private mapping of a deleted file the image lacks"));
	Image in_member = with_ghosts();
	in_member.members.push_back(testing::one_process(4321));
	in_member.members[0].ghosts = {in_member.ghosts[1]};
	EXPECT_TRUE(corrupted(in_member, "has members of its own"));
}

class GhostFiles : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/hetmig-ghosts-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
	}
	void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
	std::string dir_;
};

// A sparse file's bytes: its two data regions only, read back and written
// again sparse.
TEST_F(GhostFiles, HolesStayHoles)
{
	std::string path = dir_ + "/sparse";
	int fd = open(path.c_str(), O_RDWR | O_CREAT, 0600);
	ASSERT_GE(fd, 0);
	std::vector<uint8_t> page(4096, 'x');
	ASSERT_EQ(pwrite(fd, page.data(), page.size(), 1 << 20), 4096);
	ASSERT_EQ(pwrite(fd, page.data(), page.size(), 5 << 20), 4096);
	ASSERT_EQ(ftruncate(fd, 8 << 20), 0);
	GhostFile g;
	g.size = 8 << 20;
	auto r = fds::read_extents(fd, g, 1 << 20, "sparse");
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	ASSERT_EQ(g.extents.size(), 2u);	// tmpfs and ext4 alike: page granular
	EXPECT_EQ(g.extents[0].offset, uint64_t(1) << 20);
	EXPECT_EQ(g.extents[1].offset, uint64_t(5) << 20);
	EXPECT_EQ(g.data_bytes(), 8192u);
	// Above the limit: refused, saying how much hetmig carries.
	GhostFile small;
	small.size = 8 << 20;
	auto over = fds::read_extents(fd, small, 4096, "fd 9 is /x (deleted)");
	ASSERT_FALSE(over.has_value());
	EXPECT_NE(over.error().describe().find("more than 0.0 MiB of data"), std::string::npos)
		<< over.error().describe();
	close(fd);

	int out = open((dir_ + "/again").c_str(), O_RDWR | O_CREAT, 0600);
	ASSERT_GE(out, 0);
	ASSERT_TRUE(fds::write_extents(out, g).has_value());
	struct stat st;
	ASSERT_EQ(fstat(out, &st), 0);
	EXPECT_EQ(st.st_size, 8 << 20);
	EXPECT_EQ(lseek(out, 0, SEEK_DATA), 1 << 20);
	EXPECT_EQ(lseek(out, 1 << 20, SEEK_HOLE), (1 << 20) + 4096);
	EXPECT_LT(st.st_blocks * 512, 1 << 20);
	close(out);
}

// A deleted file made again at its name, removed, opened again as each fd
// was; at another name beside it when its own is taken.
TEST_F(GhostFiles, MadeAtItsNameThenRemoved)
{
	Image img = testing::one_process(1234);
	GhostFile g;
	g.path = dir_ + "/sub/log";	// its directory went too
	g.mode = 0604;
	g.uid = getuid();
	g.gid = getgid();
	g.size = 100;
	g.mtime_ns = 1600000000000000000;
	g.extents = {{10, {'a', 'b', 'c'}}};
	GhostFile taken = g;
	taken.path = dir_ + "/taken";
	close(open(taken.path.c_str(), O_CREAT | O_WRONLY, 0600));
	img.ghosts = {g, taken};
	auto made = fds::make_ghosts(img, {}, ours);
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	ASSERT_EQ(made->size(), 2u);
	EXPECT_NE(access(g.path.c_str(), F_OK), 0);
	EXPECT_NE(access((dir_ + "/sub").c_str(), F_OK), 0);	// made for it, removed
	EXPECT_EQ(access(taken.path.c_str(), F_OK), 0);		// left as it was

	OpenFile f{7, g.path + " (deleted)", O_RDONLY, 11};
	auto fd = fds::reopen_ghost(f, (*made)[0].get());
	ASSERT_TRUE(fd.has_value()) << fd.error().describe();
	char link[4096] = {};
	ASSERT_GT(readlink(("/proc/self/fd/" + std::to_string(*fd)).c_str(), link, sizeof(link) - 1), 0);
	EXPECT_EQ(std::string(link), g.path + " (deleted)");
	EXPECT_EQ(lseek(*fd, 0, SEEK_CUR), 11);
	EXPECT_EQ(fcntl(*fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	char c = 0;
	EXPECT_EQ(read(*fd, &c, 1), 1);
	EXPECT_EQ(c, 'b');
	struct stat st;
	ASSERT_EQ(fstat(*fd, &st), 0);
	EXPECT_EQ(st.st_nlink, 0u);
	EXPECT_EQ(st.st_size, 100);
	EXPECT_EQ(st.st_mode & 07777, 0604u);
	EXPECT_EQ(mtime_ns(st), g.mtime_ns);
	close(*fd);

	ASSERT_GT(readlink(("/proc/self/fd/" + std::to_string((*made)[1].get())).c_str(), link,
			   sizeof(link) - 1), 0);
	EXPECT_EQ(std::string(link).rfind(taken.path + ".hetmig-", 0), 0u) << link;
}

// A removed directory: made, opened, removed, with its mode.
TEST_F(GhostFiles, DirectoryMadeAndRemoved)
{
	Image img = testing::one_process(1234);
	GhostFile g;
	g.kind = GhostFile::kDirectory;
	g.path = dir_ + "/a/b";
	g.mode = 0710;
	g.uid = getuid();
	g.gid = getgid();
	img.ghosts = {g};
	auto made = fds::make_ghosts(img, {}, ours);
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	OpenFile f{4, g.path + " (deleted)", O_RDONLY | O_DIRECTORY};
	f.directory = true;
	auto fd = fds::reopen_ghost(f, (*made)[0].get());
	ASSERT_TRUE(fd.has_value()) << fd.error().describe();
	struct stat st;
	ASSERT_EQ(fstat(*fd, &st), 0);
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0710u);
	EXPECT_NE(access((dir_ + "/a").c_str(), F_OK), 0);
	close(*fd);
}

// A memfd: its name, bytes and seals (added after the bytes); one linked
// to the tree's shared memory is that memfd, not a copy.
TEST_F(GhostFiles, MemfdSealsAndSharedMemory)
{
	Image img = testing::one_process(1234);
	GhostFile g;
	g.kind = GhostFile::kMemfd;
	g.path = "ghost-test";
	g.mode = 0777;
	g.uid = getuid();
	g.gid = getgid();
	g.size = 8192;
	g.extents = {{0, {'h', 'i'}}};
	g.seals = F_SEAL_WRITE | F_SEAL_SEAL;
	GhostFile linked = g;
	linked.seals = F_SEAL_GROW;
	linked.shared = 0;
	img.ghosts = {g, linked};
	img.shared = {{1, 2, 8192, "ghost-test"}};
	EXPECT_TRUE(fds::shared_needs_sealing(img, 0));
	int shm = memfd_create("ghost-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_GE(shm, 0);
	ASSERT_EQ(ftruncate(shm, 8192), 0);
	int shms[] = {shm};
	auto made = fds::make_ghosts(img, shms, ours);
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	int m = (*made)[0].get();
	char link[256] = {};
	ASSERT_GT(readlink(("/proc/self/fd/" + std::to_string(m)).c_str(), link, sizeof(link) - 1), 0);
	EXPECT_STREQ(link, "/memfd:ghost-test (deleted)");
	EXPECT_EQ(fcntl(m, F_GET_SEALS), F_SEAL_WRITE | F_SEAL_SEAL);
	char two[2];
	EXPECT_EQ(pread(m, two, 2, 0), 2);
	EXPECT_EQ(std::memcmp(two, "hi", 2), 0);
	EXPECT_LT(write(m, "x", 1), 0);
	// The shared one: the same inode as the tree's memfd.
	struct stat a, b;
	ASSERT_EQ(fstat((*made)[1].get(), &a), 0);
	ASSERT_EQ(fstat(shm, &b), 0);
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(fcntl(shm, F_GET_SEALS), F_SEAL_GROW);
	EXPECT_EQ(pread(shm, two, 2, 0), 2);
	close(shm);
	// Only F_SEAL_SEAL, as a memfd made without MFD_ALLOW_SEALING reads:
	// the tree's plain memfd is that already.
	img.ghosts[1].seals = F_SEAL_SEAL;
	EXPECT_FALSE(fds::shared_needs_sealing(img, 0));
}

// What describe_ghost refuses in a live process (ours): a file with
// another name, one whose data is above the limit.
TEST_F(GhostFiles, HardLinkAndSizeRefused)
{
	std::string name = dir_ + "/f", other = dir_ + "/g";
	int fd = open(name.c_str(), O_RDWR | O_CREAT, 0600);
	ASSERT_GE(fd, 0);
	std::vector<uint8_t> data(3 << 20, 1);
	ASSERT_EQ(write(fd, data.data(), data.size()), ssize_t(data.size()));
	ASSERT_EQ(link(name.c_str(), other.c_str()), 0);
	ASSERT_EQ(unlink(name.c_str()), 0);
	struct stat st;
	ASSERT_EQ(fstat(fd, &st), 0);
	OpenFile f{fd, name + " (deleted)", O_RDWR};
	ASSERT_TRUE(fds::is_ghost(f.path, st));
	auto linked = fds::describe_ghost(getpid(), f, st);
	ASSERT_FALSE(linked.has_value());
	EXPECT_NE(linked.error().describe().find("has 1 other name(s)"), std::string::npos)
		<< linked.error().describe();
	ASSERT_EQ(unlink(other.c_str()), 0);
	ASSERT_EQ(fstat(fd, &st), 0);
	fds::set_ghost_limit(1 << 20);
	auto big = fds::describe_ghost(getpid(), f, st);
	fds::set_ghost_limit(fds::kGhostLimitDefault);
	ASSERT_FALSE(big.has_value());
	EXPECT_NE(big.error().describe().find("more than the 1.0 MiB hetmig carries of one"),
		  std::string::npos) << big.error().describe();
	auto fine = fds::describe_ghost(getpid(), f, st);
	ASSERT_TRUE(fine.has_value()) << fine.error().describe();
	EXPECT_EQ(fine->ghost, fds::kGhostPending);
	EXPECT_EQ(fine->size, 3u << 20);

	// Gathered: the bytes read through a description of our own, the
	// process's offset untouched.
	Image img = testing::one_process(1234);
	img.pid = uint32_t(getpid());
	img.files = {*fine};
	OpenFile again = *fine;
	again.fd = dup(fd);
	img.files.push_back(again);
	off_t before = lseek(fd, 0, SEEK_CUR);
	auto r = fds::capture_ghosts(img);
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), before);
	ASSERT_EQ(img.ghosts.size(), 1u);
	EXPECT_EQ(img.files[0].ghost, 0);
	EXPECT_EQ(img.files[1].ghost, 0);
	EXPECT_EQ(img.ghosts[0].data_bytes(), 3u << 20);
	EXPECT_EQ(img.ghosts[0].path, name);
	close(again.fd);
	close(fd);
}

// A removed working directory (zdtm's cwd01): captured as a removed
// directory of the tree, shared with an fd of it, made again and entered
// by its fd; an index the image lacks, or a file, is refused on reading.
TEST_F(GhostFiles, RemovedWorkingDirectory)
{
	std::string gone = dir_ + "/gone";
	ASSERT_EQ(mkdir(gone.c_str(), 0750), 0);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		if (chdir(gone.c_str()) || rmdir(gone.c_str()))
			_exit(10);
		int fd = open(".", O_RDONLY | O_DIRECTORY);
		if (fd < 0 || dup2(fd, 9) != 9)
			_exit(11);
		raise(SIGSTOP);
		_exit(0);
	}
	int status;
	ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
	ASSERT_TRUE(WIFSTOPPED(status));
	Image img = testing::one_process(uint32_t(child));
	img.cwd = gone + " (deleted)";
	img.cwd_ghost = fds::kGhostPending;
	OpenFile f{9, gone + " (deleted)", O_RDONLY | O_DIRECTORY};
	struct stat st;
	ASSERT_EQ(stat(("/proc/" + std::to_string(child) + "/fd/9").c_str(), &st), 0);
	auto described = fds::describe_ghost(child, f, st);
	ASSERT_TRUE(described.has_value()) << described.error().describe();
	img.files = {*described};
	auto r = fds::capture_ghosts(img);
	kill(child, SIGKILL);
	waitpid(child, nullptr, 0);
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	ASSERT_EQ(img.ghosts.size(), 1u);	// the fd and the cwd: one directory
	EXPECT_EQ(img.cwd_ghost, 0);
	EXPECT_EQ(img.files[0].ghost, 0);
	EXPECT_EQ(img.ghosts[0].kind, GhostFile::kDirectory);
	EXPECT_EQ(img.ghosts[0].path, gone);
	EXPECT_EQ(img.ghosts[0].mode, 0750u);

	auto got = testing::decode(testing::encode(img, false));
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	EXPECT_EQ(got->cwd_ghost, 0);
	auto made = fds::make_ghosts(*got, {}, ours);
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	int back = open(".", O_RDONLY | O_DIRECTORY);
	ASSERT_EQ(fchdir((*made)[0].get()), 0);
	char link[4096] = {};
	EXPECT_GT(readlink("/proc/self/cwd", link, sizeof(link) - 1), 0);
	EXPECT_EQ(std::string(link), gone + " (deleted)");
	ASSERT_EQ(fchdir(back), 0);
	close(back);

	Image bad = img;
	bad.cwd_ghost = 1;
	testing::expect_refused(bad, "a removed working directory the image lacks");
	bad = img;
	bad.ghosts[0].kind = GhostFile::kFile;
	bad.files.clear();
	testing::expect_refused(bad, "a removed working directory the image lacks");
}

// A deleted FIFO (zdtm's unlink_fifo): captured with its capacity and the
// bytes in it (left in place), made again at its name and removed, every
// fd opened again on it without waiting, the bytes there once.
TEST_F(GhostFiles, DeletedFifo)
{
	std::string path = dir_ + "/fifo";
	ASSERT_EQ(mkfifo(path.c_str(), 0640), 0);
	int rw = open(path.c_str(), O_RDWR);
	ASSERT_GE(rw, 0);
	ASSERT_EQ(fcntl(rw, F_SETPIPE_SZ, 1 << 16), 1 << 16);
	ASSERT_EQ(write(rw, "queued", 6), 6);
	ASSERT_EQ(unlink(path.c_str()), 0);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		if (dup2(rw, 9) != 9)
			_exit(10);
		raise(SIGSTOP);
		_exit(0);
	}
	close(rw);
	int status;
	ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
	ASSERT_TRUE(WIFSTOPPED(status));
	std::string link = "/proc/" + std::to_string(child) + "/fd/9";
	struct stat st;
	ASSERT_EQ(stat(link.c_str(), &st), 0);
	OpenFile f{9, path + " (deleted)", O_RDWR};
	ASSERT_TRUE(fds::is_ghost(f.path, st));
	auto described = fds::describe_ghost(child, f, st);
	ASSERT_TRUE(described.has_value()) << described.error().describe();
	Image img = testing::one_process(uint32_t(child));
	img.files = {*described};
	auto r = fds::capture_ghosts(img);
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	ASSERT_EQ(img.ghosts.size(), 1u);
	const GhostFile &g = img.ghosts[0];
	EXPECT_EQ(g.kind, GhostFile::kFifo);
	EXPECT_EQ(g.path, path);
	EXPECT_EQ(g.size, 1u << 16);
	EXPECT_EQ(g.mode, 0640u);
	ASSERT_EQ(g.data_bytes(), 6u);
	// Left in the child's FIFO.
	int peek = open(link.c_str(), O_RDONLY | O_NONBLOCK);
	int n = -1;
	EXPECT_EQ(ioctl(peek, FIONREAD, &n), 0);
	EXPECT_EQ(n, 6);
	close(peek);
	kill(child, SIGKILL);
	waitpid(child, nullptr, 0);

	auto got = testing::decode(testing::encode(img, false));
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	auto made = fds::make_ghosts(*got, {}, ours);
	ASSERT_TRUE(made.has_value()) << made.error().describe();
	EXPECT_NE(access(path.c_str(), F_OK), 0);
	OpenFile reader{4, path + " (deleted)", O_RDONLY | O_NONBLOCK}, writer{5, reader.path, O_WRONLY};
	auto rd = fds::reopen_ghost(reader, (*made)[0].get());
	auto wr = fds::reopen_ghost(writer, (*made)[0].get());
	ASSERT_TRUE(rd.has_value()) << rd.error().describe();
	ASSERT_TRUE(wr.has_value()) << wr.error().describe();
	made->clear();
	EXPECT_EQ(fcntl(*rd, F_GETPIPE_SZ), 1 << 16);
	ASSERT_EQ(write(*wr, "!", 1), 1);
	char buf[16] = {};
	EXPECT_EQ(read(*rd, buf, sizeof(buf)), 7);
	EXPECT_STREQ(buf, "queued!");
	ASSERT_EQ(fstat(*rd, &st), 0);
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	EXPECT_EQ(st.st_nlink, 0u);
	close(*rd);
	close(*wr);
}

} // namespace
} // namespace hetmig
