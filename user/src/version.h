// SPDX-License-Identifier: GPL-2.0
// HETMIG_CMD_GET_VERSION: which module answers, on which kernel.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "error.h"
#include "genl.h"

namespace hetmig {

struct ModuleVersion {
	uint32_t proto_version = 0;
	std::string module_version;
	uint32_t arch = 0;  // enum hetmig_arch
	std::string kernel_release;
	uint32_t page_size = 0;
};

// "x86_64", "aarch64", or "unknown(N)".
std::string arch_name(uint32_t arch);

// The architecture this program was built for, as enum hetmig_arch.
uint32_t host_arch();

// Decodes a GET_VERSION reply; every attribute the header promises must be
// there and well formed.
Result<ModuleVersion> parse_version_reply(const nlmsghdr *nlh);

Result<ModuleVersion> query_version(GenlClient &client);

} // namespace hetmig
