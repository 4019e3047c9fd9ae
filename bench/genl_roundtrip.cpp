// SPDX-License-Identifier: GPL-2.0
// Cost of one request to the hetmig family, side by side with the cheapest
// generic netlink request there is (the controller's GETFAMILY): the fixed
// price every hetmig command pays before doing any work.
#include <benchmark/benchmark.h>
#include <netlink/genl/ctrl.h>

#include "version.h"

namespace {

void BM_HetmigGetVersion(benchmark::State &state)
{
	auto client = hetmig::GenlClient::connect();
	if (!client) {
		state.SkipWithError(client.error().describe().c_str());
		return;
	}
	for (auto _ : state) {
		auto v = hetmig::query_version(*client);
		if (!v) {
			state.SkipWithError(v.error().describe().c_str());
			return;
		}
		benchmark::DoNotOptimize(v->arch);
	}
}
BENCHMARK(BM_HetmigGetVersion);

void BM_CtrlGetFamily(benchmark::State &state)
{
	hetmig::NlSock sk(nl_socket_alloc());
	if (!sk || genl_connect(sk.get()) < 0) {
		state.SkipWithError("genl_connect failed");
		return;
	}
	for (auto _ : state)
		benchmark::DoNotOptimize(genl_ctrl_resolve(sk.get(), "nlctrl"));
}
BENCHMARK(BM_CtrlGetFamily);

} // namespace

BENCHMARK_MAIN();
