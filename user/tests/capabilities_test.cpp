// SPDX-License-Identifier: GPL-2.0
// A process's capabilities (user/src/capabilities.h): read from /proc as
// every thread has them; a process whose threads differ (one set
// no_new_privs alone) refused naming the thread; carried in the image,
// and absent from an image that had none.
#include <linux/capability.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "capabilities.h"
#include "image_bytes.h"
#include "stopped_child.h"

namespace hetmig {
namespace {

pid_t child_tid;

void *set_nnp_alone(void *)
{
	child_tid = pid_t(syscall(SYS_gettid));
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	for (;;)
		pause();
	return nullptr;
}

TEST(Capabilities, ReadAsEveryThreadHasThem)
{
	testing::ReapedChild child(testing::stopped_child(
		[] { prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }, [] { return 0; }));
	ASSERT_GT(child.pid, 0);
	auto caps = capture_capabilities(child.pid);
	ASSERT_TRUE(caps.has_value()) << caps.error().describe();
	EXPECT_TRUE(caps->no_new_privs);
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, child.pid};
	struct __user_cap_data_struct d[2];
	ASSERT_EQ(syscall(SYS_capget, &h, d), 0);
	EXPECT_EQ(caps->effective, d[0].effective | uint64_t(d[1].effective) << 32);
	EXPECT_EQ(caps->permitted, d[0].permitted | uint64_t(d[1].permitted) << 32);
	EXPECT_NE(caps->bounding, 0u);

	// One thread set no_new_privs, the main thread did not.
	testing::ReapedChild odd(testing::stopped_child(
		[] {
			pthread_t t;
			pthread_create(&t, nullptr, set_nnp_alone, nullptr);
			while (!__atomic_load_n(&child_tid, __ATOMIC_SEQ_CST))
				usleep(1000);
			usleep(20000);
		},
		[] { return 0; }));
	ASSERT_GT(odd.pid, 0);
	auto refused = capture_capabilities(odd.pid);
	ASSERT_FALSE(refused.has_value());
	EXPECT_EQ(refused.error().code, EOPNOTSUPP);
	EXPECT_NE(refused.error().describe().find("has other capabilities or no_new_privs than its "
						  "main thread"), std::string::npos)
		<< refused.error().describe();
}

TEST(Capabilities, CarriedInTheImage)
{
	Image img = testing::one_process(100);
	auto none = testing::decode(testing::encode(img, false));
	ASSERT_TRUE(none.has_value()) << none.error().describe();
	EXPECT_FALSE(none->caps.has_value());
	img.caps = Capabilities{1, 0x3, 0x2, 0x1ffffffffffull, 0x400, true};
	auto back = testing::decode(testing::encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_TRUE(back->caps.has_value());
	EXPECT_EQ(back->caps->inheritable, 1u);
	EXPECT_EQ(back->caps->permitted, 3u);
	EXPECT_EQ(back->caps->effective, 2u);
	EXPECT_EQ(back->caps->bounding, 0x1ffffffffffull);
	EXPECT_EQ(back->caps->ambient, 0x400u);
	EXPECT_TRUE(back->caps->no_new_privs);
}

} // namespace
} // namespace hetmig
