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

PageWriter::PageWriter(GenlClient &client, pid_t pid, const Image &img,
		       const std::vector<int> &shm, int uffd, const LazyFill &lazy)
	: client_(client), pid_(pid), img_(img), shm_(shm),
	  // Where process_vm_writev can write.
	  writable_(mapping_ranges(img, [](const Mapping &m) {
		  return (m.prot & HETMIG_PROT_WRITE) != 0;
	  }))
{
	anonymous_.emplace(uffd, img, lazy);
}

Result<void> PageWriter::write(std::span<const PageRun> runs, unsigned threads, bool runs_kept)
{
	std::vector<PagePiece> pieces;
	for (const auto &run : runs) {
		std::span<const uint8_t> bytes = run.bytes();
		// Shared memory straight into its object, whatever the mapping's
		// protection.
		const Mapping *m = mapping_containing(img_, run.addr);
		if (m && m->shared >= 0) {
			if (run.addr + bytes.size() > m->end || size_t(m->shared) >= shm_.size())
				return fail(EINVAL, strf("pages at 0x%lx overrun their shared memory",
							 (unsigned long)run.addr));
			uint64_t off = run.addr - m->start + m->pgoff;
			if (auto r = fds::pwrite_all(shm_[size_t(m->shared)], bytes, off,
						     "writing shared memory"); !r)
				return r;
			continue;
		}
		pieces.push_back({run.addr, bytes});
	}
	if (anonymous_)
		pieces = anonymous_->copy(std::move(pieces), threads);
	for (const auto &piece : pieces) {
		if (anonymous_ && anonymous_->registered(piece)) {
			PageRun later{piece.addr, piece.bytes.size()};
			if (runs_kept)
				later.view = piece.bytes;
			else
				later.data.assign(piece.bytes.begin(), piece.bytes.end());
			refused_.push_back(std::move(later));
			continue;
		}
		if (auto r = write_other(piece); !r)
			return r;
	}
	return {};
}

Result<void> PageWriter::finish()
{
	anonymous_.reset();
	for (const auto &run : refused_)
		if (auto r = write_other({run.addr, run.bytes()}); !r)
			return r;
	refused_.clear();
	return {};
}

Result<void> PageWriter::write_other(const PagePiece &piece)
{
	if (ranges_hold(writable_, piece.addr, piece.bytes.size()) && write_directly(pid_, piece))
		return {};
	auto req = client_.pid_request(HETMIG_CMD_WRITE_PAGES, uint32_t(pid_));
	if (!req)
		return std::unexpected(req.error());
	if (nla_put_u64(req->get(), HETMIG_A_PAGES_ADDR, piece.addr) ||
	    nla_put_u64(req->get(), HETMIG_A_PAGES_BUF,
			reinterpret_cast<uint64_t>(piece.bytes.data())) ||
	    nla_put_u64(req->get(), HETMIG_A_PAGES_LEN, piece.bytes.size()))
		return fail(EMSGSIZE, "WRITE_PAGES");
	return client_.ack(std::move(*req), "WRITE_PAGES");
}

Result<void> write_pages(GenlClient &client, pid_t pid, const Image &img,
			 const std::vector<int> &shm, int uffd, const LazyFill &lazy)
{
	PageWriter writer(client, pid, img, shm, uffd, lazy);
	if (auto r = writer.write(img.pages, copy_threads(), true); !r)
		return r;
	return writer.finish();
}

Result<void> write_streamed_pages(GenlClient &client, pid_t pid, const Image &img,
				  const std::vector<int> &shm, int uffd, PageStream &pages,
				  size_t process, const LazyFill &lazy)
{
	PageWriter writer(client, pid, img, shm, uffd, lazy);
	// Pages held already (a pre-copy's, PrecopyStore::complete), sorted:
	// a record may not write any of them again.
	if (auto r = writer.write(img.pages, copy_threads(), true); !r)
		return r;
	for (;;) {
		auto run = pages.next(process);
		if (!run)
			return std::unexpected(run.error());
		if (!*run)
			break;
		const PageRun &rec = **run;
		if (run_overlapping(img.pages, rec.addr, rec.len))
			return fail(EBADMSG, strf("corrupted image: pages at 0x%llx come twice "
						  "(pre-copied and sent again)",
						  (unsigned long long)rec.addr));
		if (auto r = writer.write({&rec, 1}, 1, false); !r)
			return r;
	}
	return writer.finish();
}

} // namespace hetmig
