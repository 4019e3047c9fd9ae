// SPDX-License-Identifier: GPL-2.0
// The memory of an image as one sparse address space, for the converter:
// read and write words anywhere the image has pages, add or drop ranges.
// Pages the image does not hold read as zero inside a known range
// (untouched anonymous memory) and as an error outside every range.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig::convert {

class AddressSpace {
public:
	// Takes the image's page runs (they must hold their data).
	static Result<AddressSpace> from_pages(std::vector<PageRun> pages);
	std::vector<PageRun> to_pages() const;

	bool contains(uint64_t addr, uint64_t len) const;
	Result<void> read(uint64_t addr, std::span<uint8_t> out) const;
	Result<uint64_t> read_u64(uint64_t addr) const;
	// Writing creates the pages it touches (zero-filled around the bytes).
	void write(uint64_t addr, std::span<const uint8_t> bytes);
	void write_u64(uint64_t addr, uint64_t value);
	// Drops [addr, addr + len): those bytes are no longer carried.
	void discard(uint64_t addr, uint64_t len);
	// Drops every page outside the sorted, disjoint [start, end) ranges.
	void keep_only(const std::vector<std::pair<uint64_t, uint64_t>> &ranges);

	// Every 8-byte-aligned word in [lo, hi), for pointer scans.
	template <typename F> void for_each_word(uint64_t lo, uint64_t hi, F &&f) const;

private:
	// One page (4 KiB) per entry: simple and fast enough for the stacks and
	// data segments conversion rewrites; pages are moved, not copied.
	static constexpr uint64_t kPage = 4096;
	std::map<uint64_t, std::vector<uint8_t>> pages_;
	std::vector<uint8_t> &page_for_write(uint64_t page);
};

template <typename F>
void AddressSpace::for_each_word(uint64_t lo, uint64_t hi, F &&f) const
{
	for (auto it = pages_.lower_bound(lo & ~(kPage - 1)); it != pages_.end() && it->first < hi; ++it)
		for (uint64_t off = 0; off < kPage; off += 8) {
			uint64_t addr = it->first + off;
			if (addr < lo || addr + 8 > hi)
				continue;
			uint64_t v;
			__builtin_memcpy(&v, it->second.data() + off, 8);
			f(addr, v);
		}
}

} // namespace hetmig::convert
