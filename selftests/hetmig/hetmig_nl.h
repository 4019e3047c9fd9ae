/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small netlink helpers shared by the hetmig selftests: send one request
 * over libnl, hand every reply to a callback, and keep the error with its
 * extended ACK.
 */
#ifndef HETMIG_SELFTEST_NL_H
#define HETMIG_SELFTEST_NL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/hetmig.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

struct nl_answer {
	int error;		/* 0, or the negative errno the kernel sent */
	char extack_msg[256];
	int has_offs;
	unsigned int offs;
	int intr;		/* a reply carried NLM_F_DUMP_INTR */
	int replies;
	int done;
	/* called for every reply with its parsed attributes */
	void (*on_reply)(struct nlattr **tb, void *arg);
	/* or for every reply as it came, for repeated attributes */
	void (*on_msg)(struct nl_msg *msg, void *arg);
	void *arg;
};

static inline int nla_on_valid(struct nl_msg *msg, void *arg)
{
	struct nl_answer *a = arg;
	struct nlattr *tb[HETMIG_A_MAX + 1] = {};

	if (nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP_INTR)
		a->intr = 1;
	a->replies++;
	if (a->on_msg)
		a->on_msg(msg, a->arg);
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, HETMIG_A_MAX, NULL) == 0 &&
	    a->on_reply)
		a->on_reply(tb, a->arg);
	return NL_OK;
}

/* The extack TLVs at ATTRS (LEN bytes) into A. */
static inline void nla_take_extack(struct nl_answer *a, void *attrs, int len)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {};

	if (len <= 0 || nla_parse(tb, NLMSGERR_ATTR_MAX, attrs, len, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(a->extack_msg, sizeof(a->extack_msg), "%s",
			 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS]) {
		a->has_offs = 1;
		a->offs = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	}
}

static inline int nla_on_done(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nl_answer *a = arg;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		a->intr = 1;
	/*
	 * A dump that failed says so in NLMSG_DONE: the errno, then the
	 * extack TLVs when NLM_F_ACK_TLVS is set.
	 */
	if (nlh->nlmsg_type == NLMSG_DONE &&
	    nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
		a->error = *(int *)nlmsg_data(nlh);
		if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
			nla_take_extack(a, (char *)nlmsg_data(nlh) + NLA_ALIGN(sizeof(int)),
					nlh->nlmsg_len - NLMSG_LENGTH(NLA_ALIGN(sizeof(int))));
	}
	a->done = 1;
	return NL_STOP;
}

static inline int nla_on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);
	struct nl_answer *a = arg;
	size_t off = sizeof(*err);
	size_t payload = nlh->nlmsg_len - NLMSG_HDRLEN;

	a->error = err->error;
	a->done = 1;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < payload)
		nla_take_extack(a, (char *)err + off, payload - off);
	return NL_STOP;
}

/* A connected socket with extended ACKs on, or NULL. */
static inline struct nl_sock *hetmig_socket(int *family)
{
	struct nl_sock *sk = nl_socket_alloc();
	int one = 1;

	if (!sk)
		return NULL;
	if (genl_connect(sk) ||
	    setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK,
		       &one, sizeof(one))) {
		nl_socket_free(sk);
		return NULL;
	}
	/* Large dumps: let libnl size its buffer from the message. */
	nl_socket_enable_msg_peek(sk);
	*family = genl_ctrl_resolve(sk, HETMIG_GENL_NAME);
	return sk;
}

static inline struct nl_msg *hetmig_request(int family, int cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg)
		genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			    NLM_F_REQUEST | NLM_F_ACK | flags, cmd,
			    HETMIG_GENL_VERSION);
	return msg;
}

/* A request naming a process; a dump for the commands that are dumps. */
static inline struct nl_msg *hetmig_pid_request(int family, int cmd, unsigned int pid)
{
	int dump = cmd == HETMIG_CMD_GET_REGS || cmd == HETMIG_CMD_GET_VMAS;
	struct nl_msg *msg = hetmig_request(family, cmd, dump ? NLM_F_DUMP : 0);

	if (msg && nla_put_u32(msg, HETMIG_A_PID, pid)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Sends MSG (and frees it); 0 once the ACK, error or end of dump came. */
static inline int hetmig_transact(struct nl_sock *sk, struct nl_msg *msg,
			   struct nl_answer *a)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb || !msg) {
		nl_cb_put(cb);
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, nla_on_valid, a);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, nla_on_done, a);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, nla_on_done, a);
	nl_cb_err(cb, NL_CB_CUSTOM, nla_on_error, a);
	ret = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	while (ret >= 0 && !a->done)
		ret = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return a->done ? 0 : ret;
}

#endif /* HETMIG_SELFTEST_NL_H */
