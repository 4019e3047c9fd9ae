// SPDX-License-Identifier: GPL-2.0
// hetmig version [--json]: the companion's and the loaded module's versions.
#include <cstdio>
#include <cstring>
#include <linux/hetmig.h>

#include "commands.h"
#include "version.h"

namespace hetmig {

int cmd_version(int argc, char **argv)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--json")) {
			json = true;
		} else {
			std::fprintf(stderr, "usage: hetmig version [--json]\n");
			return kExitUsage;
		}
	}

	auto client = GenlClient::connect();
	auto v = client ? query_version(*client)
			: Result<ModuleVersion>(std::unexpected(client.error()));
	if (!v) {
		std::fprintf(stderr, "hetmig: %s\n", v.error().describe().c_str());
		return exit_code_for(v.error());
	}

	if (json) {
		std::printf("{\"companion\":{\"version\":\"%s\",\"proto\":%d,\"arch\":\"%s\"},"
			    "\"module\":{\"version\":\"%s\",\"proto\":%u,\"arch\":\"%s\","
			    "\"kernel\":\"%s\",\"page_size\":%u}}\n",
			    HETMIG_VERSION, HETMIG_PROTO_VERSION,
			    arch_name(host_arch()).c_str(), v->module_version.c_str(),
			    v->proto_version, arch_name(v->arch).c_str(),
			    v->kernel_release.c_str(), v->page_size);
	} else {
		std::printf("hetmig %s (protocol %d, %s)\n", HETMIG_VERSION,
			    HETMIG_PROTO_VERSION, arch_name(host_arch()).c_str());
		std::printf("hetmig.ko %s (protocol %u) on %s %s, page size %u\n",
			    v->module_version.c_str(), v->proto_version,
			    arch_name(v->arch).c_str(), v->kernel_release.c_str(),
			    v->page_size);
	}
	return kExitOk;
}

} // namespace hetmig
