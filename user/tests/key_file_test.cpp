// SPDX-License-Identifier: GPL-2.0
// The pre-shared key file: send and recv refuse one that others could read
// or replace, naming the file, what is wrong and the command that fixes it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
#include "error.h"

using namespace hetmig;

namespace {

const std::string kPath = "/etc/hetmig/key";

std::string refusal(mode_t mode, uid_t owner, uid_t euid)
{
	auto r = check_key_file(kPath, S_IFREG | mode, owner, euid);
	return r ? std::string() : r.error().describe();
}

// A fresh key from `hetmig keygen` in a folder of its own.
class KeyFile : public testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/hetmig-key-test.XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
		path_ = dir_ + "/key";
		ASSERT_TRUE(write_new_key(path_));
	}
	void TearDown() override
	{
		unlink(path_.c_str());
		rmdir(dir_.c_str());
	}
	std::string dir_, path_;
};

} // namespace

TEST(CheckKeyFile, TakesTheOwnersOwnKey)
{
	EXPECT_EQ(refusal(0600, 0, 0), "");
	EXPECT_EQ(refusal(0400, 0, 0), "");  // read-only is stricter still
	EXPECT_EQ(refusal(0600, 1000, 1000), "");
}

TEST(CheckKeyFile, RefusesAKeyOthersCanRead)
{
	EXPECT_EQ(refusal(0644, 0, 0),
		  "key /etc/hetmig/key is mode 0644: it must be 0600 (chmod 600 /etc/hetmig/key)");
	EXPECT_EQ(refusal(0640, 1000, 1000),
		  "key /etc/hetmig/key is mode 0640: it must be 0600 (chmod 600 /etc/hetmig/key)");
	EXPECT_NE(refusal(0602, 0, 0), "");  // written by others is as bad
	EXPECT_NE(refusal(0610, 0, 0), "");
}

TEST(CheckKeyFile, RefusesAnotherUsersKeyForRoot)
{
	EXPECT_EQ(refusal(0600, 1000, 0),
		  "key /etc/hetmig/key is owned by uid 1000: it must be owned by root, who runs "
		  "hetmig (chown root /etc/hetmig/key)");
}

TEST(CheckKeyFile, RefusesRootsKeyForAUser)
{
	EXPECT_EQ(refusal(0600, 0, 1000),
		  "key /etc/hetmig/key is owned by root: it must be owned by uid 1000, who runs "
		  "hetmig (make a key of your own with 'hetmig keygen FILE')");
}

TEST(CheckKeyFile, IsAFailureNotAPermissionCode)
{
	// Exit status 1 ("the operation failed; the message says why"), and no
	// strerror after the advice.
	auto r = check_key_file(kPath, S_IFREG | 0644, 0, 0);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, 0);
	EXPECT_EQ(exit_code_for(r.error()), kExitFailure);
}

TEST_F(KeyFile, KeygenMakesAKeyLoadKeyTakes)
{
	struct stat st;
	ASSERT_EQ(stat(path_.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0600u);
	auto key = load_key(path_);
	ASSERT_TRUE(key) << key.error().describe();
	EXPECT_EQ(key->size(), size_t(crypto_secretstream_xchacha20poly1305_KEYBYTES));
}

TEST_F(KeyFile, LoadKeyRefusesAWorldReadableKey)
{
	ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
	auto key = load_key(path_);
	ASSERT_FALSE(key);
	EXPECT_EQ(key.error().describe(),
		  "key " + path_ + " is mode 0644: it must be 0600 (chmod 600 " + path_ + ")");
}

TEST_F(KeyFile, LoadKeyRefusesAKeyOfAnotherOwner)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "giving the key to another user needs root";
	ASSERT_EQ(chown(path_.c_str(), 65534, 65534), 0);
	auto key = load_key(path_);
	ASSERT_FALSE(key);
	EXPECT_NE(key.error().describe().find("is owned by uid 65534: it must be owned by root"),
		  std::string::npos)
		<< key.error().describe();
}
