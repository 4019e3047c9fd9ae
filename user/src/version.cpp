// SPDX-License-Identifier: GPL-2.0
#include "version.h"

#include <cerrno>
#include <cstring>
#include <linux/hetmig.h>

namespace hetmig {

std::string arch_name(uint32_t arch)
{
	switch (arch) {
	case HETMIG_ARCH_X86_64: return "x86_64";
	case HETMIG_ARCH_AARCH64: return "aarch64";
	}
	return "unknown(" + std::to_string(arch) + ")";
}

uint32_t host_arch()
{
#if defined(__x86_64__)
	return HETMIG_ARCH_X86_64;
#elif defined(__aarch64__)
	return HETMIG_ARCH_AARCH64;
#else
#error "hetmig supports x86_64 and aarch64 only"
#endif
}

Result<ModuleVersion> parse_version_reply(const nlmsghdr *nlh)
{
	static nla_policy policy[HETMIG_A_MAX + 1] = {};
	policy[HETMIG_A_PROTO_VERSION].type = NLA_U32;
	policy[HETMIG_A_MODULE_VERSION].type = NLA_STRING;
	policy[HETMIG_A_ARCH].type = NLA_U32;
	policy[HETMIG_A_KERNEL_RELEASE].type = NLA_STRING;
	policy[HETMIG_A_PAGE_SIZE].type = NLA_U32;

	nlattr *tb[HETMIG_A_MAX + 1] = {};
	if (genlmsg_parse(const_cast<nlmsghdr *>(nlh), 0, tb, HETMIG_A_MAX,
			  policy) < 0)
		return fail(EBADMSG, "GET_VERSION reply: malformed attributes");

	for (int a : {HETMIG_A_PROTO_VERSION, HETMIG_A_MODULE_VERSION, HETMIG_A_ARCH,
		      HETMIG_A_KERNEL_RELEASE, HETMIG_A_PAGE_SIZE})
		if (!tb[a])
			return fail(EBADMSG, "GET_VERSION reply: attribute " +
					     std::to_string(a) + " missing");

	ModuleVersion v;
	v.proto_version = nla_get_u32(tb[HETMIG_A_PROTO_VERSION]);
	v.module_version = nla_string(tb[HETMIG_A_MODULE_VERSION]);
	v.arch = nla_get_u32(tb[HETMIG_A_ARCH]);
	v.kernel_release = nla_string(tb[HETMIG_A_KERNEL_RELEASE]);
	v.page_size = nla_get_u32(tb[HETMIG_A_PAGE_SIZE]);
	return v;
}

Result<ModuleVersion> query_version(GenlClient &client)
{
	auto req = client.new_request(HETMIG_CMD_GET_VERSION);
	if (!req)
		return std::unexpected(req.error());
	if (nla_put_u32(req->get(), HETMIG_A_PROTO_VERSION, HETMIG_PROTO_VERSION) < 0)
		return fail(EMSGSIZE, "GET_VERSION: nla_put");

	return request_one<ModuleVersion>(client, std::move(*req), parse_version_reply,
					  "GET_VERSION");
}

} // namespace hetmig
