// SPDX-License-Identifier: GPL-2.0
#include "dirty_tracking.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/mman.h>
#include <unistd.h>

#include <xxhash.h>

#include "pagemap.h"
#include "seizure.h"

namespace hetmig {

namespace {

constexpr uint64_t kSoftDirtyBit = 1ull << 55;
constexpr uint64_t kPfnMask = (1ull << 55) - 1;
constexpr size_t kChunk = 1 << 20;	// memory read at once

std::string proc_path(pid_t pid, const char *what)
{
	return "/proc/" + std::to_string(pid) + "/" + what;
}

class Fd {
public:
	explicit Fd(int fd) : fd_(fd) {}
	Fd(const Fd &) = delete;
	~Fd()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	int get() const { return fd_; }

private:
	int fd_;
};

// Pagemap entries of [START, END), read in bounded chunks (a mapping can
// reserve terabytes); FN(addr, entry) for each.
template <typename Fn>
Result<void> each_entry(int pagemap, uint64_t page, uint64_t start, uint64_t end, Fn fn)
{
	std::vector<uint64_t> entries(8192);
	for (uint64_t first = start / page, last = end / page; first < last;) {
		size_t n = size_t(std::min<uint64_t>(entries.size(), last - first));
		ssize_t got = pread(pagemap, entries.data(), n * 8, off_t(first * 8));
		if (got < 0)
			return fail(errno, "reading pagemap");
		if (got == 0)
			break;
		for (size_t i = 0; i < size_t(got) / 8; i++)
			fn((first + i) * page, entries[i]);
		first += size_t(got) / 8;
	}
	return {};
}

// The frames of the kernel's zero page and huge zero page, as pagemap
// shows them to root (0: not shown, unknown). A page the receiver holds
// that the process dropped (MADV_DONTNEED) and then only read is mapped to
// the zero page again without a soft-dirty bit: it must count as dirty, or
// the receiver would keep the bytes it had (CRIU checks the same frame).
struct ZeroFrames {
	uint64_t small = 0, huge = 0;
	uint64_t huge_pages = 0;	// frames of the huge zero page

