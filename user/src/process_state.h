// SPDX-License-Identifier: GPL-2.0
// What hetmig.ko exports of a stopped process: threads with their register
// sets (GET_REGS), the address space's layout (GET_MM) and its mappings
// (GET_VMAS), decoded from netlink into plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "error.h"
#include "genl.h"
#include "pagemap.h"

namespace hetmig {

struct ThreadState {
	uint32_t tid = 0;
	uint32_t arch = 0;
	uint64_t sigmask = 0;
	uint64_t thread_pointer = 0;
	uint64_t altstack_sp = 0, altstack_size = 0;
	uint32_t altstack_flags = 0;
	uint64_t clear_child_tid = 0, robust_list = 0;
	uint64_t rseq = 0;	// registered rseq area, 0 if none
	uint32_t rseq_sig = 0;
	std::map<uint32_t, std::vector<uint8_t>> regsets;  // by ELF note type
};

struct MmLayout {
	uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
	uint64_t start_brk = 0, brk = 0, start_stack = 0;
	uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
	uint32_t map_count = 0;
	std::vector<uint64_t> auxv;  // pairs, up to and including AT_NULL
};

struct Mapping {
	uint64_t start = 0, end = 0, pgoff = 0, inode = 0;
	uint32_t prot = 0, flags = 0, kind = 0, dev_major = 0, dev_minor = 0;
	std::string path;  // backing file
	std::string name;  // special mapping name ("[vdso]")
	PageCounts pages;  // from /proc/PID/pagemap (see pagemap.h)
	// Shared memory (MAP_SHARED anonymous, shared /dev/zero, a memfd):
	// its index in the root image's Image::shared; -1 for none.
	int32_t shared = -1;
	// A private mapping of a deleted file or memfd that an fd of the tree
	// holds: its index in the root image's Image::ghosts, the file it is
	// mapped from again (fds/ghost_files.h); -1 for none.
	int32_t ghost = -1;
};

// One signal's disposition other than the default.
struct SignalAction {
	uint32_t signal = 0;
	uint64_t handler = 0, flags = 0, mask = 0, restorer = 0;
};

Result<std::vector<SignalAction>> query_signals(GenlClient &client, uint32_t pid);
Result<std::vector<ThreadState>> query_threads(GenlClient &client, uint32_t pid);
Result<MmLayout> query_mm(GenlClient &client, uint32_t pid);
// /proc/WHO/oom_score_adj (WHO: a pid, or "self"), if readable.
std::optional<int> read_oom_score_adj(const std::string &who);
// With PAGE_COUNTS, each mapping's pages are counted from pagemap too.
Result<std::vector<Mapping>> query_mappings(GenlClient &client, uint32_t pid,
					    bool page_counts = true);

// Program counter and stack pointer out of a thread's NT_PRSTATUS.
struct PcSp {
	uint64_t pc = 0, sp = 0;
};
std::optional<PcSp> pc_sp(const ThreadState &t);

// The line /proc/PID/maps would print for M.
std::string maps_line(const Mapping &m);

nlohmann::json to_json(const ThreadState &t);
nlohmann::json to_json(const MmLayout &mm);
nlohmann::json to_json(const Mapping &m);
nlohmann::json to_json(const SignalAction &sa);

} // namespace hetmig
