// SPDX-License-Identifier: GPL-2.0
// The bookkeeping of post-copy (`hetmig send --lazy`), without the process,
// the userfaultfd or the wire, so that it is tested on its own
// (user/tests/postcopy_test.cpp); postcopy_loop.h runs it.
//
// With --lazy the image carries every page but those of the process's
// private anonymous memory (its heap, its anonymous mappings), which the
// source keeps, frozen, after the commit. The destination runs at once:
// those mappings are registered with a userfaultfd of the process, a page
// it touches before it came is asked for (the sender answers it first,
// with a few after it), and the sender pushes the rest meanwhile. When
// every page is in, the userfaultfd goes and the source ends.
//
// The stacks of the threads (the mappings their stack pointers and signal
// stacks are in) are not left for later: the restore runs code on them
// before the process is let go, and a fault there would wait for pages
// the sender sends only after the commit.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig {

// The post-copy protocol this hetmig speaks (the kLazy message).
inline constexpr uint32_t kPostcopyVersion = 1;

// What post-copy leaves of an image for later.
struct LazyPlan {
	// Whole mappings of the image, in address order: registered with the
	// process's userfaultfd before it runs, until every page is in.
	std::vector<AddressRange> mappings;
	// The pages the source serves, as runs [start, end) in address order,
	// each within one of MAPPINGS. Any other page of them is a zero page.
	std::vector<AddressRange> pages;
	uint64_t bytes() const;
};

// Moves IMG's page runs (listed, not read: a capture's) that lie in
// mappings post-copy can fill out of IMG into the plan: private anonymous
// mappings (anon_fill.h) that hold no thread's stack pointer or signal
// stack. IMG keeps the rest, which go before the process runs, and the
// pages the kernel writes for a thread as soon as it runs (its rseq area,
// robust list, control block) wherever they are.
// With LAZY_RUNS, the runs taken out go there too, with their bytes when
// IMG's runs carry them (a converted image's).
LazyPlan plan_lazy(Image &img, std::vector<PageRun> *lazy_runs = nullptr);

// A reader of the bytes RUNS hold (sorted, with bytes), for the pages a
// converted image leaves for post-copy: the source's memory is not the
// image's there.
PageReader runs_reader(std::shared_ptr<const std::vector<PageRun>> runs);

// A tree's plans (its root's first, then Image::members' in order) as the
// kLazyPlan message carries them, and back; a plan that is not sorted,
// overlaps itself, is not page-aligned or has a page outside its mappings
// is refused as corrupted.
std::vector<uint8_t> encode_lazy_plans(const std::vector<LazyPlan> &plans);
Result<std::vector<LazyPlan>> decode_lazy_plans(std::span<const uint8_t> bytes,
						uint64_t page_size);
// Whether PLAN's mappings are private anonymous mappings of IMG, each one
// exactly (a userfaultfd registration that splits an area would change the
// process's map), and IMG carries none of the pages it serves.
Result<void> check_lazy_plan(const LazyPlan &plan, const Image &img);

// The sender's side: which of the plan's pages went, and what to send next.
class LazySource {
public:
	LazySource(std::vector<AddressRange> pages, uint64_t page_size);

	// The next pages to push, in address order: a run of at most
	// MAX_PAGES pages not sent yet, taken as sent; nullopt when every page
	// went.
	std::optional<AddressRange> next_push(uint64_t max_pages);
	// A fault at ADDR: its page and up to PREFETCH pages after it in its
	// run, as far as none of them went yet, taken as sent; nullopt when
	// ADDR is no page of the plan or went already (it is on its way).
	std::optional<AddressRange> answer(uint64_t addr, uint64_t prefetch);
	bool all_sent() const { return left_ == 0; }
	uint64_t pages_left() const { return left_; }

private:
	uint64_t page_;
	std::vector<AddressRange> runs_;
	std::vector<std::vector<bool>> sent_;	// per run, per page
	size_t cursor_run_ = 0;
	uint64_t cursor_page_ = 0;
	uint64_t left_ = 0;
	AddressRange take(size_t run, uint64_t first, uint64_t max_pages);
};

// The receiver's side, for one address space: the pages it still waits
// for, by their place there now and by their address at the source (they
// differ once the process moves a mapping with mremap). Kept as extents
// (a plan's runs, cut where mremap moved part of one) with a bit a page:
// 1 GiB of pages is 32 KiB here, not a map entry each.
class LazyLedger {
public:
	LazyLedger(const std::vector<AddressRange> &pages, uint64_t page_size);

	// A fault at ADDR: the source page to ask for, or nullopt when the
	// page is none the source serves (a zero page, or gone).
	std::optional<uint64_t> source_of(uint64_t addr) const;
	// Where the source page SRC goes now, if this address space still
	// waits for it.
	std::optional<uint64_t> place_of(uint64_t src) const;
	// The page now at ADDR is in (copied, or found there).
	void filled(uint64_t addr);
	// [START, END) was unmapped or dropped (munmap, MADV_DONTNEED): its
	// pages are waited for no more (they read as zeros now).
	void dropped(uint64_t start, uint64_t end);
	// mremap: LEN bytes at FROM are at TO now.
	void moved(uint64_t from, uint64_t to, uint64_t len);
	size_t waiting() const { return waiting_; }

private:
	struct Extent {
		uint64_t place, src, pages;
		std::vector<bool> waiting;	// by page
	};
	// The extent holding place ADDR (by_place_) or source address SRC.
	const Extent *at_place(uint64_t addr) const;
	const Extent *at_source(uint64_t src) const;
	// An extent border at place ADDR, splitting the one across it.
	void cut_at(uint64_t addr);
	void index_sources();

	uint64_t page_;
	std::vector<Extent> extents_;		// by place, not overlapping
	std::vector<size_t> by_source_;		// indices of extents_, by src
	size_t waiting_ = 0;
};

} // namespace hetmig
