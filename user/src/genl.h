// SPDX-License-Identifier: GPL-2.0
// A client of the "hetmig" generic netlink family (uapi/linux/hetmig.h),
// over libnl, with every libnl handle owned by a RAII type.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "error.h"

namespace hetmig {

struct NlSockFree {
	void operator()(nl_sock *s) const { nl_socket_free(s); }
};
struct NlMsgFree {
	void operator()(nl_msg *m) const { nlmsg_free(m); }
};
struct NlCbPut {
	void operator()(nl_cb *cb) const { nl_cb_put(cb); }
};
using NlSock = std::unique_ptr<nl_sock, NlSockFree>;
using NlMsg = std::unique_ptr<nl_msg, NlMsgFree>;
using NlCb = std::unique_ptr<nl_cb, NlCbPut>;

// Called for every reply message of a request; an error stops the transfer.
using ReplyHandler = std::function<Result<void>(const nlmsghdr *)>;

class GenlClient {
public:
	// Connects and resolves the family; fails with EPROTONOSUPPORT and a
	// readable message when hetmig.ko is not loaded.
	static Result<GenlClient> connect();
	// The same, on a descriptor above MIN_FD and with a send buffer that
	// takes one request of SEND_BYTES: a process being rebuilt keeps the
	// descriptors up to MIN_FD for the image's own, and its RESTORE_MM
	// request carries every mapping at once (rebuild.cpp). netlink refuses
	// a request longer than the send buffer; the buffer is raised past
	// net.core.wmem_max where the caller may (CAP_NET_ADMIN), else up to
	// it, and EMSGSIZE says so when that is not enough.
	static Result<GenlClient> connect_above(int min_fd, size_t send_bytes);

	// A request of command CMD with the family's header, ready for
	// attributes: a page of them, or ROOM bytes.
	Result<NlMsg> new_request(uint8_t cmd, int flags = 0, size_t room = 0) const;

	// Sends REQUEST, hands every reply to ON_REPLY and waits for the
	// kernel's ACK (or the end of a dump). CONTEXT names the request in errors.
	Result<void> transact(NlMsg request, const ReplyHandler &on_reply,
			      const char *context);

	// A dump: like transact, but started again (up to a few times) when
	// the kernel says the data changed under it (NLM_F_DUMP_INTR); ON_START
	// is called before each attempt so the caller can drop partial results.
	Result<void> dump(uint8_t cmd, uint32_t pid, const ReplyHandler &on_reply,
			  const std::function<void()> &on_start, const char *context);

	// A request naming a process by HETMIG_A_PID.
	Result<NlMsg> pid_request(uint8_t cmd, uint32_t pid, int flags = 0) const;

	// Sends REQUEST, which the kernel answers with an ACK only.
	Result<void> ack(NlMsg request, const char *context);
	// The same for a command that takes HETMIG_A_PID and nothing else.
	Result<void> pid_command(uint8_t cmd, uint32_t pid, const char *context);

	int family_id() const { return family_id_; }
	int fd() const { return nl_socket_get_fd(sock_.get()); }

private:
	// Extended ACKs, the read buffer and the family's id, on a socket
	// connected or adopted.
	static Result<GenlClient> finish(NlSock sock);

	GenlClient(NlSock sock, int family_id)
		: sock_(std::move(sock)), family_id_(family_id) {}

	NlSock sock_;
	int family_id_;
};

// Sends REQUEST and decodes its one reply with PARSE, a callable taking the
// reply's header and returning Result<T>. No reply at all is an error.
template <typename T, typename Parse>
Result<T> request_one(GenlClient &client, NlMsg request, Parse parse,
		      const char *context)
{
	std::optional<T> got;
	auto r = client.transact(std::move(request),
				 [&](const nlmsghdr *nlh) -> Result<void> {
		auto v = parse(nlh);
		if (!v)
			return std::unexpected(v.error());
		got = std::move(*v);
		return {};
	}, context);
	if (!r)
		return std::unexpected(r.error());
	if (!got)
		return fail(EBADMSG, std::string(context) + ": the kernel sent no reply");
	return std::move(*got);
}

// A NUL-terminated string attribute, bounded by its length.
std::string nla_string(const nlattr *attr);

// The error carried by an NLMSG_ERROR message, with its extended ACK.
Error error_from_nlmsgerr(const nlmsghdr *nlh, const char *context);

// The error carried by the NLMSG_DONE that ends a failed dump (its payload
// is the errno, then the extended ACK), or nothing for a dump that ended well.
std::optional<Error> error_from_done(const nlmsghdr *nlh, const char *context);

// One event from the "events" multicast group.
struct Event {
	uint8_t cmd;		// HETMIG_CMD_FROZEN, _THAWED or _EXITED
	uint32_t pid;
	uint32_t thaw_reason;	// for THAWED
};

// A socket subscribed to the family's events.
class EventListener {
public:
	static Result<EventListener> open();
	int fd() const { return nl_socket_get_fd(sock_.get()); }
	// Reads what is queued; calls ON_EVENT for each event.
	Result<void> read(const std::function<void(const Event &)> &on_event);

private:
	explicit EventListener(NlSock sock) : sock_(std::move(sock)) {}
	NlSock sock_;
};

} // namespace hetmig
