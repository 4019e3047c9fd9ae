// SPDX-License-Identifier: GPL-2.0
#include "postcopy.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <linux/hetmig.h>

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
		// Locked memory is faulted in whole by the restore's mlock,
		// before post-copy could fill it; a child forked from memory
		// wiped on fork must find zeros, not the source's pages.
		if (!private_anonymous(m) ||
		    (m.flags & (HETMIG_VMA_F_LOCKED | HETMIG_VMA_F_WIPEONFORK)))
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
	for (const auto &[s, e] : pages) {
		uint64_t n = (e - s) / page_;
		extents_.push_back({s, s, n, std::vector<bool>(n, true)});
		waiting_ += n;
	}
	std::sort(extents_.begin(), extents_.end(),
		  [](const Extent &a, const Extent &b) { return a.place < b.place; });
	index_sources();
}

void LazyLedger::index_sources()
{
	by_source_.resize(extents_.size());
	for (size_t i = 0; i < by_source_.size(); i++)
		by_source_[i] = i;
	std::sort(by_source_.begin(), by_source_.end(),
		  [this](size_t a, size_t b) { return extents_[a].src < extents_[b].src; });
}

const LazyLedger::Extent *LazyLedger::at_place(uint64_t addr) const
{
	auto it = std::upper_bound(extents_.begin(), extents_.end(), addr,
				   [](uint64_t a, const Extent &e) { return a < e.place; });
	if (it == extents_.begin() || addr >= (--it)->place + it->pages * page_)
		return nullptr;
	return &*it;
}

const LazyLedger::Extent *LazyLedger::at_source(uint64_t src) const
{
	auto it = std::upper_bound(by_source_.begin(), by_source_.end(), src,
				   [this](uint64_t a, size_t e) { return a < extents_[e].src; });
	if (it == by_source_.begin())
		return nullptr;
	const Extent &e = extents_[*--it];
	return src < e.src + e.pages * page_ ? &e : nullptr;
}

std::optional<uint64_t> LazyLedger::source_of(uint64_t addr) const
{
	addr -= addr % page_;
	const Extent *e = at_place(addr);
	if (!e || !e->waiting[(addr - e->place) / page_])
		return std::nullopt;
	return e->src + (addr - e->place);
}

std::optional<uint64_t> LazyLedger::place_of(uint64_t src) const
{
	const Extent *e = at_source(src);
	if (!e || !e->waiting[(src - e->src) / page_])
		return std::nullopt;
	return e->place + (src - e->src);
}

void LazyLedger::filled(uint64_t addr)
{
	auto *e = const_cast<Extent *>(at_place(addr));
	if (!e)
		return;
	auto bit = e->waiting[(addr - e->place) / page_];
	if (bit) {
		bit = false;
		waiting_--;
	}
}

void LazyLedger::dropped(uint64_t start, uint64_t end)
{
	start -= start % page_;
	auto it = std::upper_bound(extents_.begin(), extents_.end(), start,
				   [](uint64_t a, const Extent &e) { return a < e.place; });
	if (it != extents_.begin())
		--it;
	for (; it != extents_.end() && it->place < end; ++it) {
		uint64_t from = std::max(start, it->place);
		uint64_t to = std::min(end, it->place + it->pages * page_);
		for (uint64_t a = from; a < to; a += page_) {
			auto bit = it->waiting[(a - it->place) / page_];
			if (bit) {
				bit = false;
				waiting_--;
			}
		}
	}
}

void LazyLedger::cut_at(uint64_t addr)
{
	auto *e = const_cast<Extent *>(at_place(addr));
	if (!e || e->place == addr)
		return;
	uint64_t head = (addr - e->place) / page_;
	Extent tail{addr, e->src + head * page_, e->pages - head,
		    std::vector<bool>(e->waiting.begin() + long(head), e->waiting.end())};
	e->pages = head;
	e->waiting.resize(head);
	extents_.insert(extents_.begin() + (e - extents_.data()) + 1, std::move(tail));
}

void LazyLedger::moved(uint64_t from, uint64_t to, uint64_t len)
{
	// Whatever waited at the destination is gone under the new mapping.
	dropped(to, to + len);
	for (uint64_t a : {from, from + len, to, to + len})
		cut_at(a);
	std::erase_if(extents_,
		      [&](const Extent &e) { return e.place >= to && e.place < to + len; });
	for (auto &e : extents_)
		if (e.place >= from && e.place < from + len)
			e.place = e.place - from + to;
	std::sort(extents_.begin(), extents_.end(),
		  [](const Extent &a, const Extent &b) { return a.place < b.place; });
	index_sources();
}

} // namespace hetmig
