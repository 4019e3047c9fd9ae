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

std::optional<double> final_round_ms(uint64_t dirty_bytes, uint64_t sent, double send_ms)
{
	if (!sent || send_ms <= 0)
		return std::nullopt;
	return double(dirty_bytes) * send_ms / double(sent);
}

Result<void> PrecopyStore::apply(std::vector<PageRun> &&runs)
{
	for (auto &r : runs) {
		if (r.addr % page_size_ || r.len % page_size_ || r.data.size() != r.len)
			return fail(EBADMSG, strf("corrupted pre-copy round: a run at 0x%llx of %llu "
						  "bytes is not whole pages",
						  (unsigned long long)r.addr,
						  (unsigned long long)r.len));
		// A page held already is overwritten where it is; a record
		// with new pages is kept as it came (its pages held elsewhere
		// left unused in it), so a later round costs no memory more
		// than its new pages.
		bool has_new = false;
		for (uint64_t off = 0; off < r.len; off += page_size_) {
			auto it = where_.find(r.addr + off);
			if (it == where_.end()) {
				has_new = true;
				continue;
			}
			auto &rec = records_[it->second.first];
			std::memcpy(rec.data.data() + it->second.second, r.data.data() + off, page_size_);
		}
		if (!has_new)
			continue;
		uint32_t index = uint32_t(records_.size());
		for (uint64_t off = 0; off < r.len; off += page_size_)
			if (where_.emplace(r.addr + off, std::pair{index, off}).second)
				held_bytes_ += page_size_;
		records_.push_back(std::move(r));
	}
	return {};
}

Result<void> PrecopyStore::complete(Image &img)
{
	// Each pre-copied page once: taken out of WHERE_ as it joins IMG.
	for (const auto &[addr, len] : img.precopied) {
		if (addr % page_size_ || len % page_size_ || !len)
			return fail(EBADMSG, "corrupted image: a pre-copied run is not whole pages");
		for (uint64_t at = addr; at < addr + len;) {
			auto it = where_.find(at);
			if (it == where_.end())
				return fail(EBADMSG, strf("the image names the page at 0x%llx as "
							  "pre-copied, but no round sent it",
							  (unsigned long long)at));
			auto [index, off] = it->second;
			PageRun &rec = records_[index];
			// The pages from AT that follow each other in one record.
			uint64_t n = 0;
			while (at + n < addr + len && off + n < rec.len) {
				auto next = where_.find(at + n);
				if (next == where_.end() || next->second.first != index ||
				    next->second.second != off + n)
					break;
				where_.erase(next);
				n += page_size_;
			}
			if (off == 0 && n == rec.len) {
				img.pages.push_back(std::move(rec));	// the whole record: no copy
				rec = {};
			} else {
				img.pages.push_back({at, n, std::vector<uint8_t>(
						rec.data.begin() + long(off),
						rec.data.begin() + long(off + n))});
			}
			at += n;
		}
	}
	// What is left was unmapped or dropped by the process since it was sent.
	records_.clear();
	where_.clear();
	held_bytes_ = 0;
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
