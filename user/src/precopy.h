// SPDX-License-Identifier: GPL-2.0
// The bookkeeping of iterative pre-copy (`hetmig send --live`), without the
// process or the wire, so that it is tested on its own
// (user/tests/precopy_test.cpp).
//
// The sender keeps a ledger of the pages the receiver holds: which page
// addresses it sent, and in hash tracking the XXH64 of the bytes it sent.
// Each round sends the pages that are dirty (written since they were sent)
// or that the receiver lacks (new mappings, newly touched pages). The final
// round, with the process frozen and captured, splits the capture's pages
// into those still to send and those the receiver keeps from the rounds;
// every page the capture does not name is dropped there, so the final
// memory map is the one that counts.
//
// The receiver keeps the latest copy of every page it was sent (a later
// round replaces an earlier one) and, once the final image arrives, moves
// the pages the image names as pre-copied into it and drops the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig {

// The pre-copy protocol this hetmig speaks (the kLive message).
inline constexpr uint32_t kPrecopyVersion = 1;

// A page the capture (or a round's scan) would carry, and whether the
// tracker saw it written since the ledger's copy was taken.
struct PageState {
	uint64_t addr = 0;
	bool dirty = false;
	bool zero = false;	// maps the kernel's zero page (read, never written)
};

// Sorted page addresses as runs of contiguous pages (DATA empty).
std::vector<PageRun> runs_of(const std::vector<uint64_t> &pages, uint64_t page_size);
// The page addresses of RUNS, in order.
std::vector<uint64_t> pages_of(const std::vector<PageRun> &runs, uint64_t page_size);

class PrecopyLedger {
public:
	explicit PrecopyLedger(uint64_t page_size) : page_size_(page_size) {}

	// Of CANDIDATES, the pages a round sends: dirty ones and ones the
	// receiver does not hold.
	std::vector<uint64_t> to_send(const std::vector<PageState> &candidates) const;
	// The receiver holds ADDR as sent now; HASH is the XXH64 of the bytes
	// sent (hash tracking) or 0.
	void sent(uint64_t addr, uint64_t hash = 0) { held_[addr] = hash; }
	// The receiver's copy of ADDR is stale: a scan found it dirty, and
	// the tracker will not say so again (soft-dirty bits are cleared
	// by the scan). Until a round sends it, it is not held.
	void forget(uint64_t addr) { held_.erase(addr); }
	// The hash recorded for ADDR, if the receiver holds it.
	std::optional<uint64_t> held(uint64_t addr) const;
	size_t pages() const { return held_.size(); }

	// The final round: of CANDIDATES (the capture's pages), those to send
	// and those the receiver keeps from the rounds.
	struct Final {
		std::vector<uint64_t> send, kept;
	};
	Final finish(const std::vector<PageState> &candidates) const;

private:
	uint64_t page_size_;
	std::unordered_map<uint64_t, uint64_t> held_;
};

// When the rounds stop. DIRTY_BYTES is each round's set, the first the
// whole memory; SENT the bytes sent so far. The next round (of
// DIRTY_BYTES.back() bytes) is sent only when nullopt comes back.
struct RoundBounds {
	int max_rounds = 8;		// rounds before the final one
	uint64_t max_bytes = 0;		// pre-copy bytes at most (0: no bound)
	// A dirty set this small is left to the final round: two huge pages,
	// since a transparent huge page is one soft-dirty bit and a process
	// that writes all the time keeps at least one dirty.
	uint64_t small_bytes = 4 << 20;
};
struct RoundsEnd {
	std::string why;
	bool gave_up = false;	// a bound or a dirty set that no longer shrinks
};
std::optional<RoundsEnd> rounds_end(const std::vector<uint64_t> &dirty_bytes, uint64_t sent,
				    const RoundBounds &bounds);

// How long the final round would stop the process, in ms: its DIRTY_BYTES
// at the rate the rounds went (SENT bytes in SEND_MS of sending). Only the
// pages: the freeze, the capture and the rebuild add a fixed part (tens of
// ms here, more under TCG). Nothing when no round was timed.
std::optional<double> final_round_ms(uint64_t dirty_bytes, uint64_t sent, double send_ms);

// The receiver's copy of the pages of the rounds.
class PrecopyStore {
public:
	explicit PrecopyStore(uint64_t page_size) : page_size_(page_size) {}

	// The pages of RUNS replace what was held at their addresses.
	Result<void> apply(std::vector<PageRun> &&runs);
	// Moves the pages IMG names as pre-copied into IMG's pages (sorted by
	// address; a record whose pages are all named is moved, not copied)
	// and drops every other page held. A page named but never
	// sent, or one that is sent in the final round too, refuses the image.
	Result<void> complete(Image &img);
	uint64_t bytes() const { return held_bytes_; }

private:
	uint64_t page_size_;
	// Records as they came, and where each page's latest copy is in them
	// (record, offset): the final image takes whole records as they are.
	std::vector<PageRun> records_;
	std::unordered_map<uint64_t, std::pair<uint32_t, uint64_t>> where_;
	uint64_t held_bytes_ = 0;
};

} // namespace hetmig
