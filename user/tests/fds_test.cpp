// SPDX-License-Identifier: GPL-2.0
// Descriptors that are not opened again by path alone (user/src/fds/),
// captured and rebuilt: /dev/zero and the other devices that are the same
// everywhere must be the same device on the destination.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "fds/devices.h"

namespace hetmig {
namespace {

TEST(Devices, ADeviceMustBeTheSameDeviceHere)
{
	OpenFile zero;
	zero.fd = 7;
	zero.path = "/dev/zero";
	zero.flags = O_RDONLY;
	zero.rdev = makedev(1, 5);
	EXPECT_TRUE(fds::check_device_here(zero).has_value());
	auto fd = fds::open_device(zero);
	ASSERT_TRUE(fd.has_value()) << fd.error().describe();
	close(*fd);
	zero.rdev = makedev(1, 9);
	auto r = fds::check_device_here(zero);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, ENODEV);
	EXPECT_FALSE(fds::open_device(zero).has_value());
	struct stat st;
	ASSERT_EQ(stat("/dev/zero", &st), 0);
	EXPECT_FALSE(fds::same_everywhere_device("/dev/zero.copy", st));
	EXPECT_EQ(fds::same_everywhere_device("/dev/zero", st), uint64_t(makedev(1, 5)));
}

} // namespace
} // namespace hetmig
