// SPDX-License-Identifier: GPL-2.0
#include "convert/memory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hetmig::convert {

Result<AddressSpace> AddressSpace::from_pages(std::vector<PageRun> pages)
{
	AddressSpace as;
	for (auto &run : pages) {
		if (run.data.size() != run.len)
			return fail(EINVAL, strf("page run at 0x%llx holds %zu of %llu bytes",
						 (unsigned long long)run.addr, run.data.size(),
						 (unsigned long long)run.len));
		as.write(run.addr, run.data);
		run.data.clear();
		run.data.shrink_to_fit();
	}
	return as;
}

std::vector<PageRun> AddressSpace::to_pages() const
{
	// Adjacent pages become one run, as the image writer splits them again.
	std::vector<PageRun> runs;
	for (const auto &[addr, bytes] : pages_) {
		if (runs.empty() || runs.back().addr + runs.back().len != addr ||
		    runs.back().len >= kPageRecordMax) {
			runs.push_back({addr, 0, {}});
		}
		PageRun &r = runs.back();
		r.data.insert(r.data.end(), bytes.begin(), bytes.end());
		r.len += kPage;
	}
	return runs;
}

bool AddressSpace::contains(uint64_t addr, uint64_t len) const
{
	for (uint64_t p = addr & ~(kPage - 1); p < addr + len; p += kPage)
		if (!pages_.contains(p))
			return false;
	return true;
}

Result<void> AddressSpace::read(uint64_t addr, std::span<uint8_t> out) const
{
	uint64_t done = 0;
	while (done < out.size()) {
		uint64_t a = addr + done, page = a & ~(kPage - 1), off = a - page;
		auto it = pages_.find(page);
		if (it == pages_.end())
			return fail(EFAULT, strf("the image holds no memory at 0x%llx",
						 (unsigned long long)a));
		uint64_t n = std::min<uint64_t>(kPage - off, out.size() - done);
		std::memcpy(out.data() + done, it->second.data() + off, n);
		done += n;
	}
	return {};
}

Result<uint64_t> AddressSpace::read_u64(uint64_t addr) const
{
	uint64_t v;
	if (auto r = read(addr, {reinterpret_cast<uint8_t *>(&v), 8}); !r)
		return std::unexpected(r.error());
	return v;
}

std::vector<uint8_t> &AddressSpace::page_for_write(uint64_t page)
{
	auto &p = pages_[page];
	if (p.empty())
		p.resize(kPage);
	return p;
}

void AddressSpace::write(uint64_t addr, std::span<const uint8_t> bytes)
{
	uint64_t done = 0;
	while (done < bytes.size()) {
		uint64_t a = addr + done, page = a & ~(kPage - 1), off = a - page;
		uint64_t n = std::min<uint64_t>(kPage - off, bytes.size() - done);
		std::memcpy(page_for_write(page).data() + off, bytes.data() + done, n);
		done += n;
	}
}

void AddressSpace::write_u64(uint64_t addr, uint64_t value)
{
	write(addr, {reinterpret_cast<const uint8_t *>(&value), 8});
}

void AddressSpace::discard(uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;
	for (uint64_t p = addr & ~(kPage - 1); p < end; p += kPage) {
		auto it = pages_.find(p);
		if (it == pages_.end())
			continue;
		if (p >= addr && p + kPage <= end) {
			pages_.erase(it);
			continue;
		}
		uint64_t lo = std::max(p, addr), hi = std::min(p + kPage, end);
		std::memset(it->second.data() + (lo - p), 0, hi - lo);
	}
}

void AddressSpace::keep_only(const std::vector<std::pair<uint64_t, uint64_t>> &ranges)
{
	std::erase_if(pages_, [&](const auto &entry) {
		for (auto [start, end] : ranges)
			if (entry.first >= start && entry.first + kPage <= end)
				return false;
		return true;
	});
}

} // namespace hetmig::convert
