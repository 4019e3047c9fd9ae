// SPDX-License-Identifier: GPL-2.0
// Decoding of netlink errors and their extended ACK, on messages built here
// byte for byte the way the kernel lays them out.
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>
#include <linux/netlink.h>

#include "genl.h"

namespace {

// Appends one netlink attribute (header, payload, padding) to BUF.
void put_attr(std::vector<char> &buf, uint16_t type, const void *data, size_t len)
{
	nlattr hdr{uint16_t(NLA_HDRLEN + len), type};
	size_t at = buf.size();
	buf.resize(at + NLA_ALIGN(NLA_HDRLEN + len), 0);
	std::memcpy(buf.data() + at, &hdr, sizeof(hdr));
	std::memcpy(buf.data() + at + NLA_HDRLEN, data, len);
}

struct ErrorMessage {
	int error = -EINVAL;
	uint16_t flags = NLM_F_ACK_TLVS | NLM_F_CAPPED;
	std::vector<char> echoed_payload;  // request payload, when not capped
	const char *msg = nullptr;
	std::optional<uint32_t> offs;

	std::vector<char> build() const
	{
		std::vector<char> buf(NLMSG_HDRLEN + sizeof(nlmsgerr), 0);
		nlmsgerr err{};
		err.error = error;
		err.msg.nlmsg_len = NLMSG_HDRLEN + echoed_payload.size();
		err.msg.nlmsg_type = 0x20;
		std::memcpy(buf.data() + NLMSG_HDRLEN, &err, sizeof(err));
		size_t echo_at = buf.size();
		buf.resize(NLMSG_ALIGN(echo_at + echoed_payload.size()), 0);
		std::copy(echoed_payload.begin(), echoed_payload.end(),
			  buf.begin() + echo_at);
		if (msg)
			put_attr(buf, NLMSGERR_ATTR_MSG, msg, std::strlen(msg) + 1);
		if (offs)
			put_attr(buf, NLMSGERR_ATTR_OFFS, &*offs, sizeof(*offs));
		nlmsghdr hdr{uint32_t(buf.size()), NLMSG_ERROR, flags, 1, 0};
		std::memcpy(buf.data(), &hdr, sizeof(hdr));
		return buf;
	}
};

const nlmsghdr *as_nlh(const std::vector<char> &buf)
{
	return reinterpret_cast<const nlmsghdr *>(buf.data());
}

TEST(ErrorFromNlmsgerr, CappedCarriesMessageAndOffset)
{
	auto buf = ErrorMessage{-EPROTO, NLM_F_ACK_TLVS | NLM_F_CAPPED, {},
				"hetmig: protocol version not supported", 20u}.build();
	auto err = hetmig::error_from_nlmsgerr(as_nlh(buf), "GET_VERSION");
	EXPECT_EQ(err.code, EPROTO);
	EXPECT_EQ(err.context, "GET_VERSION");
	EXPECT_EQ(err.kernel_message, "hetmig: protocol version not supported");
	ASSERT_TRUE(err.bad_attr_offset.has_value());
	EXPECT_EQ(*err.bad_attr_offset, 20u);
}

TEST(ErrorFromNlmsgerr, UncappedSkipsTheEchoedRequest)
{
	// An echoed payload of 7 bytes: the TLVs start after its padding.
	ErrorMessage m{-EINVAL, NLM_F_ACK_TLVS, std::vector<char>(7, 'x'),
		       "Unsupported attribute", 24u};
	auto buf = m.build();
	auto err = hetmig::error_from_nlmsgerr(as_nlh(buf), "req");
	EXPECT_EQ(err.code, EINVAL);
	EXPECT_EQ(err.kernel_message, "Unsupported attribute");
	EXPECT_EQ(err.bad_attr_offset, std::optional<uint32_t>(24u));
}

TEST(ErrorFromNlmsgerr, NoTlvsWithoutTheFlag)
{
	auto buf = ErrorMessage{-ENOENT, NLM_F_CAPPED, {}, "ignored", 8u}.build();
	auto err = hetmig::error_from_nlmsgerr(as_nlh(buf), "req");
	EXPECT_EQ(err.code, ENOENT);
	EXPECT_TRUE(err.kernel_message.empty());
	EXPECT_FALSE(err.bad_attr_offset.has_value());
}

TEST(ErrorFromNlmsgerr, TruncatedMessageIsAProtocolError)
{
	auto buf = ErrorMessage{}.build();
	auto *nlh = reinterpret_cast<nlmsghdr *>(buf.data());
	nlh->nlmsg_len = NLMSG_HDRLEN + 4;  // shorter than struct nlmsgerr
	auto err = hetmig::error_from_nlmsgerr(nlh, "req");
	EXPECT_EQ(err.code, EPROTO);
	EXPECT_TRUE(err.kernel_message.empty());
}

TEST(ErrorFromNlmsgerr, EchoLongerThanMessageIsIgnored)
{
	ErrorMessage m{-EINVAL, NLM_F_ACK_TLVS, {}, "x", {}};
	auto buf = m.build();
	auto *err = reinterpret_cast<nlmsgerr *>(buf.data() + NLMSG_HDRLEN);
	err->msg.nlmsg_len = 4096;  // claims an echo that is not there
	auto e = hetmig::error_from_nlmsgerr(as_nlh(buf), "req");
	EXPECT_EQ(e.code, EINVAL);
	EXPECT_TRUE(e.kernel_message.empty());
}

TEST(ErrorDescribe, JoinsContextKernelMessageAndErrno)
{
	hetmig::Error e{EPERM, "FREEZE", "hetmig: not permitted", {}};
	EXPECT_EQ(e.describe(), "FREEZE: hetmig: not permitted (" +
				std::string(std::strerror(EPERM)) + ")");
	EXPECT_EQ(hetmig::exit_code_for(e), hetmig::kExitNoPerm);
	EXPECT_EQ(hetmig::exit_code_for({EPROTONOSUPPORT, "", "", {}}),
		  hetmig::kExitUnavailable);
	EXPECT_EQ(hetmig::exit_code_for({EINVAL, "", "", {}}), hetmig::kExitFailure);
}

} // namespace