	bool contain(uint64_t entry) const
	{
		uint64_t pfn = entry & kPfnMask;
		if (!pm_present(entry) || !pfn)
			return false;
		return pfn == small || (huge && pfn >= huge && pfn < huge + huge_pages);
	}
};

// Reads a fresh anonymous page (and a fresh huge page's worth) of our own.
ZeroFrames probe_zero_frames()
{
	ZeroFrames z;
	const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE)), huge = 2 << 20;
	Fd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
	auto pfn_of = [&](const void *p) -> uint64_t {
		uint64_t e = 0;
		if (pread(pagemap.get(), &e, 8, off_t(uintptr_t(p) / page * 8)) != 8 ||
		    !pm_present(e))
			return 0;
		return e & kPfnMask;
	};
	void *p = mmap(nullptr, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		return z;
	auto *aligned = reinterpret_cast<volatile char *>((uintptr_t(p) + huge - 1) & ~(huge - 1));
	madvise((void *)aligned, huge, MADV_NOHUGEPAGE);
	(void)aligned[0];
	z.small = pfn_of((const void *)aligned);
	madvise((void *)aligned, huge, MADV_HUGEPAGE);
	madvise((void *)aligned, huge, MADV_DONTNEED);
	(void)aligned[page];
	uint64_t h = pfn_of((const void *)(aligned + page));
	if (h && h != z.small) {
		z.huge = h - 1;  // the frame of the page at offset PAGE
		z.huge_pages = huge / page;
	}
	munmap(p, 2 * huge);
	return z;
}

const ZeroFrames &zero_frames()
{
	static const ZeroFrames z = probe_zero_frames();
	return z;
}

// The pages of the running process a dump would carry, from /proc/PID/maps
// and pagemap, with their soft-dirty bits: the same rule as capture's
// (anonymous memory present or swapped; of a private file mapping the
// private copies), without hetmig.ko, since the process is not frozen.
// What a round sends beyond the capture's pages is dropped by the final
// round; shared mappings, the vdso and vvar are never carried.
Result<std::vector<PageState>> running_pages(pid_t pid, uint64_t page)
{
	std::ifstream maps(proc_path(pid, "maps"));
	if (!maps)
		return fail(ESRCH, strf("process %d vanished", pid));
	Fd pagemap(open(proc_path(pid, "pagemap").c_str(), O_RDONLY | O_CLOEXEC));
	if (pagemap.get() < 0)
		return fail(errno, strf("cannot read the memory of process %d", pid));
	std::vector<PageState> out;
	for (std::string line; std::getline(maps, line);) {
		std::istringstream in(line);
		std::string range, perms, offset, dev, path;
		uint64_t inode = 0;
		in >> range >> perms >> offset >> dev >> inode;
		std::getline(in >> std::ws, path);
		auto dash = range.find('-');
		if (dash == std::string::npos || perms.size() < 4)
			continue;
		uint64_t start = std::stoull(range.substr(0, dash), nullptr, 16);
		uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
		if (perms[3] == 's' || path == "[vdso]" || path == "[vvar]" || path == "[vsyscall]")
			continue;
		bool file = inode != 0;
		auto r = each_entry(pagemap.get(), page, start, end, [&](uint64_t a, uint64_t e) {
			bool wanted = file ? (pm_present(e) && !pm_file_or_shared(e)) || pm_swapped(e)
					   : pm_present(e) || pm_swapped(e);
			if (wanted)
				out.push_back({a, bool(e & kSoftDirtyBit), zero_frames().contain(e)});
		});
		if (!r)
			return std::unexpected(r.error());
	}
	return out;
}

Result<void> clear_soft_dirty(pid_t pid)
{
	Fd fd(open(proc_path(pid, "clear_refs").c_str(), O_WRONLY | O_CLOEXEC));
	if (fd.get() < 0 || write(fd.get(), "4", 1) != 1)
		return fail(errno, strf("clearing the soft-dirty bits of process %d", pid));
	return {};
}

} // namespace

const char *tracking_name(DirtyTracking t)
{
	return t == DirtyTracking::kSoftDirty ? "soft-dirty" : "hash";
}

std::optional<DirtyTracking> parse_tracking(const std::string &name)
{
	if (name == "soft-dirty")
		return DirtyTracking::kSoftDirty;
	if (name == "hash")
		return DirtyTracking::kHash;
	return std::nullopt;
}

