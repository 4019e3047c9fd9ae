// SPDX-License-Identifier: GPL-2.0
// Decoding of GET_VERSION replies built with libnl as the module builds them.
#include <cerrno>

#include <gtest/gtest.h>
#include <linux/hetmig.h>

#include "version.h"

namespace {

hetmig::NlMsg reply_without(int omitted)
{
	hetmig::NlMsg msg(nlmsg_alloc());
	genlmsg_put(msg.get(), 0, 1, 0x20, 0, 0, HETMIG_CMD_GET_VERSION,
		    HETMIG_GENL_VERSION);
	if (omitted != HETMIG_A_PROTO_VERSION)
		nla_put_u32(msg.get(), HETMIG_A_PROTO_VERSION, HETMIG_PROTO_VERSION);
	if (omitted != HETMIG_A_MODULE_VERSION)
		nla_put_string(msg.get(), HETMIG_A_MODULE_VERSION, "0.1.0");
	if (omitted != HETMIG_A_ARCH)
		nla_put_u32(msg.get(), HETMIG_A_ARCH, HETMIG_ARCH_AARCH64);
	if (omitted != HETMIG_A_KERNEL_RELEASE)
		nla_put_string(msg.get(), HETMIG_A_KERNEL_RELEASE, "6.1.0-56-arm64");
	if (omitted != HETMIG_A_PAGE_SIZE)
		nla_put_u32(msg.get(), HETMIG_A_PAGE_SIZE, 4096);
	return msg;
}

TEST(ParseVersionReply, DecodesEveryAttribute)
{
	auto msg = reply_without(0);
	auto v = hetmig::parse_version_reply(nlmsg_hdr(msg.get()));
	ASSERT_TRUE(v.has_value()) << v.error().describe();
	EXPECT_EQ(v->proto_version, unsigned(HETMIG_PROTO_VERSION));
	EXPECT_EQ(v->module_version, "0.1.0");
	EXPECT_EQ(v->arch, unsigned(HETMIG_ARCH_AARCH64));
	EXPECT_EQ(v->kernel_release, "6.1.0-56-arm64");
	EXPECT_EQ(v->page_size, 4096u);
}

TEST(ParseVersionReply, EveryAttributeIsRequired)
{
	for (int a : {HETMIG_A_PROTO_VERSION, HETMIG_A_MODULE_VERSION, HETMIG_A_ARCH,
		      HETMIG_A_KERNEL_RELEASE, HETMIG_A_PAGE_SIZE}) {
		auto msg = reply_without(a);
		auto v = hetmig::parse_version_reply(nlmsg_hdr(msg.get()));
		ASSERT_FALSE(v.has_value()) << "attribute " << a;
		EXPECT_EQ(v.error().code, EBADMSG);
	}
}

TEST(ParseVersionReply, RejectsAShortInteger)
{
	hetmig::NlMsg msg(nlmsg_alloc());
	genlmsg_put(msg.get(), 0, 1, 0x20, 0, 0, HETMIG_CMD_GET_VERSION,
		    HETMIG_GENL_VERSION);
	nla_put_u16(msg.get(), HETMIG_A_ARCH, 1);
	auto v = hetmig::parse_version_reply(nlmsg_hdr(msg.get()));
	ASSERT_FALSE(v.has_value());
	EXPECT_EQ(v.error().code, EBADMSG);
}

TEST(ArchName, NamesTheTwoArchitectures)
{
	EXPECT_EQ(hetmig::arch_name(HETMIG_ARCH_X86_64), "x86_64");
	EXPECT_EQ(hetmig::arch_name(HETMIG_ARCH_AARCH64), "aarch64");
	EXPECT_EQ(hetmig::arch_name(7), "unknown(7)");
}

} // namespace
