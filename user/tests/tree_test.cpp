// SPDX-License-Identifier: GPL-2.0
// Process trees: the plan that makes a tree's sessions and process groups
// again (and what it refuses), and trees in the image (format 3): each
// process's pages read back as its own, shared memory and links kept, and
// a tree's image labelled format 2 or naming shared memory it lacks refused.
#include <cstring>
#include <linux/hetmig.h>

#include <gtest/gtest.h>
#include <zlib.h>

#include "image.h"
#include "image_bytes.h"
#include "tree.h"

namespace hetmig {
namespace {

using testing::decode;
using testing::encode;
using testing::one_process;
using testing::relabelled;

// tree.c's tree, under a shell (session 50, group 60): P forks A (its own
// group) and B (its own session); A forks G, in A's group.
std::vector<TreeMember> selftest_tree()
{
	return {{100, 50, 60, 50}, {101, 100, 101, 50}, {102, 100, 102, 102},
		{103, 101, 101, 50}};
}

TEST(TreePlan, SessionsAndGroupsOfTheSelftest)
{
	auto plan = plan_tree(selftest_tree());
	ASSERT_TRUE(plan.has_value()) << plan.error().describe();
	ASSERT_EQ(plan->size(), 4u);
	const auto &p = *plan;
	EXPECT_TRUE(p[0].session_leader);  // the root leads its own
	EXPECT_EQ(p[0].parent, kNoMember);
	EXPECT_EQ(p[1].parent, 0u);
	EXPECT_TRUE(p[1].group_leader);
	EXPECT_FALSE(p[1].session_leader);
	EXPECT_EQ(p[1].join, kNoMember);
	EXPECT_EQ(p[2].parent, 0u);
	EXPECT_TRUE(p[2].session_leader);
	EXPECT_EQ(p[3].parent, 1u);
	EXPECT_FALSE(p[3].group_leader);
	EXPECT_EQ(p[3].join, 1u);  // A's group, once the tree exists
}

TEST(TreePlan, TheRootsOutsideGroupBecomesTheRoots)
{
	// A child left in the shell's group (a pipeline): the root's group.
	auto plan = plan_tree({{100, 50, 60, 50}, {101, 100, 60, 50}});
	ASSERT_TRUE(plan.has_value()) << plan.error().describe();
	EXPECT_EQ((*plan)[1].join, 0u);
}

TEST(TreePlan, SiblingsGroupJoinedAfterTheTreeExists)
{
	// B joined its younger sibling C's group: C leads it, B joins later.
	auto plan = plan_tree({{100, 50, 60, 50}, {101, 100, 102, 50}, {102, 100, 102, 50}});
	ASSERT_TRUE(plan.has_value()) << plan.error().describe();
	EXPECT_EQ((*plan)[1].join, 2u);
	EXPECT_TRUE((*plan)[2].group_leader);
}

TEST(TreePlan, WhatCannotBeMadeAgainIsRefused)
{
	// A session neither its own nor its parent's (the parent left it).
	auto r = plan_tree({{100, 50, 100, 100}, {101, 100, 60, 50}});
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("process 101 is in session 50"), std::string::npos)
		<< r.error().describe();
	// A group whose leader is outside, not the root's.
	r = plan_tree({{100, 50, 60, 50}, {101, 100, 70, 50}});
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("process group 70, whose leader is not in the tree"),
		  std::string::npos) << r.error().describe();
	// A group whose leader moved to another group.
	r = plan_tree({{100, 50, 60, 50}, {101, 100, 60, 50}, {102, 100, 101, 50}});
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("whose leader has left it"), std::string::npos)
		<< r.error().describe();
	// A child before its parent.
	r = plan_tree({{100, 50, 60, 50}, {102, 101, 60, 50}, {101, 100, 60, 50}});
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("comes before its parent 101"), std::string::npos);
}

Image process(uint32_t pid, uint32_t ppid, uint8_t fill)
{
	Image img = one_process(pid);
	img.threads[0].regsets[1] = std::vector<uint8_t>(216, fill);
	img.links = {ppid, 60, 50, fill == 3 ? SIGUSR2 : 0};
	Mapping shared;
	shared.start = 0x7f0000000000;
	shared.end = shared.start + 0x2000;
	shared.kind = HETMIG_VMA_FILE;
	shared.flags = HETMIG_VMA_F_SHARED | HETMIG_VMA_F_MAYSHARE;
	shared.path = "/dev/zero (deleted)";
	shared.shared = 0;
	img.mappings = {shared};
	// The same address in every process: only the order tells them apart.
	img.pages.push_back({0x10000, 4096, std::vector<uint8_t>(4096, fill)});
	if (fill == 2)	// a run longer than a record
		img.pages.push_back({0x200000, kPageRecordMax + 4096,
				     std::vector<uint8_t>(kPageRecordMax + 4096, fill)});
	return img;
}