bool soft_dirty_works()
{
	const long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(nullptr, size_t(page), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	auto *byte = static_cast<volatile char *>(p);
	Fd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
	auto bit = [&]() {
		uint64_t e = 0;
		if (pread(pagemap.get(), &e, 8, off_t(uintptr_t(p) / uint64_t(page) * 8)) != 8)
			return -1;
		return int(!!(e & kSoftDirtyBit));
	};
	*byte = 1;
	bool works = clear_soft_dirty(getpid()) && bit() == 0;
	*byte = 2;
	works = works && bit() == 1;
	munmap(p, size_t(page));
	return works;
}

Result<PrecopySender> PrecopySender::open(pid_t pid, DirtyTracking tracking)
{
	auto mem = MemoryReader::open(pid);
	if (!mem)
		return std::unexpected(mem.error());
	return PrecopySender(pid, tracking, uint64_t(sysconf(_SC_PAGESIZE)), std::move(*mem));
}

Result<std::vector<uint64_t>> PrecopySender::scan_running()
{
	if (tracking_ == DirtyTracking::kHash) {
		auto pages = running_pages(pid_, page_size_);
		if (!pages)
			return std::unexpected(pages.error());
		for (auto &p : *pages)
			p.dirty = false;  // soft-dirty bits mean nothing here
		if (auto r = hash_compare(*pages); !r)
			return std::unexpected(r.error());
		return to_send(*pages);
	}
	// Stopped while the bits are read and cleared: a write between the
	// two would be lost.
	auto stopped = Seizure::stop(pid_);
	if (!stopped)
		return std::unexpected(stopped.error());
	auto pages = running_pages(pid_, page_size_);
	if (!pages)
		return std::unexpected(pages.error());
	if (auto r = clear_soft_dirty(pid_); !r)
		return std::unexpected(r.error());
	stopped->release();
	zero_pages_dirty(*pages);
	return to_send(*pages);
}

void PrecopySender::zero_pages_dirty(std::vector<PageState> &pages) const
{
	for (auto &p : pages)
		if (p.zero && ledger_.held(p.addr) == kSentNonZero)
			p.dirty = true;
}

std::vector<uint64_t> PrecopySender::to_send(const std::vector<PageState> &pages)
{
	// Forgotten until sent: the bits just cleared will not tell again,
	// and the rounds may end before these pages go.
	auto out = ledger_.to_send(pages);
	for (uint64_t a : out)
		ledger_.forget(a);
	return out;
}

PageReader PrecopySender::recording_reader()
{
	return [this, read = mem_.reader()](uint64_t addr, std::span<uint8_t> out) -> Result<void> {
		// The process runs: a mapping may be gone since the scan. Its
		// pages are sent as zeros and left out of the ledger, so the
		// final round sends them if they are there again, or drops them.
		if (!read(addr, out)) {
			std::memset(out.data(), 0, out.size());
			return {};
		}
		for (size_t off = 0; off + page_size_ <= out.size(); off += page_size_) {
			const uint8_t *page = out.data() + off;
			if (tracking_ == DirtyTracking::kHash)
				ledger_.sent(addr + off, XXH64(page, page_size_, 0));
			else
				ledger_.sent(addr + off, page[0] == 0 && !std::memcmp(page, page + 1,
											page_size_ - 1)
								 ? kSentZero : kSentNonZero);
		}
		return {};
	};
}

Result<void> PrecopySender::hash_compare(std::vector<PageState> &candidates)
{
	auto read = mem_.reader();
	std::vector<uint8_t> buf(kChunk);
	for (size_t i = 0; i < candidates.size();) {
		// A run of contiguous pages the receiver holds, up to a chunk.
		if (!ledger_.held(candidates[i].addr)) {
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < candidates.size() && (j - i) * page_size_ < kChunk &&
		       candidates[j].addr == candidates[j - 1].addr + page_size_ &&
		       ledger_.held(candidates[j].addr))
			j++;
		std::span<uint8_t> bytes{buf.data(), (j - i) * page_size_};
		bool readable = bool(read(candidates[i].addr, bytes));
		for (size_t k = i; k < j; k++)
			candidates[k].dirty = !readable ||
				XXH64(bytes.data() + (k - i) * page_size_, page_size_, 0) !=
				*ledger_.held(candidates[k].addr);
		i = j;
	}
	return {};
}

Result<void> PrecopySender::finish(Image &img)
{
	std::vector<PageState> candidates;
	for (uint64_t a : pages_of(img.pages, page_size_))
		candidates.push_back({a, false});
	if (tracking_ == DirtyTracking::kHash) {
		if (auto r = hash_compare(candidates); !r)
			return r;
	} else {
		Fd pagemap(::open(proc_path(pid_, "pagemap").c_str(), O_RDONLY | O_CLOEXEC));
		if (pagemap.get() < 0)
			return fail(errno, strf("cannot read the memory of process %d", pid_));
		size_t i = 0;
		for (const auto &run : img.pages) {
			auto r = each_entry(pagemap.get(), page_size_, run.addr, run.addr + run.len,
					    [&](uint64_t, uint64_t e) {
						    if (i == candidates.size())
							    return;
						    candidates[i].dirty = e & kSoftDirtyBit;
						    candidates[i].zero = zero_frames().contain(e);
						    i++;
					    });
			if (!r)
				return r;
		}
		if (i != candidates.size())
			return fail(EIO, "pagemap ended before the captured pages");
		zero_pages_dirty(candidates);
	}
	auto f = ledger_.finish(candidates);
	img.pages = runs_of(f.send, page_size_);
	img.precopied.clear();
	for (const auto &r : runs_of(f.kept, page_size_))
		img.precopied.push_back({r.addr, r.len});
	return {};
}

} // namespace hetmig
