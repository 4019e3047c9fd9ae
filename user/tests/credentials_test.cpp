// SPDX-License-Identifier: GPL-2.0
// A process's ids (user/src/credentials.h): the four uids and gids read
// from /proc, carried in a format 9 image only when they differ (a format
// 8 image claiming them refused), taken by a rebuilt child, the receiver's
// --user/--group and --allow-root applied to all four. Also what rides in
// the same images from this work: a zombie's group and session, and the
// process a standard stream was inherited from.
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "credentials.h"
#include "image_bytes.h"
#include "rebuild.h"

namespace hetmig {
namespace {

// A child that takes pid00's ids: gids 5, 6, 7 and fs 8, uids 1, 2, 3.
pid_t child_with_pid00_ids(int ready)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(5, 6, 7) || setfsgid(8) < 0 || setresuid(1, 2, 3))
			_exit(1);
		if (write(ready, "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	return pid;
}

TEST(Credentials, CaptureReadsTheFourUidsAndGids)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root to give a child other ids";
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	pid_t pid = child_with_pid00_ids(p[1]);
	ASSERT_GT(pid, 0);
	char c = 0;
	ASSERT_EQ(read(p[0], &c, 1), 1);
	Image img;
	auto r = capture_credentials(pid, img);
	kill(pid, SIGKILL);
	waitpid(pid, nullptr, 0);
	close(p[0]);
	close(p[1]);
	ASSERT_TRUE(r.has_value()) << r.error().describe();
	EXPECT_EQ(img.uids, (std::vector<uint32_t>{1, 2, 3, 2}));
	EXPECT_EQ(img.gids, (std::vector<uint32_t>{5, 6, 7, 8}));
	EXPECT_EQ(img.uid, 1u);
	EXPECT_EQ(img.gid, 5u);
}

TEST(Credentials, DistinctIdsMakeAFormat9ImageAndComeBack)
{
	Image img = testing::one_process(300);
	img.uid = 1, img.gid = 5;
	img.uids = {1, 2, 3, 2};
	img.gids = {5, 6, 7, 8};
	auto bytes = testing::encode(img, false);
	EXPECT_EQ(testing::version_of(bytes), kImageFormatVersion);
	EXPECT_EQ(kImageFormatVersion, 9u);
	auto back = testing::decode(bytes);
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	EXPECT_EQ(back->uids, img.uids);
	EXPECT_EQ(back->gids, img.gids);
	// A hetmig that reads 8 would give it uid 1 as all four, silently.
	testing::expect_refused(img, "distinct real, effective, saved or file system ids",
				kImageFormatInFlight);
	// One id for all four: still the oldest format it fits.
	img.uids = {1, 1, 1, 1};
	img.gids = {5, 5, 5, 5};
	EXPECT_EQ(testing::version_of(testing::encode(img, false)), kImageFormatSingle);
	// A member's count for the tree.
	Image root = testing::one_process(300);
	Image member = testing::one_process(301);
	member.links = {300, 300, 300, 0};
	member.uids = {0, 1000, 0, 1000};
	member.gids = {0, 0, 0, 0};
	root.members = {member};
	EXPECT_TRUE(root.has_distinct_ids());
	// Not four of them: corrupted.
	img.uids = {1, 2};
	testing::expect_refused(img, "uids or gids not four ids");
}

TEST(Credentials, PolicyAndOlderImages)
{
	Image img = testing::one_process(300);
	img.uid = 1000, img.gid = 100;
	// An image from before the four were carried: its one uid and gid.
	IdSet old = ids_here(img, {});
	EXPECT_EQ(old.uids, (std::array<uint32_t, 4>{1000, 1000, 1000, 1000}));
	EXPECT_EQ(old.gids, (std::array<uint32_t, 4>{100, 100, 100, 100}));
	EXPECT_FALSE(old.distinct());
	img.uids = {1000, 0, 0, 0};
	img.gids = {100, 100, 100, 100};
	IdSet ids = ids_here(img, {});
	EXPECT_TRUE(ids.distinct());
	EXPECT_TRUE(ids.any_root_uid());
	RestorePolicy user;
	user.uid = 2000;
	user.gid = 200;
	IdSet chosen = ids_here(img, user);
	EXPECT_EQ(chosen.uids, (std::array<uint32_t, 4>{2000, 2000, 2000, 2000}));
	EXPECT_EQ(chosen.gids, (std::array<uint32_t, 4>{200, 200, 200, 200}));
	if (geteuid() != 0)
		GTEST_SKIP() << "the rest is a root receiver's";
	// Effective uid 0 with a real uid of 1000 is root: --allow-root.
	auto refused = check_credentials(img, {});
	ASSERT_FALSE(refused.has_value());
	EXPECT_NE(refused.error().describe().find("would run as root"), std::string::npos)
		<< refused.error().describe();
	RestorePolicy root_ok;
	root_ok.allow_root = true;
	EXPECT_TRUE(check_credentials(img, root_ok).has_value());
	EXPECT_TRUE(check_credentials(img, user).has_value());
}

// SWITCH in a forked child: its exit status (0 if the child has IDS).
int child_switched(const IdSet &ids, bool saved_root)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (switch_credentials(ids, {}, saved_root))
			_exit(2);
		uid_t r, e, s;
		gid_t rg, eg, sg;
		if (getresuid(&r, &e, &s) || getresgid(&rg, &eg, &sg))
			_exit(3);
		if (r != ids.uids[0] || e != ids.uids[1] ||
		    s != (saved_root ? 0 : ids.uids[2]) || rg != ids.gids[0] ||
		    eg != ids.gids[1] || sg != ids.gids[2])
			_exit(4);
		if (uint32_t(setfsgid(gid_t(-1))) != ids.gids[3])
			_exit(5);
		if (!saved_root && uint32_t(setfsuid(uid_t(-1))) != ids.uids[3])
			_exit(6);
		_exit(0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	return status;
}

TEST(Credentials, TheRebuiltChildTakesThem)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root";
	IdSet ids;
	ids.uids = {1, 2, 3, 2};
	ids.gids = {5, 6, 7, 8};
	EXPECT_EQ(child_switched(ids, false), 0);
	EXPECT_EQ(child_switched(ids, true), 0);
	// A file system uid outside the real, effective and saved ones: only
	// a process that stays root keeps one.
	ids.uids = {1, 2, 3, 9};
	EXPECT_NE(child_switched(ids, false), 0);
	ids.uids = {0, 0, 0, 9};
	EXPECT_EQ(child_switched(ids, false), 0);
}

TEST(Credentials, ZombieGroupsAndInheritedStreamsComeBack)
{
	Image root = testing::one_process(400);
	root.zombies = {{402, 7 << 8, 401, 400}};
	Image member = testing::one_process(403);
	member.links = {400, 400, 400, 0};
	OpenFile log;
	log.fd = 1, log.path = "/var/log/x.log", log.flags = 01;
	log.opened_by = 400;
	member.files = {log};
	root.members = {member};
	auto back = testing::decode(testing::encode(root, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->zombies.size(), 1u);
	EXPECT_EQ(back->zombies[0].pgid, 401u);
	EXPECT_EQ(back->zombies[0].sid, 400u);
	ASSERT_EQ(back->members.size(), 1u);
	ASSERT_NE(testing::fd_of(back->members[0], 1), nullptr);
	EXPECT_EQ(testing::fd_of(back->members[0], 1)->opened_by, 400u);
}

} // namespace
} // namespace hetmig