Image tree_image()
{
	Image root = process(100, 50, 1);
	root.members = {process(101, 100, 2), process(103, 101, 3)};
	root.shared = {{1, 77, 0x2000, ""}};
	root.zombies = {{104, 7 << 8}};
	root.members[0].zombies = {{105, SIGUSR1}};
	root.pages.push_back({0x7f0000000000, 0x2000, std::vector<uint8_t>(0x2000, 0x5a)});
	return root;
}



uint64_t sum_of(const Image &img, uint8_t *first = nullptr)
{
	uint64_t n = 0;
	for (const auto &run : img.pages)
		for (uint8_t b : run.data) {
			n += b;
			if (first && !*first)
				*first = b;
		}
	return n;
}

TEST(TreeImage, EachProcessReadsBackItsOwn)
{
	for (bool compress : {false, true}) {
		Image want = tree_image();
		auto bytes = encode(want, compress, {}, 2);
		uint32_t version;
		std::memcpy(&version, bytes.data() + 8, 4);
		EXPECT_EQ(version, 3u);
		auto got = decode(bytes);
		ASSERT_TRUE(got.has_value()) << got.error().describe();
		ASSERT_EQ(got->members.size(), 2u);
		EXPECT_EQ(got->page_bytes(), want.page_bytes());
		EXPECT_EQ(sum_of(*got), sum_of(want));
		for (size_t i = 0; i < 2; i++) {
			const Image &m = got->members[i];
			EXPECT_EQ(m.pid, want.members[i].pid);
			EXPECT_EQ(m.links.ppid, want.members[i].links.ppid);
			EXPECT_EQ(m.links.pdeathsig, want.members[i].links.pdeathsig);
			EXPECT_EQ(m.page_bytes(), want.members[i].page_bytes());
			uint8_t first = 0;
			EXPECT_EQ(sum_of(m, &first), sum_of(want.members[i]));
			EXPECT_EQ(first, uint8_t(i + 2));
			EXPECT_EQ(m.threads.at(0).regsets.at(1), want.members[i].threads[0].regsets[1]);
			ASSERT_EQ(m.mappings.size(), 1u);
			EXPECT_EQ(m.mappings[0].shared, 0);
		}
		ASSERT_EQ(got->shared.size(), 1u);
		EXPECT_EQ(got->shared[0].size, 0x2000u);
		EXPECT_EQ(got->shared[0].inode, 77u);
		EXPECT_EQ(got->links.sid, 50u);
		ASSERT_EQ(got->zombies.size(), 1u);
		EXPECT_EQ(got->zombies[0].pid, 104u);
		EXPECT_EQ(got->zombies[0].status, 7 << 8);
		ASSERT_EQ(got->members[0].zombies.size(), 1u);
		EXPECT_EQ(got->members[0].zombies[0].status, SIGUSR1);
		EXPECT_TRUE(got->members[1].zombies.empty());
	}
}

// Streamed (hetmig recv), each process's records come as its own, and
// records left when the trailer is asked for are refused.
TEST(TreeImage, StreamedEachProcessReadsItsOwn)
{
	for (bool compress : {false, true}) {
		Image want = tree_image();
		auto bytes = encode(want, compress, {}, 2);
		auto runs = testing::stream(bytes, 3);
		ASSERT_TRUE(runs.has_value()) << runs.error().describe();
		for (size_t p = 0; p < 3; p++) {
			Image got;
			got.pages = std::move(runs->at(p));
			const Image &w = p ? want.members[p - 1] : want;
			uint8_t first = 0;
			EXPECT_EQ(sum_of(got, &first), sum_of(w)) << "process " << p;
			EXPECT_EQ(got.page_bytes(), w.page_bytes()) << "process " << p;
		}
		// The last member's records left unread: finish() finds them.
		auto short_tree = testing::stream(bytes, 2);
		ASSERT_FALSE(short_tree.has_value()) << "the trailer read before the last records";
		EXPECT_NE(short_tree.error().describe().find("page records were not all read"),
			  std::string::npos) << short_tree.error().describe();
	}
}

TEST(TreeImage, MislabelledTreesAndMissingSharedMemoryAreRefused)
{
	auto r = decode(relabelled(encode(tree_image(), false, {}, 2), 2));
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("process tree or shared memory in a format 1 or 2"),
		  std::string::npos) << r.error().describe();

	Image img = tree_image();
	img.shared.clear();  // a mapping naming shared memory the image lacks
	r = decode(encode(img, false, {}, 2));
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("shared memory the image lacks"), std::string::npos)
		<< r.error().describe();
}

TEST(TreeImage, OneProcessStaysFormat2)
{
	Image img = process(100, 50, 1);
	img.mappings.clear();
	auto bytes = encode(img, false, {}, 2);
	uint32_t version;
	std::memcpy(&version, bytes.data() + 8, 4);
	EXPECT_EQ(version, kImageFormatSingle);
	auto got = decode(bytes);
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	EXPECT_TRUE(got->members.empty());
	EXPECT_EQ(got->links.ppid, 50u);
}

} // namespace
} // namespace hetmig