namespace {

// NLMSG_DONE of a dump: the errno, then (with NLM_F_ACK_TLVS) the extack.
std::vector<char> done_message(int error, const char *msg, uint16_t flags)
{
	std::vector<char> buf(NLMSG_HDRLEN + NLA_ALIGN(sizeof(int)), 0);
	std::memcpy(buf.data() + NLMSG_HDRLEN, &error, sizeof(error));
	if (msg)
		put_attr(buf, NLMSGERR_ATTR_MSG, msg, std::strlen(msg) + 1);
	nlmsghdr hdr{uint32_t(buf.size()), NLMSG_DONE, flags, 1, 0};
	std::memcpy(buf.data(), &hdr, sizeof(hdr));
	return buf;
}

TEST(ErrorFromDone, FailedDumpCarriesErrnoAndMessage)
{
	auto buf = done_message(-EPERM, "hetmig: not traced", NLM_F_MULTI | NLM_F_ACK_TLVS);
	auto err = hetmig::error_from_done(as_nlh(buf), "GET_REGS");
	ASSERT_TRUE(err.has_value());
	EXPECT_EQ(err->code, EPERM);
	EXPECT_EQ(err->context, "GET_REGS");
	EXPECT_EQ(err->kernel_message, "hetmig: not traced");
}

TEST(ErrorFromDone, SuccessfulDumpIsNoError)
{
	auto buf = done_message(0, nullptr, NLM_F_MULTI);
	EXPECT_FALSE(hetmig::error_from_done(as_nlh(buf), "GET_REGS").has_value());
}

TEST(ErrorFromDone, MessageIgnoredWithoutTheFlag)
{
	auto buf = done_message(-ESRCH, "ignored", NLM_F_MULTI);
	auto err = hetmig::error_from_done(as_nlh(buf), "GET_VMAS");
	ASSERT_TRUE(err.has_value());
	EXPECT_EQ(err->code, ESRCH);
	EXPECT_TRUE(err->kernel_message.empty());
}

} // namespace
