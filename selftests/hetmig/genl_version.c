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

#include <linux/hetmig.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "kselftest_harness.h"

/* What one request brought back. */
struct answer {
	int error;		/* 0 or a negative errno from NLMSG_ERROR */
	char extack_msg[256];
	int has_offs;
	unsigned int offs;
	struct nlattr *tb[HETMIG_A_MAX + 1];
	struct nl_msg *reply;	/* held so tb stays valid */
	int done;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct answer *a = arg;

	nlmsg_get(msg);
	a->reply = msg;
	genlmsg_parse(nlmsg_hdr(msg), 0, a->tb, HETMIG_A_MAX, NULL);
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	((struct answer *)arg)->done = 1;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {};
	struct answer *a = arg;
	size_t off = sizeof(*err);
	size_t payload = nlh->nlmsg_len - NLMSG_HDRLEN;

	a->error = err->error;
	a->done = 1;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < payload &&
	    nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)err + off), payload - off, NULL) == 0) {
		if (tb[NLMSGERR_ATTR_MSG])
			snprintf(a->extack_msg, sizeof(a->extack_msg), "%s",
				 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
		if (tb[NLMSGERR_ATTR_OFFS]) {
			a->has_offs = 1;
			a->offs = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
		}
	}
	return NL_STOP;
}

FIXTURE(genl) {
	struct nl_sock *sk;
	int family;
	struct answer a;
};

FIXTURE_SETUP(genl)
{
	int one = 1;

	memset(&self->a, 0, sizeof(self->a));
	self->sk = nl_socket_alloc();
	ASSERT_NE(NULL, self->sk);
	ASSERT_EQ(0, genl_connect(self->sk));
	ASSERT_EQ(0, setsockopt(nl_socket_get_fd(self->sk), SOL_NETLINK,
				NETLINK_EXT_ACK, &one, sizeof(one)));
	self->family = genl_ctrl_resolve(self->sk, HETMIG_GENL_NAME);
	if (self->family < 0)
		SKIP(return, "hetmig.ko is not loaded");
}

FIXTURE_TEARDOWN(genl)
{
	if (self->a.reply)
		nlmsg_free(self->a.reply);
	nl_socket_free(self->sk);
}

static struct nl_msg *request(int family, int cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg)
		genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			    NLM_F_REQUEST | NLM_F_ACK, cmd, HETMIG_GENL_VERSION);
	return msg;
}

/* Sends MSG (and frees it), collects the reply and the ACK or error. */
static int transact(struct nl_sock *sk, struct nl_msg *msg, struct answer *a)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb || !msg)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, a);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, a);
	ret = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	while (ret >= 0 && !a->done)
		ret = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return a->done ? 0 : ret;
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
	struct nlattr **tb = self->a.tb;

	ASSERT_EQ(0, transact(self->sk, request(self->family,
				HETMIG_CMD_GET_VERSION), &self->a));
	ASSERT_EQ(0, self->a.error);
	ASSERT_NE(NULL, tb[HETMIG_A_PROTO_VERSION]);
	EXPECT_EQ(HETMIG_PROTO_VERSION, nla_get_u32(tb[HETMIG_A_PROTO_VERSION]));
	ASSERT_NE(NULL, tb[HETMIG_A_MODULE_VERSION]);
	EXPECT_LT(1, nla_len(tb[HETMIG_A_MODULE_VERSION]));
	ASSERT_NE(NULL, tb[HETMIG_A_PAGE_SIZE]);
	EXPECT_EQ(sysconf(_SC_PAGESIZE), nla_get_u32(tb[HETMIG_A_PAGE_SIZE]));
}

TEST_F(genl, reports_this_kernels_architecture)
{
	struct nlattr **tb = self->a.tb;
	struct utsname u;

	ASSERT_EQ(0, uname(&u));
	ASSERT_EQ(0, transact(self->sk, request(self->family,
				HETMIG_CMD_GET_VERSION), &self->a));
	ASSERT_EQ(0, self->a.error);
	ASSERT_NE(NULL, tb[HETMIG_A_ARCH]);
	EXPECT_EQ(arch_of_uname(), (int)nla_get_u32(tb[HETMIG_A_ARCH]));
	ASSERT_NE(NULL, tb[HETMIG_A_KERNEL_RELEASE]);
	EXPECT_STREQ(u.release, (char *)nla_data(tb[HETMIG_A_KERNEL_RELEASE]));
	TH_LOG("module reports arch %u on %s",
	       nla_get_u32(tb[HETMIG_A_ARCH]), u.release);
}

TEST_F(genl, matching_protocol_version_is_accepted)
{
	struct nl_msg *msg = request(self->family, HETMIG_CMD_GET_VERSION);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_PROTO_VERSION, HETMIG_PROTO_VERSION));
	ASSERT_EQ(0, transact(self->sk, msg, &self->a));
	EXPECT_EQ(0, self->a.error);
	EXPECT_NE(NULL, self->a.tb[HETMIG_A_ARCH]);
}

TEST_F(genl, other_protocol_version_is_refused_with_extack)
{
	struct nl_msg *msg = request(self->family, HETMIG_CMD_GET_VERSION);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_PROTO_VERSION, HETMIG_PROTO_VERSION + 41));
	ASSERT_EQ(0, transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EPROTO, self->a.error);
	EXPECT_NE(NULL, strstr(self->a.extack_msg, "protocol version"));
	/* The offset points at the attribute: after nlmsghdr and genlmsghdr. */
	EXPECT_TRUE(self->a.has_offs);
	EXPECT_EQ(NLMSG_HDRLEN + GENL_HDRLEN, self->a.offs);
	EXPECT_EQ(NULL, self->a.reply);
}

TEST_F(genl, short_attribute_is_refused_with_extack)
{
	struct nl_msg *msg = request(self->family, HETMIG_CMD_GET_VERSION);

	ASSERT_EQ(0, nla_put_u16(msg, HETMIG_A_PROTO_VERSION, 1));
	ASSERT_EQ(0, transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(0, self->a.extack_msg[0]);
	TH_LOG("extack: %s", self->a.extack_msg);
}

TEST_F(genl, reply_only_attribute_in_request_is_refused)
{
	struct nl_msg *msg = request(self->family, HETMIG_CMD_GET_VERSION);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_ARCH, HETMIG_ARCH_X86_64));
	ASSERT_EQ(0, transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(0, self->a.extack_msg[0]);
	TH_LOG("extack: %s", self->a.extack_msg);
}

TEST_F(genl, unknown_attribute_type_is_refused)
{
	struct nl_msg *msg = request(self->family, HETMIG_CMD_GET_VERSION);

	ASSERT_EQ(0, nla_put_u32(msg, HETMIG_A_MAX + 7, 0));
	ASSERT_EQ(0, transact(self->sk, msg, &self->a));
	EXPECT_EQ(-EINVAL, self->a.error);
	EXPECT_NE(0, self->a.extack_msg[0]);
	TH_LOG("extack: %s", self->a.extack_msg);
}

TEST_F(genl, unknown_command_is_refused)
{
	ASSERT_EQ(0, transact(self->sk, request(self->family, 200), &self->a));
	EXPECT_EQ(-EOPNOTSUPP, self->a.error);
}

TEST_HARNESS_MAIN
