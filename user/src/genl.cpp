// SPDX-License-Identifier: GPL-2.0
#include "genl.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <linux/hetmig.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <netlink/genl/ctrl.h>

namespace hetmig {

namespace {

Error libnl_error(int nlerr, std::string context)
{
	// libnl errors are not errnos; keep its message, map the common ones.
	int code = EIO;
	switch (-nlerr) {
	case NLE_NOMEM: code = ENOMEM; break;
	case NLE_PERM: code = EPERM; break;
	case NLE_NOACCESS: code = EACCES; break;
	case NLE_OBJ_NOTFOUND: code = ENOENT; break;
	case NLE_MSGSIZE: code = EMSGSIZE; break;
	}
	return Error{code, std::move(context) + ": " + nl_geterror(nlerr), {}, {}};
}

// State of one request-reply exchange, shared with libnl's callbacks.
struct Exchange {
	const ReplyHandler *on_reply = nullptr;
	const char *context = "";
	bool done = false;
	bool interrupted = false;	// a reply had NLM_F_DUMP_INTR
	std::optional<Error> error;
};

int on_valid(nl_msg *msg, void *arg)
{
	auto *ex = static_cast<Exchange *>(arg);
	if (nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP_INTR)
		ex->interrupted = true;
	auto r = (*ex->on_reply)(nlmsg_hdr(msg));
	if (!r) {
		ex->error = std::move(r.error());
		ex->done = true;
		return NL_STOP;
	}
	return NL_OK;
}

int on_error(sockaddr_nl *, nlmsgerr *err, void *arg)
{
	auto *ex = static_cast<Exchange *>(arg);
	// libnl hands us the payload; the header sits right before it.
	auto *nlh = reinterpret_cast<const nlmsghdr *>(
		reinterpret_cast<const char *>(err) - NLMSG_HDRLEN);
	ex->error = error_from_nlmsgerr(nlh, ex->context);
	ex->done = true;
	return NL_STOP;
}

int on_done(nl_msg *msg, void *arg)
{
	auto *ex = static_cast<Exchange *>(arg);
	// The kernel flags the end of a dump too when the data changed.
	if (nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP_INTR)
		ex->interrupted = true;
	if (auto err = error_from_done(nlmsg_hdr(msg), ex->context))
		ex->error = std::move(*err);
	ex->done = true;
	return NL_STOP;
}

// The extack TLVs in [ATTRS, ATTRS + LEN) into OUT.
void take_extack(Error &out, const void *attrs, size_t len)
{
	nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {};
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      static_cast<nlattr *>(const_cast<void *>(attrs)), int(len),
		      nullptr) < 0)
		return;
	out.kernel_message = nla_string(tb[NLMSGERR_ATTR_MSG]);
	if (tb[NLMSGERR_ATTR_OFFS] && nla_len(tb[NLMSGERR_ATTR_OFFS]) >= 4)
		out.bad_attr_offset = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
}

} // namespace

std::string nla_string(const nlattr *attr)
{
	if (!attr)
		return {};
	const char *s = static_cast<const char *>(nla_data(attr));
	return std::string(s, strnlen(s, nla_len(attr)));
}

Error error_from_nlmsgerr(const nlmsghdr *nlh, const char *context)
{
	Error out{EPROTO, context, {}, {}};
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
		return out;

	const auto *err = static_cast<const nlmsgerr *>(NLMSG_DATA(nlh));
	out.code = -err->error;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return out;

	// The TLVs follow the echoed request, which is only the header when
	// the kernel capped it.
	size_t offset = sizeof(nlmsgerr);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < NLMSG_HDRLEN)
			return out;
		offset += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
	}
	size_t payload = nlh->nlmsg_len - NLMSG_HDRLEN;
	if (offset > payload)
		return out;

	take_extack(out, static_cast<const char *>(NLMSG_DATA(nlh)) + offset,
		    payload - offset);
	return out;
}

std::optional<Error> error_from_done(const nlmsghdr *nlh, const char *context)
{
	if (nlh->nlmsg_type != NLMSG_DONE || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
		return std::nullopt;
	int code;
	std::memcpy(&code, NLMSG_DATA(nlh), sizeof(code));
	if (code >= 0)
		return std::nullopt;
	Error out{-code, context, {}, {}};
	size_t offset = NLMSG_ALIGN(sizeof(int));
	size_t payload = nlh->nlmsg_len - NLMSG_HDRLEN;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && offset < payload)
		take_extack(out, static_cast<const char *>(NLMSG_DATA(nlh)) + offset,
			    payload - offset);
	return out;
}

