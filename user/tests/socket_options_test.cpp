// SPDX-License-Identifier: GPL-2.0
// Generic socket options (user/src/fds/socket_options.h): only those that
// differ from a new socket's are captured, with SO_LINGER and a timeout in
// their own units; set on a new socket they read back the same; an
// unknown option, one twice or out of range is refused in an image.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fds/fd.h"
#include "fds/socket_options.h"

namespace hetmig {
namespace {

TEST(SocketOptions, OnlyWhatDiffersIsCarriedAndSetBack)
{
	fds::UniqueFd sk(socket(AF_INET, SOCK_STREAM, 0));
	ASSERT_GE(sk.get(), 0);
	auto none = fds::capture_socket_options(sk.get(), AF_INET, SOCK_STREAM, IPPROTO_TCP, "s");
	ASSERT_TRUE(none.has_value()) << none.error().describe();
	EXPECT_TRUE(none->empty());

	linger l{1, 7};
	timeval tv{2, 500000};
	int prio = 3, oob = 1;
	ASSERT_EQ(setsockopt(sk.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	ASSERT_EQ(setsockopt(sk.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ASSERT_EQ(setsockopt(sk.get(), SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio)), 0);
	ASSERT_EQ(setsockopt(sk.get(), SOL_SOCKET, SO_OOBINLINE, &oob, sizeof(oob)), 0);
	auto got = fds::capture_socket_options(sk.get(), AF_INET, SOCK_STREAM, IPPROTO_TCP, "s");
	ASSERT_TRUE(got.has_value()) << got.error().describe();
	ASSERT_EQ(got->size(), 4u);
	auto value = [&](int name) {
		for (const auto &o : *got)
			if (o.name == name)
				return o.value;
		return int64_t(-999);
	};
	EXPECT_EQ(value(SO_LINGER), 7);
	EXPECT_EQ(value(SO_RCVTIMEO), 2500000);
	EXPECT_EQ(value(SO_PRIORITY), 3);
	EXPECT_EQ(value(SO_OOBINLINE), 1);
	EXPECT_FALSE(fds::socket_options_problem(*got).has_value());

	fds::UniqueFd again(socket(AF_INET, SOCK_STREAM, 0));
	ASSERT_TRUE(fds::set_socket_options(again.get(), *got, "again").has_value());
	auto back = fds::capture_socket_options(again.get(), AF_INET, SOCK_STREAM, IPPROTO_TCP, "a");
	ASSERT_TRUE(back.has_value());
	ASSERT_EQ(back->size(), got->size());
	for (size_t i = 0; i < got->size(); i++) {
		EXPECT_EQ((*back)[i].name, (*got)[i].name);
		EXPECT_EQ((*back)[i].value, (*got)[i].value);
	}
}

TEST(SocketOptions, ImagesOfOtherOptionsAreRefused)
{
	EXPECT_TRUE(fds::socket_options_problem({{SO_BINDTODEVICE, 1}}).has_value());
	EXPECT_TRUE(fds::socket_options_problem({{SO_PRIORITY, 1}, {SO_PRIORITY, 2}}).has_value());
	EXPECT_TRUE(fds::socket_options_problem({{SO_LINGER, -2}}).has_value());
	EXPECT_TRUE(fds::socket_options_problem({{SO_RCVTIMEO, -1}}).has_value());
	EXPECT_TRUE(fds::socket_options_problem({{SO_PRIORITY, int64_t(1) << 40}}).has_value());
	EXPECT_FALSE(fds::socket_options_problem({{SO_LINGER, -1}, {SO_MARK, 5}}).has_value());
}

} // namespace
} // namespace hetmig
