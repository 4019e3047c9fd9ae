// SPDX-License-Identifier: GPL-2.0
#include "precopy.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hetmig {

namespace {

double mib(uint64_t b)
{
	return double(b) / (1 << 20);
}

} // namespace

std::vector<PageRun> runs_of(const std::vector<uint64_t> &pages, uint64_t page_size)
{
	std::vector<PageRun> runs;
	for (uint64_t p : pages) {
		if (!runs.empty() && runs.back().addr + runs.back().len == p)
			runs.back().len += page_size;
		else
			runs.push_back({p, page_size, {}});
	}
	return runs;
}

std::vector<uint64_t> pages_of(const std::vector<PageRun> &runs, uint64_t page_size)
{
	std::vector<uint64_t> pages;
	for (const auto &r : runs)
		for (uint64_t a = r.addr; a < r.addr + r.len; a += page_size)
			pages.push_back(a);
	return pages;
}

std::vector<uint64_t> PrecopyLedger::to_send(const std::vector<PageState> &candidates) const
{
	std::vector<uint64_t> out;
	for (const auto &c : candidates)
		if (c.dirty || !held_.contains(c.addr))
			out.push_back(c.addr);
	return out;
}

std::optional<uint64_t> PrecopyLedger::held(uint64_t addr) const
{
	auto it = held_.find(addr);
	if (it == held_.end())
		return std::nullopt;
	return it->second;
}

PrecopyLedger::Final PrecopyLedger::finish(const std::vector<PageState> &candidates) const
{
	Final f;
	for (const auto &c : candidates)
		(c.dirty || !held_.contains(c.addr) ? f.send : f.kept).push_back(c.addr);
	return f;
}

std::optional<RoundsEnd> rounds_end(const std::vector<uint64_t> &dirty_bytes, uint64_t sent,
				    const RoundBounds &bounds)
{
	size_t n = dirty_bytes.size();
	if (n <= 1)
		return std::nullopt;  // the first round, the whole memory, always goes
	uint64_t next = dirty_bytes[n - 1], before = dirty_bytes[n - 2];
	if (next <= bounds.small_bytes)
		return RoundsEnd{strf("converged: %.1f MiB dirty since the last round", mib(next)),
				 false};
	if (next >= before)
		return RoundsEnd{strf("the dirty set no longer shrinks (%.1f MiB, %.1f MiB the "
				      "round before)", mib(next), mib(before)), true};
	if (int(n) > bounds.max_rounds)
		return RoundsEnd{strf("%d rounds, its bound (--max-rounds), with %.1f MiB still "
				      "dirty", bounds.max_rounds, mib(next)), true};
	if (bounds.max_bytes && sent + next > bounds.max_bytes)
		return RoundsEnd{strf("%.1f MiB more would pass its bound of %.1f MiB "
				      "(--max-precopy)", mib(next), mib(bounds.max_bytes)), true};
	return std::nullopt;
}

Result<void> PrecopyStore::apply(std::vector<PageRun> &&runs)
{
	for (auto &r : runs) {
		if (r.addr % page_size_ || r.len % page_size_ || r.data.size() != r.len)
			return fail(EBADMSG, strf("corrupted pre-copy round: a run at 0x%llx of %llu "
						  "bytes is not whole pages",
						  (unsigned long long)r.addr,
						  (unsigned long long)r.len));
		for (uint64_t off = 0; off < r.len; off += page_size_) {
			auto &page = pages_[r.addr + off];
			page.assign(r.data.begin() + long(off), r.data.begin() + long(off + page_size_));
		}
		r.data = {};
	}
	return {};
}

Result<void> PrecopyStore::complete(Image &img)
{
	for (const auto &[addr, len] : img.precopied) {
		if (addr % page_size_ || len % page_size_ || !len)
			return fail(EBADMSG, "corrupted image: a pre-copied run is not whole pages");
		// In pieces of a record's size, as read_image makes them: the
		// pages held are freed as they are copied, so the merge needs
		// a record's memory more than the pages, not twice them.
		for (uint64_t at = addr; at < addr + len;) {
			uint64_t n = std::min<uint64_t>(addr + len - at, kPageRecordMax);
			PageRun run{at, n, std::vector<uint8_t>(n)};
			for (uint64_t off = 0; off < n; off += page_size_) {
				auto it = pages_.find(at + off);
				if (it == pages_.end())
					return fail(EBADMSG, strf("the image names the page at 0x%llx "
								  "as pre-copied, but no round sent it",
								  (unsigned long long)(at + off)));
				std::memcpy(run.data.data() + off, it->second.data(), page_size_);
				pages_.erase(it);
			}
			img.pages.push_back(std::move(run));
			at += n;
		}
	}
	pages_.clear();  // unmapped or dropped by the process since they were sent
	img.precopied.clear();
	std::sort(img.pages.begin(), img.pages.end(),
		  [](const PageRun &a, const PageRun &b) { return a.addr < b.addr; });
	for (size_t i = 1; i < img.pages.size(); i++)
		if (img.pages[i - 1].addr + img.pages[i - 1].len > img.pages[i].addr)
			return fail(EBADMSG, strf("corrupted image: pages at 0x%llx come twice "
						  "(pre-copied and sent again)",
						  (unsigned long long)img.pages[i].addr));
	return {};
}

} // namespace hetmig
