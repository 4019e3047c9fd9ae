// SPDX-License-Identifier: GPL-2.0
// Which pages a running process wrote since they were sent: the sending
// side of `hetmig send --live` (precopy.h holds its bookkeeping).
//
// Two trackers:
//  - soft-dirty (x86_64): writing 4 to /proc/PID/clear_refs clears every
//    page's soft-dirty bit and write-protects it; the next write sets bit
//    55 of the page's /proc/PID/pagemap entry again. A new mapping's pages
//    are all soft-dirty. The process is stopped (ptrace, no hetmig.ko
//    freeze) while a round reads the bits and clears them, so that no
//    write falls between the two; the pages are then read while it runs,
//    and a write during that read is dirty again in the next round.
//  - hash (arm64, whose 6.1 kernel has no soft-dirty; any kernel with
//    --dirty-tracking hash): every page the process would carry is read
//    and its XXH64 compared with that of the bytes last sent. Needs no
//    stop, costs a read and a hash of the whole memory a round, the final
//    one included (downtime).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "capture.h"
#include "error.h"
#include "image.h"
#include "precopy.h"

namespace hetmig {

enum class DirtyTracking { kSoftDirty, kHash };
const char *tracking_name(DirtyTracking t);
std::optional<DirtyTracking> parse_tracking(const std::string &name);

// Whether this kernel keeps soft-dirty bits: a page of our own is written,
// cleared and written again, and bit 55 must follow.
bool soft_dirty_works();

class PrecopySender {
public:
	static Result<PrecopySender> open(pid_t pid, DirtyTracking tracking);

	DirtyTracking tracking() const { return tracking_; }
	uint64_t page_size() const { return page_size_; }

	// The pages of the running process a round must send: dirty ones and
	// ones the receiver lacks. In soft-dirty tracking the bits are
	// cleared here, the process stopped for the while.
	Result<std::vector<uint64_t>> scan_running();
	// Reads memory for write_page_records and enters what it read in the
	// ledger: what a round reads is what the receiver holds.
	PageReader recording_reader();
	// The final round, the process frozen and IMG captured: IMG's pages
	// become the ones still to send, IMG's precopied the ones the
	// receiver keeps.
	Result<void> finish(Image &img);
	const PrecopyLedger &ledger() const { return ledger_; }

private:
	PrecopySender(pid_t pid, DirtyTracking t, uint64_t page_size, MemoryReader mem)
		: pid_(pid), tracking_(t), page_size_(page_size), mem_(std::move(mem)),
		  ledger_(page_size) {}
	// Soft-dirty tracking: what the ledger records of a page sent, so that
	// a page found on the zero page again (dropped, then read; no bit set)
	// counts as dirty unless zeros were what the receiver got.
	static constexpr uint64_t kSentZero = 0, kSentNonZero = 1;
	void zero_pages_dirty(std::vector<PageState> &pages) const;
	// The ledger's choice of PAGES, which it then forgets until sent.
	std::vector<uint64_t> to_send(const std::vector<PageState> &pages);
	// Marks the pages of CANDIDATES whose bytes differ from what was sent.
	Result<void> hash_compare(std::vector<PageState> &candidates);

	pid_t pid_;
	DirtyTracking tracking_;
	uint64_t page_size_;
	MemoryReader mem_;
	PrecopyLedger ledger_;
};

} // namespace hetmig