Result<GenlClient> GenlClient::connect()
{
	NlSock sock(nl_socket_alloc());
	if (!sock)
		return fail(ENOMEM, "nl_socket_alloc");

	if (int r = genl_connect(sock.get()); r < 0)
		return std::unexpected(libnl_error(r, "genl_connect"));
	return finish(std::move(sock));
}

Result<GenlClient> GenlClient::connect_above(int min_fd, size_t send_bytes)
{
	int raw = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (raw < 0)
		return fail(errno, "socket(AF_NETLINK)");
	int fd = fcntl(raw, F_DUPFD_CLOEXEC, min_fd + 1);
	int saved = errno;
	close(raw);
	if (fd < 0)
		return fail(saved, "fcntl(F_DUPFD_CLOEXEC)");
	auto give_up = [fd](Error e) {
		close(fd);
		return std::unexpected(std::move(e));
	};
	// The kernel doubles what is asked, and takes a request of up to the
	// buffer less 32 bytes.
	int want = int(std::min<size_t>(send_bytes + 4096, INT_MAX / 2));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	int have = 0;
	socklen_t len = sizeof(have);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &len) < 0)
		return give_up(Error{errno, "getsockopt(SO_SNDBUF)", {}, {}});
	if (size_t(have) < send_bytes + 32)
		return give_up(Error{EMSGSIZE,
			strf("a request of %zu bytes does not fit a netlink socket's send "
			     "buffer here (%d bytes): net.core.wmem_max bounds it for a caller "
			     "without CAP_NET_ADMIN", send_bytes, have), {}, {}});
	sockaddr_nl local{};
	local.nl_family = AF_NETLINK;
	if (bind(fd, reinterpret_cast<sockaddr *>(&local), sizeof(local)) < 0)
		return give_up(Error{errno, "bind(AF_NETLINK)", {}, {}});
	NlSock sock(nl_socket_alloc());
	if (!sock)
		return give_up(Error{ENOMEM, "nl_socket_alloc", {}, {}});
	if (int r = nl_socket_set_fd(sock.get(), NETLINK_GENERIC, fd); r < 0)
		return give_up(libnl_error(r, "nl_socket_set_fd"));
	return finish(std::move(sock));  // the socket owns fd now
}

Result<GenlClient> GenlClient::finish(NlSock sock)
{
	// Ask for extended ACKs, and for errors that do not echo the request.
	int one = 1;
	int fd = nl_socket_get_fd(sock.get());
	if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		return fail(errno, "setsockopt(NETLINK_EXT_ACK)");

	// One read buffer that holds the largest message the module sends (a
	// dump part sized for the largest register set), so no read has to
	// peek first: half the system calls of a peeking read.
	if (int r = nl_socket_set_msg_buf_size(sock.get(), 64 * 1024); r < 0)
		return std::unexpected(libnl_error(r, "nl_socket_set_msg_buf_size"));
	nl_socket_disable_msg_peek(sock.get());

	int id = genl_ctrl_resolve(sock.get(), HETMIG_GENL_NAME);
	if (id < 0) {
		if (id == -NLE_OBJ_NOTFOUND)
			return fail(EPROTONOSUPPORT,
				    "generic netlink family \"" HETMIG_GENL_NAME
				    "\" not found: is hetmig.ko loaded?");
		return std::unexpected(libnl_error(id, "genl_ctrl_resolve"));
	}
	return GenlClient(std::move(sock), id);
}

Result<NlMsg> GenlClient::new_request(uint8_t cmd, int flags, size_t room) const
{
	NlMsg msg(room ? nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN + room) : nlmsg_alloc());
	if (!msg)
		return fail(ENOMEM, "nlmsg_alloc");
	if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_id_, 0,
			 flags | NLM_F_REQUEST | NLM_F_ACK, cmd,
			 HETMIG_GENL_VERSION))
		return fail(EMSGSIZE, "genlmsg_put");
	return msg;
}

