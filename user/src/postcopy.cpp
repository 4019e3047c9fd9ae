// SPDX-License-Identifier: GPL-2.0
#include "postcopy.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "anon_fill.h"
#include "process_state.h"

namespace hetmig {

namespace {

constexpr uint32_t kSsDisable = 2;	// SS_DISABLE: no signal stack

// Whether [START, END) holds ADDR.
bool holds(const AddressRange &r, uint64_t addr)
{
	return addr >= r.first && addr < r.second;
}

// The addresses where the restore runs code of the process's threads, or
// the kernel writes for them, before it is let go: their stack pointers
// (the syscalls made for us borrow bytes below it) and signal stacks.
std::vector<AddressRange> stack_places(const Image &img)
{
	std::vector<AddressRange> places;
	for (const auto &t : img.threads) {
		if (auto ps = pc_sp(t)) {
			// The byte below SP too: a stack pointer at its mapping's
			// end has its stack in the mapping below.
			places.push_back({ps->sp ? ps->sp - 1 : 0, ps->sp + 1});
		}
		if (t.altstack_size && !(t.altstack_flags & kSsDisable))
			places.push_back({t.altstack_sp, t.altstack_sp + t.altstack_size});
	}
	return places;
}

// Pages the kernel writes for a thread as soon as it returns to user
// space, which it does for the syscalls the restore makes in it: its rseq
// area (cpu ids), and near it in the thread's control block what the
// kernel keeps pointers to. They go with the image wherever they are.
std::vector<uint64_t> thread_pages(const Image &img, uint64_t page)
{
	std::vector<uint64_t> pages;
	auto add = [&](uint64_t addr, uint64_t len) {
		if (!addr)
			return;
		for (uint64_t a = addr - addr % page; a < addr + len; a += page)
			pages.push_back(a);
	};
	for (const auto &t : img.threads) {
		add(t.rseq, 32);
		add(t.robust_list, 24);
		add(t.clear_child_tid, 4);
		add(t.thread_pointer, 1);
	}
	std::sort(pages.begin(), pages.end());
	pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
	return pages;
}

void put_u64(std::vector<uint8_t> &out, uint64_t v)
{
	uint8_t b[8];
	std::memcpy(b, &v, 8);
	out.insert(out.end(), b, b + 8);
}

// Sorted, not overlapping, page-aligned, not empty.
bool well_formed(const std::vector<AddressRange> &ranges, uint64_t page)
{
	for (size_t i = 0; i < ranges.size(); i++) {
		const auto &[s, e] = ranges[i];
		if (s >= e || s % page || e % page || (i && s < ranges[i - 1].second))
			return false;
	}
	return true;
}

} // namespace

uint64_t LazyPlan::bytes() const
{
	uint64_t n = 0;
	for (const auto &[s, e] : pages)
		n += e - s;
	return n;
}

LazyPlan plan_lazy(Image &img, std::vector<PageRun> *lazy_runs)
{
	LazyPlan plan;
	auto places = stack_places(img);
	for (const auto &m : img.mappings) {
		if (!private_anonymous(m))
			continue;
		bool stack = std::any_of(places.begin(), places.end(), [&](const AddressRange &p) {
			return p.first < m.end && p.second > m.start;
		});
		if (!stack)
			plan.mappings.push_back({m.start, m.end});
	}
	std::sort(plan.mappings.begin(), plan.mappings.end());

	// Each run cut where it enters or leaves a lazy mapping, and around
	// the threads' pages.
	const uint64_t page = img.page_size ? img.page_size : 4096;
	const auto eager = thread_pages(img, page);
	auto lazy_part = [&](uint64_t at, uint64_t end, const AddressRange &m) {
		auto e = std::lower_bound(eager.begin(), eager.end(), at);
		if (e != eager.end() && *e == at)
			return std::make_pair(false, at + page);
		uint64_t cut = std::min(end, m.second);
		if (e != eager.end())
			cut = std::min(cut, *e);
		return std::make_pair(true, cut);
	};
	std::vector<PageRun> kept;
	for (auto &run : img.pages) {
		uint64_t at = run.addr, end = run.addr + run.len;
		// [AT, CUT) of RUN, with its bytes when the run has them.
		auto part = [&run](uint64_t from, uint64_t cut) {
			PageRun r{from, cut - from, {}};
			auto bytes = run.bytes();
			if (!bytes.empty())
				r.data.assign(bytes.begin() + long(from - run.addr),
					      bytes.begin() + long(cut - run.addr));
			return r;
		};
		auto m = std::upper_bound(plan.mappings.begin(), plan.mappings.end(),
					  AddressRange{at, UINT64_MAX});
		if (m != plan.mappings.begin())
			--m;
		while (at < end) {
			while (m != plan.mappings.end() && m->second <= at)
				++m;
			if (m != plan.mappings.end() && holds(*m, at)) {
				auto [lazy, cut] = lazy_part(at, end, *m);
				if (!lazy) {
					kept.push_back(part(at, cut));
					at = cut;
					continue;
				}
				if (lazy_runs)
					lazy_runs->push_back(part(at, cut));
				// One run per mapping: a plan's runs lie in one each.
				if (!plan.pages.empty() && plan.pages.back().second == at &&
				    plan.pages.back().first >= m->first)
					plan.pages.back().second = cut;
				else
					plan.pages.push_back({at, cut});
				at = cut;
				continue;
			}
			uint64_t cut = m == plan.mappings.end() ? end : std::min(end, m->first);
			kept.push_back(part(at, cut));
			at = cut;
		}
	}
	img.pages = std::move(kept);
	// Mappings with no page to serve need no registration: their pages,
	// all zero, are the kernel's to give.
	std::vector<AddressRange> used;
	size_t p = 0;
	for (const auto &m : plan.mappings) {
		while (p < plan.pages.size() && plan.pages[p].second <= m.first)
			p++;
		if (p < plan.pages.size() && plan.pages[p].first < m.second)
			used.push_back(m);
	}
	plan.mappings = std::move(used);
	return plan;
}

std::vector<uint8_t> encode_lazy_plans(const std::vector<LazyPlan> &plans)
{
	std::vector<uint8_t> out;
	put_u64(out, plans.size());
	for (const auto &plan : plans) {
		put_u64(out, plan.mappings.size());
		put_u64(out, plan.pages.size());
		for (const auto *ranges : {&plan.mappings, &plan.pages})
			for (const auto &[s, e] : *ranges) {
				put_u64(out, s);
				put_u64(out, e);
			}
	}
	return out;
}

Result<std::vector<LazyPlan>> decode_lazy_plans(std::span<const uint8_t> bytes,
						uint64_t page_size)
{
	auto bad = [] { return fail(EBADMSG, "corrupted post-copy plan"); };
	size_t pos = 0;
	auto get = [&](uint64_t &v) {
		if (bytes.size() - pos < 8)
			return false;
		std::memcpy(&v, bytes.data() + pos, 8);
		pos += 8;
		return true;
	};
	uint64_t n;
	if (!page_size || !get(n) || n > bytes.size() / 16)
		return bad();
	std::vector<LazyPlan> plans(n);
	for (auto &plan : plans) {
		uint64_t nm, np;
		if (!get(nm) || !get(np) || nm > bytes.size() / 16 || np > bytes.size() / 16 ||
		    (nm + np) * 16 > bytes.size() - pos)
			return bad();
		for (uint64_t i = 0; i < nm + np; i++) {
			uint64_t s = 0, e = 0;
			get(s);
			get(e);
			(i < nm ? plan.mappings : plan.pages).push_back({s, e});
		}
		if (!well_formed(plan.mappings, page_size) || !well_formed(plan.pages, page_size))
			return bad();
		for (const auto &[s, e] : plan.pages)
			if (!ranges_hold(plan.mappings, s, e - s))
				return bad();
	}
	if (pos != bytes.size())
		return bad();
	return plans;
}

Result<void> check_lazy_plan(const LazyPlan &plan, const Image &img)
{
	for (const auto &[s, e] : plan.mappings) {
		auto m = std::find_if(img.mappings.begin(), img.mappings.end(),
				      [&](const Mapping &x) { return x.start == s && x.end == e; });
		if (m == img.mappings.end() || !private_anonymous(*m))
			return fail(EBADMSG, strf("corrupted post-copy plan: 0x%llx-0x%llx is no "
						  "private anonymous mapping of the image",
						  (unsigned long long)s, (unsigned long long)e));
	}
	for (const auto &[s, e] : plan.pages)
		if (run_overlapping(img.pages, s, e - s))
			return fail(EBADMSG, strf("corrupted post-copy plan: the image carries pages "
						  "of 0x%llx-0x%llx, which post-copy fills",
						  (unsigned long long)s, (unsigned long long)e));
	return {};
}

PageReader runs_reader(std::shared_ptr<const std::vector<PageRun>> runs)
{
	return [runs](uint64_t addr, std::span<uint8_t> out) -> Result<void> {
		size_t done = 0;
		auto it = std::upper_bound(runs->begin(), runs->end(), addr,
					   [](uint64_t a, const PageRun &r) { return a < r.addr; });
		if (it != runs->begin())
			--it;
		for (; done < out.size() && it != runs->end(); ++it) {
			uint64_t at = addr + done;
			if (at < it->addr || at >= it->addr + it->len)
				break;
			auto bytes = it->bytes();
			size_t n = std::min<size_t>(out.size() - done, it->addr + it->len - at);
			std::memcpy(out.data() + done, bytes.data() + (at - it->addr), n);
			done += n;
		}
		if (done < out.size())
			return fail(EFAULT, strf("no bytes held for 0x%llx",
						 (unsigned long long)(addr + done)));
		return {};
	};
}

LazySource::LazySource(std::vector<AddressRange> pages, uint64_t page_size)
	: page_(page_size), runs_(std::move(pages))
{
	for (const auto &[s, e] : runs_) {
		sent_.emplace_back((e - s) / page_, false);
		left_ += (e - s) / page_;
	}
}

AddressRange LazySource::take(size_t run, uint64_t first, uint64_t max_pages)
{
	auto &sent = sent_[run];
	uint64_t n = 0;
	while (first + n < sent.size() && n < max_pages && !sent[first + n]) {
		sent[first + n] = true;
		n++;
	}
	left_ -= n;
	uint64_t start = runs_[run].first + first * page_;
	return {start, start + n * page_};
}

std::optional<AddressRange> LazySource::next_push(uint64_t max_pages)
{
	while (cursor_run_ < runs_.size()) {
		const auto &sent = sent_[cursor_run_];
		while (cursor_page_ < sent.size() && sent[cursor_page_])
			cursor_page_++;
		if (cursor_page_ < sent.size()) {
			AddressRange r = take(cursor_run_, cursor_page_, std::max<uint64_t>(max_pages, 1));
			cursor_page_ += (r.second - r.first) / page_;
			return r;
		}
		cursor_run_++;
		cursor_page_ = 0;
	}
	return std::nullopt;
}

std::optional<AddressRange> LazySource::answer(uint64_t addr, uint64_t prefetch)
{
	addr -= addr % page_;
	auto it = std::upper_bound(runs_.begin(), runs_.end(), AddressRange{addr, UINT64_MAX});
	if (it == runs_.begin() || !holds(*--it, addr))
		return std::nullopt;
	size_t run = size_t(it - runs_.begin());
	uint64_t first = (addr - it->first) / page_;
	if (sent_[run][first])
		return std::nullopt;
	return take(run, first, prefetch + 1);
}

LazyLedger::LazyLedger(const std::vector<AddressRange> &pages, uint64_t page_size)
	: page_(page_size)
{
	for (const auto &[s, e] : pages)
		for (uint64_t a = s; a < e; a += page_) {
			source_[a] = a;
			place_[a] = a;
		}
}

std::optional<uint64_t> LazyLedger::source_of(uint64_t addr) const
{
	auto it = source_.find(addr - addr % page_);
	if (it == source_.end())
		return std::nullopt;
	return it->second;
}

std::optional<uint64_t> LazyLedger::place_of(uint64_t src) const
{
	auto it = place_.find(src);
	if (it == place_.end())
		return std::nullopt;
	return it->second;
}

void LazyLedger::filled(uint64_t addr)
{
	auto it = source_.find(addr);
	if (it == source_.end())
		return;
	place_.erase(it->second);
	source_.erase(it);
}

void LazyLedger::dropped(uint64_t start, uint64_t end)
{
	start -= start % page_;
	// A range larger than what is waited for is walked by what is.
	if ((end - start) / page_ > source_.size()) {
		for (auto it = source_.begin(); it != source_.end();) {
			if (it->first >= start && it->first < end) {
				place_.erase(it->second);
				it = source_.erase(it);
			} else {
				++it;
			}
		}
		return;
	}
	for (uint64_t a = start; a < end; a += page_)
		filled(a);
}

void LazyLedger::moved(uint64_t from, uint64_t to, uint64_t len)
{
	std::vector<std::pair<uint64_t, uint64_t>> taken;	// offset, source address
	for (uint64_t off = 0; off < len; off += page_) {
		auto it = source_.find(from + off);
		if (it == source_.end())
			continue;
		taken.push_back({off, it->second});
		source_.erase(it);
	}
	// Whatever waited at the destination is gone under the new mapping.
	dropped(to, to + len);
	for (const auto &[off, src] : taken) {
		source_[to + off] = src;
		place_[src] = to + off;
	}
}

} // namespace hetmig
