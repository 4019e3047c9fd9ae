// SPDX-License-Identifier: GPL-2.0
/*
 * The "hetmig" generic netlink family: GET_VERSION and strict validation of
 * requests, through libnl, with the extended ACK read back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "hetmig_nl.h"

#include "kselftest_harness.h"

/* What a GET_VERSION reply said. */
struct version_reply {
	int got;
	int has[HETMIG_A_MAX + 1];
	uint32_t proto, arch, page_size;
	char module[64], release[128];
};

static void collect_version(struct nlattr **tb, void *arg)
{
	struct version_reply *v = arg;
	int a;

	v->got++;
	for (a = 1; a <= HETMIG_A_MAX; a++)
		v->has[a] = !!tb[a];
	if (tb[HETMIG_A_PROTO_VERSION])
		v->proto = nla_get_u32(tb[HETMIG_A_PROTO_VERSION]);
	if (tb[HETMIG_A_ARCH])
		v->arch = nla_get_u32(tb[HETMIG_A_ARCH]);
	if (tb[HETMIG_A_PAGE_SIZE])
		v->page_size = nla_get_u32(tb[HETMIG_A_PAGE_SIZE]);
	if (tb[HETMIG_A_MODULE_VERSION])
		nla_strlcpy(v->module, tb[HETMIG_A_MODULE_VERSION], sizeof(v->module));
	if (tb[HETMIG_A_KERNEL_RELEASE])
		nla_strlcpy(v->release, tb[HETMIG_A_KERNEL_RELEASE], sizeof(v->release));
}

FIXTURE(genl) {
	struct nl_sock *sk;
	int family;
	struct nl_answer a;
	struct version_reply v;
};

FIXTURE_SETUP(genl)
{
	memset(&self->a, 0, sizeof(self->a));
	memset(&self->v, 0, sizeof(self->v));
	self->a.on_reply = collect_version;
	self->a.arg = &self->v;
	self->sk = hetmig_socket(&self->family);
	ASSERT_NE(NULL, self->sk);
	if (self->family < 0)
		SKIP(return, "hetmig.ko is not loaded");
}

FIXTURE_TEARDOWN(genl)
{
	nl_socket_free(self->sk);
}

static int arch_of_uname(void)
{
	struct utsname u;

	if (uname(&u))
		return -1;
	if (!strcmp(u.machine, "x86_64"))
		return HETMIG_ARCH_X86_64;
	if (!strcmp(u.machine, "aarch64"))
		return HETMIG_ARCH_AARCH64;
	return 0;
}

TEST_F(genl, version_reply_is_complete)
{
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_request(self->family, HETMIG_CMD_GET_VERSION, 0), &self->a));
	ASSERT_EQ(0, self->a.error);
	ASSERT_EQ(1, self->v.got);
	ASSERT_TRUE(self->v.has[HETMIG_A_PROTO_VERSION]);
	EXPECT_EQ(HETMIG_PROTO_VERSION, self->v.proto);
	ASSERT_TRUE(self->v.has[HETMIG_A_MODULE_VERSION]);
	EXPECT_LT(0, strlen(self->v.module));
	ASSERT_TRUE(self->v.has[HETMIG_A_PAGE_SIZE]);
	EXPECT_EQ(sysconf(_SC_PAGESIZE), self->v.page_size);
}

TEST_F(genl, reports_this_kernels_architecture)
{
	struct utsname u;

	ASSERT_EQ(0, uname(&u));
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_request(self->family, HETMIG_CMD_GET_VERSION, 0), &self->a));
	ASSERT_EQ(0, self->a.error);
	ASSERT_TRUE(self->v.has[HETMIG_A_ARCH]);
	EXPECT_EQ(arch_of_uname(), (int)self->v.arch);
	ASSERT_TRUE(self->v.has[HETMIG_A_KERNEL_RELEASE]);
	EXPECT_STREQ(u.release, self->v.release);
	TH_LOG("module reports arch %u on %s", self->v.arch, u.release);
}

TEST_F(genl, matching_protocol_version_is_accepted)
{
	struct nl_msg *msg = hetmig_request(self->family, HETMIG_CMD_GET_VERSION, 0);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_PROTO_VERSION, HETMIG_PROTO_VERSION));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(0, self->a.error);
	EXPECT_TRUE(self->v.has[HETMIG_A_ARCH]);
}

TEST_F(genl, other_protocol_version_is_refused_with_extack)
{
	struct nl_msg *msg = hetmig_request(self->family, HETMIG_CMD_GET_VERSION, 0);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_PROTO_VERSION, HETMIG_PROTO_VERSION + 41));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EPROTO, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "protocol version"));
	/* The offset points at the attribute: after nlmsghdr and genlmsghdr. */
	EXPECT_TRUE(self->a.has_offs);
	EXPECT_EQ(NLMSG_HDRLEN + GENL_HDRLEN, self->a.offs);
	EXPECT_EQ(0, self->a.replies);
}

TEST_F(genl, short_attribute_is_refused_with_extack)
{
	struct nl_msg *msg = hetmig_request(self->family, HETMIG_CMD_GET_VERSION, 0);

	ASSERT_EQ(0, nla_put_u16(msg, HETMIG_A_PROTO_VERSION, 1));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(0, self->a.extack_msg[0]);
	TH_LOG("extack: %s", self->a.extack_msg);
}

TEST_F(genl, reply_only_attribute_in_request_is_refused)
{
	struct nl_msg *msg = hetmig_request(self->family, HETMIG_CMD_GET_VERSION, 0);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_ARCH, HETMIG_ARCH_X86_64));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(0, self->a.extack_msg[0]);
	TH_LOG("extack: %s", self->a.extack_msg);
}

TEST_F(genl, unknown_attribute_type_is_refused)
{
	struct nl_msg *msg = hetmig_request(self->family, HETMIG_CMD_GET_VERSION, 0);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_MAX + 7, 0));
	ASSERT_EQ(0, hetmig_transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(0, self->a.extack_msg[0]);
	TH_LOG("extack: %s", self->a.extack_msg);
}

TEST_F(genl, unknown_command_is_refused)
{
	ASSERT_EQ(0, hetmig_transact(self->sk, hetmig_request(self->family, 200, 0), &self->a));
	EXPECT_EQ(-EOPNOTSUPP, self->a.error);
}

TEST_HARNESS_MAIN