Result<void> GenlClient::transact(NlMsg request, const ReplyHandler &on_reply,
				  const char *context)
{
	NlCb cb(nl_cb_alloc(NL_CB_DEFAULT));
	if (!cb)
		return fail(ENOMEM, "nl_cb_alloc");

	Exchange ex;
	ex.on_reply = &on_reply;
	ex.context = context;
	nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &ex);
	nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_done, &ex);
	nl_cb_set(cb.get(), NL_CB_FINISH, NL_CB_CUSTOM, on_done, &ex);
	nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &ex);

	if (int r = nl_send_auto(sock_.get(), request.get()); r < 0)
		return std::unexpected(libnl_error(r, context));

	while (!ex.done) {
		int r = nl_recvmsgs(sock_.get(), cb.get());
		if (ex.done)
			break;
		if (r < 0)
			return std::unexpected(libnl_error(r, context));
	}
	if (ex.error)
		return std::unexpected(std::move(*ex.error));
	if (ex.interrupted)
		return fail(EAGAIN, std::string(context) +
				    ": the process changed during the dump");
	return {};
}

Result<NlMsg> GenlClient::pid_request(uint8_t cmd, uint32_t pid, int flags) const
{
	auto req = new_request(cmd, flags);
	if (!req)
		return req;
	if (nla_put_u32(req->get(), HETMIG_A_PID, pid) < 0)
		return fail(EMSGSIZE, "nla_put(HETMIG_A_PID)");
	return req;
}

Result<void> GenlClient::dump(uint8_t cmd, uint32_t pid, const ReplyHandler &on_reply,
			      const std::function<void()> &on_start, const char *context)
{
	Result<void> r;
	for (int attempt = 0; attempt < 3; attempt++) {
		on_start();
		auto req = pid_request(cmd, pid, NLM_F_DUMP);
		if (!req)
			return std::unexpected(req.error());
		r = transact(std::move(*req), on_reply, context);
		if (r || r.error().code != EAGAIN)
			return r;
	}
	return r;
}

Result<EventListener> EventListener::open()
{
	NlSock sock(nl_socket_alloc());
	if (!sock)
		return fail(ENOMEM, "nl_socket_alloc");
	if (int r = genl_connect(sock.get()); r < 0)
		return std::unexpected(libnl_error(r, "genl_connect"));
	int grp = genl_ctrl_resolve_grp(sock.get(), HETMIG_GENL_NAME, HETMIG_MCGRP_EVENTS);
	if (grp < 0)
		return fail(EPROTONOSUPPORT, "multicast group \"" HETMIG_MCGRP_EVENTS
				     "\" not found: is hetmig.ko loaded?");
	if (int r = nl_socket_add_membership(sock.get(), grp); r < 0)
		return std::unexpected(libnl_error(r, "nl_socket_add_membership"));
	nl_socket_set_nonblocking(sock.get());
	return EventListener(std::move(sock));
}

namespace {

struct EventSink {
	const std::function<void(const Event &)> *on_event;
};

int on_event_msg(nl_msg *msg, void *arg)
{
	auto *sink = static_cast<EventSink *>(arg);
	nlattr *tb[HETMIG_A_MAX + 1] = {};
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, HETMIG_A_MAX, nullptr) < 0 ||
	    !tb[HETMIG_A_PID])
		return NL_OK;
	Event ev{};
	ev.cmd = static_cast<genlmsghdr *>(nlmsg_data(nlmsg_hdr(msg)))->cmd;
	ev.pid = nla_get_u32(tb[HETMIG_A_PID]);
	if (tb[HETMIG_A_THAW_REASON])
		ev.thaw_reason = nla_get_u32(tb[HETMIG_A_THAW_REASON]);
	(*sink->on_event)(ev);
	return NL_OK;
}

} // namespace

Result<void> EventListener::read(const std::function<void(const Event &)> &on_event)
{
	NlCb cb(nl_cb_alloc(NL_CB_DEFAULT));
	if (!cb)
		return fail(ENOMEM, "nl_cb_alloc");
	EventSink sink{&on_event};
	nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_event_msg, &sink);
	// Events carry no sequence numbers of ours.
	nl_cb_set(cb.get(), NL_CB_SEQ_CHECK, NL_CB_CUSTOM,
		  [](nl_msg *, void *) { return int(NL_OK); }, nullptr);
	int r = nl_recvmsgs(sock_.get(), cb.get());
	if (r < 0 && r != -NLE_AGAIN)
		return std::unexpected(libnl_error(r, "reading events"));
	return {};
}

Result<void> GenlClient::ack(NlMsg request, const char *context)
{
	return transact(std::move(request),
			[](const nlmsghdr *) -> Result<void> { return {}; }, context);
}

Result<void> GenlClient::pid_command(uint8_t cmd, uint32_t pid, const char *context)
{
	auto req = pid_request(cmd, pid);
	if (!req)
		return std::unexpected(req.error());
	return ack(std::move(*req), context);
}

} // namespace hetmig
