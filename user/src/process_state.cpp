// SPDX-License-Identifier: GPL-2.0
#include "process_state.h"

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <fstream>
#include <string.h>
#include <elf.h>
#include <linux/hetmig.h>

#include "version.h"

namespace hetmig {

namespace {

using Attrs = nlattr *[HETMIG_A_MAX + 1];


Result<void> parse_attrs(const nlmsghdr *nlh, Attrs &tb, const char *what)
{
	std::memset(tb, 0, sizeof(tb));
	if (genlmsg_parse(const_cast<nlmsghdr *>(nlh), 0, tb, HETMIG_A_MAX, nullptr) < 0)
		return fail(EBADMSG, std::string(what) + ": malformed reply");
	return {};
}

uint64_t u64_or_0(const nlattr *a) { return a ? nla_get_u64(const_cast<nlattr *>(a)) : 0; }
uint32_t u32_or_0(const nlattr *a) { return a ? nla_get_u32(const_cast<nlattr *>(a)) : 0; }

std::string hex(uint64_t v)
{
	char buf[24];
	std::snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return buf;
}

} // namespace

Result<std::vector<ThreadState>> query_threads(GenlClient &client, uint32_t pid)
{
	std::vector<ThreadState> threads;
	auto on_reply = [&](const nlmsghdr *nlh) -> Result<void> {
		Attrs tb;
		if (auto r = parse_attrs(nlh, tb, "GET_REGS"); !r)
			return r;
		if (!tb[HETMIG_A_TID])
			return fail(EBADMSG, "GET_REGS: reply without a tid");
		uint32_t tid = nla_get_u32(tb[HETMIG_A_TID]);
		if (tb[HETMIG_A_REGSET_NOTE] && tb[HETMIG_A_REGSET_DATA]) {
			if (threads.empty() || threads.back().tid != tid)
				return fail(EBADMSG, "GET_REGS: a regset before its thread");
			auto *data = static_cast<const uint8_t *>(nla_data(tb[HETMIG_A_REGSET_DATA]));
			threads.back().regsets[nla_get_u32(tb[HETMIG_A_REGSET_NOTE])]
				.assign(data, data + nla_len(tb[HETMIG_A_REGSET_DATA]));
			return {};
		}
		ThreadState t;
		t.tid = tid;
		t.arch = u32_or_0(tb[HETMIG_A_ARCH]);
		t.sigmask = u64_or_0(tb[HETMIG_A_SIGMASK]);
		t.thread_pointer = u64_or_0(tb[HETMIG_A_THREAD_POINTER]);
		t.altstack_sp = u64_or_0(tb[HETMIG_A_ALTSTACK_SP]);
		t.altstack_size = u64_or_0(tb[HETMIG_A_ALTSTACK_SIZE]);
		t.altstack_flags = u32_or_0(tb[HETMIG_A_ALTSTACK_FLAGS]);
		t.clear_child_tid = u64_or_0(tb[HETMIG_A_CLEAR_CHILD_TID]);
		t.robust_list = u64_or_0(tb[HETMIG_A_ROBUST_LIST]);
		t.rseq = u64_or_0(tb[HETMIG_A_RSEQ]);
		t.rseq_sig = u32_or_0(tb[HETMIG_A_RSEQ_SIG]);
		threads.push_back(std::move(t));
		return {};
	};
	auto r = client.dump(HETMIG_CMD_GET_REGS, pid, on_reply,
			     [&] { threads.clear(); }, "GET_REGS");
	if (!r)
		return std::unexpected(r.error());
	return threads;
}

Result<std::vector<SignalAction>> query_signals(GenlClient &client, uint32_t pid)
{
	auto req = client.pid_request(HETMIG_CMD_GET_SIGNALS, pid);
	if (!req)
		return std::unexpected(req.error());
	auto parse = [](const nlmsghdr *nlh) -> Result<std::vector<SignalAction>> {
		std::vector<SignalAction> actions;
		nlattr *attr;
		int rem;
		// Repeated nests: walk the attributes rather than a table.
		nlmsg_for_each_attr(attr, const_cast<nlmsghdr *>(nlh), GENL_HDRLEN, rem) {
			if (nla_type(attr) != HETMIG_A_SIGACTION)
				continue;
			nlattr *sa[HETMIG_SA_MAX + 1] = {};
			if (nla_parse_nested(sa, HETMIG_SA_MAX, attr, nullptr) < 0 ||
			    !sa[HETMIG_SA_SIGNAL])
				return fail(EBADMSG, "GET_SIGNALS: malformed reply");
			actions.push_back({nla_get_u32(sa[HETMIG_SA_SIGNAL]),
					   u64_or_0(sa[HETMIG_SA_HANDLER]),
					   u64_or_0(sa[HETMIG_SA_FLAGS]),
					   u64_or_0(sa[HETMIG_SA_MASK]),
					   u64_or_0(sa[HETMIG_SA_RESTORER])});
		}
		return actions;
	};
	return request_one<std::vector<SignalAction>>(client, std::move(*req), parse,
						      "GET_SIGNALS");
}

Result<MmLayout> query_mm(GenlClient &client, uint32_t pid)
{
	auto req = client.pid_request(HETMIG_CMD_GET_MM, pid);
	if (!req)
		return std::unexpected(req.error());
	auto parse = [](const nlmsghdr *nlh) -> Result<MmLayout> {
		Attrs tb;
		if (auto p = parse_attrs(nlh, tb, "GET_MM"); !p)
			return std::unexpected(p.error());
		MmLayout mm;
		mm.start_code = u64_or_0(tb[HETMIG_A_MM_START_CODE]);
		mm.end_code = u64_or_0(tb[HETMIG_A_MM_END_CODE]);
		mm.start_data = u64_or_0(tb[HETMIG_A_MM_START_DATA]);
		mm.end_data = u64_or_0(tb[HETMIG_A_MM_END_DATA]);
		mm.start_brk = u64_or_0(tb[HETMIG_A_MM_START_BRK]);
		mm.brk = u64_or_0(tb[HETMIG_A_MM_BRK]);
		mm.start_stack = u64_or_0(tb[HETMIG_A_MM_START_STACK]);
		mm.arg_start = u64_or_0(tb[HETMIG_A_MM_ARG_START]);
		mm.arg_end = u64_or_0(tb[HETMIG_A_MM_ARG_END]);
		mm.env_start = u64_or_0(tb[HETMIG_A_MM_ENV_START]);
		mm.env_end = u64_or_0(tb[HETMIG_A_MM_ENV_END]);
		mm.map_count = u32_or_0(tb[HETMIG_A_MM_MAP_COUNT]);
		if (const nlattr *a = tb[HETMIG_A_MM_AUXV]) {
			mm.auxv.resize(nla_len(a) / sizeof(uint64_t));
			std::memcpy(mm.auxv.data(), nla_data(a), mm.auxv.size() * sizeof(uint64_t));
		}
		return mm;
	};
	return request_one<MmLayout>(client, std::move(*req), parse, "GET_MM");
}

Result<std::vector<Mapping>> query_mappings(GenlClient &client, uint32_t pid,
					    bool page_counts)
{
	std::vector<Mapping> maps;
	auto on_reply = [&](const nlmsghdr *nlh) -> Result<void> {
		Attrs tb;
		if (auto r = parse_attrs(nlh, tb, "GET_VMAS"); !r)
			return r;
		if (!tb[HETMIG_A_VMA_START] || !tb[HETMIG_A_VMA_END])
			return fail(EBADMSG, "GET_VMAS: a mapping without its range");
		Mapping m;
		m.start = nla_get_u64(tb[HETMIG_A_VMA_START]);
		m.end = nla_get_u64(tb[HETMIG_A_VMA_END]);
		m.prot = u32_or_0(tb[HETMIG_A_VMA_PROT]);
		m.flags = u32_or_0(tb[HETMIG_A_VMA_FLAGS]);
		m.kind = u32_or_0(tb[HETMIG_A_VMA_KIND]);
		m.pgoff = u64_or_0(tb[HETMIG_A_VMA_PGOFF]);
		m.inode = u64_or_0(tb[HETMIG_A_VMA_INODE]);
		m.dev_major = u32_or_0(tb[HETMIG_A_VMA_DEV_MAJOR]);
		m.dev_minor = u32_or_0(tb[HETMIG_A_VMA_DEV_MINOR]);
		m.path = nla_string(tb[HETMIG_A_VMA_PATH]);
		m.name = nla_string(tb[HETMIG_A_VMA_NAME]);
		maps.push_back(std::move(m));
		return {};
	};
	auto r = client.dump(HETMIG_CMD_GET_VMAS, pid, on_reply,
			     [&] { maps.clear(); }, "GET_VMAS");
	if (!r)
		return std::unexpected(r.error());
	if (!page_counts)
		return maps;
	auto pagemap = Pagemap::open(pid);
	if (!pagemap)
		return std::unexpected(pagemap.error());
	for (auto &m : maps) {
		auto pages = pagemap->count(m.start, m.end);
		if (!pages)
			return std::unexpected(pages.error());
		m.pages = *pages;
	}
	return maps;
}

std::optional<PcSp> pc_sp(const ThreadState &t)
{
	auto it = t.regsets.find(NT_PRSTATUS);
	if (it == t.regsets.end())
		return std::nullopt;
	const auto &d = it->second;
	auto word = [&](size_t index) -> std::optional<uint64_t> {
		if ((index + 1) * 8 > d.size())
			return std::nullopt;
		uint64_t v;
		std::memcpy(&v, d.data() + index * 8, 8);
		return v;
	};
	// x86_64 user_regs_struct: rip is word 16, rsp word 19.
	// aarch64 user_pt_regs: x0..x30, sp (31), pc (32).
	std::optional<uint64_t> pc, sp;
	if (t.arch == HETMIG_ARCH_X86_64) {
		pc = word(16);
		sp = word(19);
	} else if (t.arch == HETMIG_ARCH_AARCH64) {
		pc = word(32);
		sp = word(31);
	}
	if (!pc || !sp)
		return std::nullopt;
	return PcSp{*pc, *sp};
}

std::string maps_line(const Mapping &m)
{
	std::string name = m.path.empty() ? m.name : m.path;
	if (m.kind == HETMIG_VMA_HEAP)
		name = "[heap]";
	else if (m.kind == HETMIG_VMA_STACK)
		name = "[stack]";
	char buf[128];
	std::snprintf(buf, sizeof(buf), "%08" PRIx64 "-%08" PRIx64 " %c%c%c%c %08" PRIx64
		      " %02x:%02x %" PRIu64 " ", m.start, m.end,
		      m.prot & HETMIG_PROT_READ ? 'r' : '-',
		      m.prot & HETMIG_PROT_WRITE ? 'w' : '-',
		      m.prot & HETMIG_PROT_EXEC ? 'x' : '-',
		      m.flags & HETMIG_VMA_F_MAYSHARE ? 's' : 'p', m.pgoff,
		      m.dev_major, m.dev_minor, m.inode);
	return buf + name;
}

nlohmann::json to_json(const ThreadState &t)
{
	nlohmann::json regsets = nlohmann::json::object();
	for (const auto &[note, data] : t.regsets)
		regsets[hex(note)] = data.size();
	nlohmann::json j = {
		{"tid", t.tid},
		{"arch", arch_name(t.arch)},
		{"sigmask", hex(t.sigmask)},
		{"thread_pointer", hex(t.thread_pointer)},
		{"altstack", {{"sp", hex(t.altstack_sp)}, {"size", t.altstack_size},
			      {"flags", t.altstack_flags}}},
		{"clear_child_tid", hex(t.clear_child_tid)},
		{"robust_list", hex(t.robust_list)},
		{"regset_sizes", regsets},
	};
	if (auto r = pc_sp(t)) {
		j["pc"] = hex(r->pc);
		j["sp"] = hex(r->sp);
	}
	return j;
}

nlohmann::json to_json(const MmLayout &mm)
{
	nlohmann::json auxv = nlohmann::json::array();
	for (size_t i = 0; i + 1 < mm.auxv.size(); i += 2)
		auxv.push_back({mm.auxv[i], hex(mm.auxv[i + 1])});
	return {
		{"start_code", hex(mm.start_code)}, {"end_code", hex(mm.end_code)},
		{"start_data", hex(mm.start_data)}, {"end_data", hex(mm.end_data)},
		{"start_brk", hex(mm.start_brk)}, {"brk", hex(mm.brk)},
		{"start_stack", hex(mm.start_stack)},
		{"arg_start", hex(mm.arg_start)}, {"arg_end", hex(mm.arg_end)},
		{"env_start", hex(mm.env_start)}, {"env_end", hex(mm.env_end)},
		{"map_count", mm.map_count}, {"auxv", auxv},
	};
}

nlohmann::json to_json(const SignalAction &sa)
{
	const char *abbrev = sigabbrev_np(int(sa.signal));
	return {
		{"signal", sa.signal}, {"name", abbrev ? abbrev : "?"},
		{"handler", sa.handler == 0 ? "default" : sa.handler == 1 ? "ignore" : hex(sa.handler)},
		{"flags", hex(sa.flags)}, {"mask", hex(sa.mask)}, {"restorer", hex(sa.restorer)},
	};
}

nlohmann::json to_json(const Mapping &m)
{
	static const char *const kinds[] = {"?", "anon", "file", "heap", "stack", "special"};
	nlohmann::json j = {
		{"start", hex(m.start)}, {"end", hex(m.end)},
		{"prot", std::string(m.prot & HETMIG_PROT_READ ? "r" : "-") +
			 (m.prot & HETMIG_PROT_WRITE ? "w" : "-") +
			 (m.prot & HETMIG_PROT_EXEC ? "x" : "-")},
		{"shared", bool(m.flags & HETMIG_VMA_F_SHARED)},
		{"kind", m.kind < 6 ? kinds[m.kind] : "?"},
		{"offset", m.pgoff},
		{"pages", {{"present", m.pages.present}, {"swapped", m.pages.swapped},
			   {"anon", m.pages.anon}}},
	};
	if (!m.path.empty()) {
		j["path"] = m.path;
		j["dev"] = std::to_string(m.dev_major) + ":" + std::to_string(m.dev_minor);
		j["inode"] = m.inode;
	}
	if (!m.name.empty())
		j["name"] = m.name;
	return j;
}

std::optional<int> read_oom_score_adj(const std::string &who)
{
	std::ifstream in("/proc/" + who + "/oom_score_adj");
	int value;
	if (in >> value)
		return value;
	return std::nullopt;
}

} // namespace hetmig
