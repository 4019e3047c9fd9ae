// SPDX-License-Identifier: GPL-2.0
// Descriptors that are not opened again by path alone (user/src/fds/),
// captured and rebuilt: /dev/zero and the other devices that are the same
// everywhere must be the same device on the destination; an eventfd is
// made again with its counter and mode, and the probe that tells the mode
// on 6.1 leaves the counter as it was.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "fds/devices.h"
#include "fds/eventfd.h"
#include "fds/fd.h"

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

uint64_t own_eventfd_count(int fd)
{
	std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
	for (std::string line; std::getline(info, line);)
		if (line.starts_with("eventfd-count:"))
			return std::stoull(line.substr(14), nullptr, 16);
	return ~0ull;
}

// 6.1 does not print eventfd-semaphore: capture reads and writes back.
TEST(Eventfd, TheProbeTellsTheModeAndLeavesTheCounter)
{
	for (bool semaphore : {false, true})
		for (uint64_t count : {0, 1, 2, 5}) {
			int fd = eventfd(unsigned(count), EFD_NONBLOCK |
							  (semaphore ? EFD_SEMAPHORE : 0));
			ASSERT_GE(fd, 0);
			auto mode = fds::probe_mode(fd, count);
			ASSERT_TRUE(mode.has_value()) << mode.error().describe();
			EXPECT_EQ(*mode, semaphore) << "count " << count;
			EXPECT_EQ(own_eventfd_count(fd), count) << "semaphore " << semaphore;
			close(fd);
		}
}

TEST(Eventfd, AnEventfdIsMadeAgainWithItsCounterAndMode)
{
	OpenFile f;
	f.fd = 6;
	f.flags = O_RDWR | O_NONBLOCK;
	f.eventfd = EventCounter{5, true};
	auto fd = fds::make_eventfd(f);
	ASSERT_TRUE(fd.has_value()) << fd.error().describe();
	fds::UniqueFd e(*fd);
	uint64_t v = 0;
	EXPECT_EQ(read(e.get(), &v, 8), 8);
	EXPECT_EQ(v, 1u);
	EXPECT_EQ(own_eventfd_count(e.get()), 4u);
	EXPECT_EQ(fcntl(e.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	f.eventfd = EventCounter{~0ull - 1, false};  // above what eventfd(2) takes
	auto big = fds::make_eventfd(f);
	ASSERT_TRUE(big.has_value()) << big.error().describe();
	EXPECT_EQ(own_eventfd_count(*big), ~0ull - 1);
	close(*big);
}

} // namespace
} // namespace hetmig
