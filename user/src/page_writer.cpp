// SPDX-License-Identifier: GPL-2.0
#include "page_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <linux/hetmig.h>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include "anon_fill.h"
#include "fds/fd.h"

namespace hetmig {

namespace {

// The writable mappings of an image as [start, end) ranges in address
// order, merged where they touch: a piece that lies in one of them can be
// written with process_vm_writev. Looked up by binary search, not a scan
// of every mapping per piece (a process of 5,000 mappings and as many runs
// took 25 million comparisons).
class WritableRanges {
public:
	explicit WritableRanges(const Image &img)
	{
		for (const auto &m : img.mappings)
			if (m.prot & HETMIG_PROT_WRITE)
				ranges_.emplace_back(m.start, m.end);
		std::sort(ranges_.begin(), ranges_.end());
		std::vector<std::pair<uint64_t, uint64_t>> merged;
		for (const auto &r : ranges_)
			if (!merged.empty() && r.first <= merged.back().second)
				merged.back().second = std::max(merged.back().second, r.second);
			else
				merged.push_back(r);
		ranges_ = std::move(merged);
	}

	bool hold(const PagePiece &piece) const
	{
		auto it = std::upper_bound(ranges_.begin(), ranges_.end(),
					   std::make_pair(piece.addr, UINT64_MAX));
		if (it == ranges_.begin())
			return false;
		--it;
		return piece.addr >= it->first && piece.addr + piece.bytes.size() <= it->second;
	}

private:
	std::vector<std::pair<uint64_t, uint64_t>> ranges_;
};

// PIECE written into PID's memory with process_vm_writev: one copy, the
// target's pages faulted in (zeroed) and pinned a batch at a time. False
// if it did not all go in.
bool write_directly(pid_t pid, const PagePiece &piece)
{
	size_t done = 0, size = piece.bytes.size();
	while (done < size) {
		iovec local{const_cast<uint8_t *>(piece.bytes.data()) + done, size - done};
		iovec remote{reinterpret_cast<void *>(piece.addr + done), size - done};
		ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			return false;
		done += size_t(n);
	}
	return true;
}

// How many threads copy pages in with UFFDIO_COPY: one per CPU, up to 4
// (each copies a page at a time under the mm's read lock, so they scale).
unsigned copy_threads()
{
	return std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
}


} // namespace

Result<void> write_pages(GenlClient &client, pid_t pid, const Image &img,
			 const std::vector<int> &shm, int uffd)
{
	fds::UniqueFd owned(uffd);  // closed on every way out
	std::vector<PagePiece> pieces;
	for (const auto &run : img.pages) {
		std::span<const uint8_t> bytes = run.bytes();
		// Shared memory straight into its object, whatever the mapping's
		// protection.
		const Mapping *m = mapping_containing(img, run.addr);
		if (m && m->shared >= 0) {
			if (run.addr + bytes.size() > m->end || size_t(m->shared) >= shm.size())
				return fail(EINVAL, strf("pages at 0x%lx overrun their shared memory",
							 (unsigned long)run.addr));
			uint64_t off = run.addr - m->start + m->pgoff;
			if (auto r = fds::pwrite_all(shm[size_t(m->shared)], bytes, off,
						     "writing shared memory"); !r)
				return r;
			continue;
		}
		pieces.push_back({run.addr, bytes});
	}
	if (owned.get() >= 0)
		pieces = fill_anonymous(owned.release(), img, std::move(pieces), copy_threads());
	const WritableRanges writable(img);
	for (const auto &piece : pieces) {
		if (writable.hold(piece) && write_directly(pid, piece))
			continue;
		auto req = client.pid_request(HETMIG_CMD_WRITE_PAGES, uint32_t(pid));
		if (!req)
			return std::unexpected(req.error());
		if (nla_put_u64(req->get(), HETMIG_A_PAGES_ADDR, piece.addr) ||
		    nla_put_u64(req->get(), HETMIG_A_PAGES_BUF,
				reinterpret_cast<uint64_t>(piece.bytes.data())) ||
		    nla_put_u64(req->get(), HETMIG_A_PAGES_LEN, piece.bytes.size()))
			return fail(EMSGSIZE, "WRITE_PAGES");
		if (auto r = client.ack(std::move(*req), "WRITE_PAGES"); !r)
			return r;
	}
	return {};
}

} // namespace hetmig
