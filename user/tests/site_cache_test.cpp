// SPDX-License-Identifier: GPL-2.0
// The per-build cache of the sites `hetmig check` refuses (site_cache.h):
// a hit is the computed set, a damaged or foreign entry is computed again,
// another build or another hetmig misses.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "convert/agreement.h"
#include "convert/site_cache.h"
#include "fixture.h"

namespace {

using hetmig::convert::SiteCache;
using hetmig::convert::unproven_return_addresses;
using hetmig::program::Program;
using hetmig::testing::open_fixture;

class SiteCacheTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/hetmig-site-cache-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		root_ = tmpl;
		// Parents that do not exist yet are made too.
		dir_ = root_ + "/cache/home/hetmig";
	}
	void TearDown() override { std::filesystem::remove_all(root_); }

	// What the verifier refuses, computed without any cache.
	static std::vector<uint64_t> computed(const Program &from, const Program &to)
	{
		return unproven_return_addresses(from, to, SiteCache());
	}

	std::string root_, dir_;
};

std::string read_all(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(in), {}};
}

void write_all(const std::string &path, const std::string &text)
{
	std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST_F(SiteCacheTest, AHitGivesTheComputedSet)
{
	Program from = open_fixture("temp.x86_64"), to = open_fixture("temp.aarch64");
	std::vector<uint64_t> want = computed(from, to);
	ASSERT_FALSE(want.empty()) << "temp.c has sites the verifier refuses";

	SiteCache cache(dir_, "build-1");
	bool hit = true;
	EXPECT_EQ(unproven_return_addresses(from, to, cache, &hit), want);
	EXPECT_FALSE(hit);
	auto key = cache.key(from, to);
	ASSERT_TRUE(key) << key.error().describe();
	struct stat st;
	ASSERT_EQ(stat(cache.path_of(*key).c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600u);
	ASSERT_EQ(stat(dir_.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0700u);

	EXPECT_EQ(unproven_return_addresses(from, to, cache, &hit), want);
	EXPECT_TRUE(hit);
	// The other direction is another verdict, another entry.
	std::vector<uint64_t> back = computed(to, from);
	EXPECT_EQ(unproven_return_addresses(to, from, cache, &hit), back);
	EXPECT_FALSE(hit);
	EXPECT_EQ(unproven_return_addresses(to, from, cache, &hit), back);
	EXPECT_TRUE(hit);
}

TEST_F(SiteCacheTest, ADamagedEntryIsComputedAgain)
{
	Program from = open_fixture("temp.x86_64"), to = open_fixture("temp.aarch64");
	std::vector<uint64_t> want = computed(from, to);
	SiteCache cache(dir_, "build-1");
	(void)unproven_return_addresses(from, to, cache);
	auto key = cache.key(from, to);
	ASSERT_TRUE(key);
	std::string path = cache.path_of(*key), good = read_all(path);
	ASSERT_FALSE(good.empty());

	// Each damage: the entry is not believed, and the set computed anew
	// (and stored whole again).
	auto damaged = [&](const std::string &why, const std::string &text) {
		write_all(path, text);
		chmod(path.c_str(), 0600);
		bool hit = true;
		EXPECT_EQ(unproven_return_addresses(from, to, cache, &hit), want) << why;
		EXPECT_FALSE(hit) << why;
		EXPECT_EQ(read_all(path), good) << why;
	};
	// A site dropped (it would be taken for proven), the checksum kept.
	size_t first = good.find('\n', good.find("key ")) + 1;
	std::string dropped = good;
	dropped.erase(first, good.find('\n', first) + 1 - first);
	damaged("a site dropped", dropped);
	std::string flipped = good;
	flipped[first] ^= 1;
	damaged("a flipped byte", flipped);
	damaged("cut short", good.substr(0, good.size() / 2));
	damaged("empty", "");
	damaged("garbage", std::string(100, 'x'));

	// Writable by others: not ours alone, not believed.
	bool hit = true;
	(void)unproven_return_addresses(from, to, cache);
	chmod(path.c_str(), 0622);
	EXPECT_EQ(unproven_return_addresses(from, to, cache, &hit), want);
	EXPECT_FALSE(hit);
	// A symlink in the entry's place is not followed.
	std::filesystem::remove(path);
	write_all(root_ + "/elsewhere", good);
	chmod((root_ + "/elsewhere").c_str(), 0600);
	std::filesystem::create_symlink(root_ + "/elsewhere", path);
	EXPECT_FALSE(cache.load(*key, from));
	// Nor a folder others may write to.
	std::filesystem::remove(path);
	(void)unproven_return_addresses(from, to, cache);
	ASSERT_TRUE(cache.load(*key, from));
	chmod(dir_.c_str(), 0777);
	EXPECT_FALSE(cache.load(*key, from));
	chmod(dir_.c_str(), 0700);
}

TEST_F(SiteCacheTest, AnotherBuildOrAnotherHetmigMisses)
{
	Program from = open_fixture("temp.x86_64"), to = open_fixture("temp.aarch64");
	SiteCache cache(dir_, "build-1");
	(void)unproven_return_addresses(from, to, cache);
	auto key = cache.key(from, to);
	ASSERT_TRUE(key);

	// Another destination build (the same source, another pair): another key.
	Program other = open_fixture("clean-other.aarch64");
	Program clean = open_fixture("clean.x86_64");
	auto other_key = cache.key(clean, other);
	ASSERT_TRUE(other_key);
	EXPECT_NE(*other_key, *key);
	auto clean_key = cache.key(clean, open_fixture("clean.aarch64"));
	ASSERT_TRUE(clean_key);
	EXPECT_NE(*clean_key, *other_key);

	// Another hetmig (a new verifier): the same builds miss.
	SiteCache newer(dir_, "build-2");
	auto newer_key = newer.key(from, to);
	ASSERT_TRUE(newer_key);
	EXPECT_NE(*newer_key, *key);
	bool hit = true;
	(void)unproven_return_addresses(from, to, newer, &hit);
	EXPECT_FALSE(hit);

	// An entry written under one key is never read under another, even
	// with a valid checksum: it names its key.
	std::filesystem::copy_file(cache.path_of(*key), cache.path_of(*clean_key));
	EXPECT_FALSE(cache.load(*clean_key, clean));
}

TEST_F(SiteCacheTest, AnEntryNamingAnotherProgramsSitesIsRefused)
{
	// temp's sites are no call sites of clean: a whole entry stored for
	// the wrong program is not believed.
	Program temp = open_fixture("temp.x86_64"), clean = open_fixture("clean.x86_64");
	std::vector<uint64_t> ras = computed(temp, open_fixture("temp.aarch64"));
	ASSERT_FALSE(ras.empty());
	bool foreign = false;
	for (uint64_t ra : ras)
		foreign |= !clean.call_site_returning_to(ra);
	if (!foreign)
		GTEST_SKIP() << "the fixtures share their return addresses";
	SiteCache cache(dir_, "build-1");
	ASSERT_TRUE(cache.store("k", ras));
	EXPECT_TRUE(cache.load("k", temp));
	EXPECT_FALSE(cache.load("k", clean));
}

TEST(SiteCacheDefault, KeysWithThisBuildsId)
{
	// Linked with a build id (Debian's gcc asks for one): a cache is only
	// kept for a hetmig that has one.
	EXPECT_FALSE(hetmig::convert::own_build_id().empty());
}

TEST(SiteCacheDefault, FollowsXdgAndHome)
{
	if (geteuid() == 0) {
		SiteCache c = SiteCache::user_default();
		if (c.enabled()) {
			EXPECT_EQ(c.dir(), "/var/cache/hetmig");
		}
		return;
	}
	setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
	SiteCache c = SiteCache::user_default();
	if (c.enabled()) {
		EXPECT_EQ(c.dir(), "/tmp/xdg/hetmig");
	}
	unsetenv("XDG_CACHE_HOME");
}

} // namespace
