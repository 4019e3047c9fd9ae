// SPDX-License-Identifier: GPL-2.0
// An image's pages written into the process rebuilt from it.
#pragma once

#include <optional>
#include <span>
#include <sys/types.h>
#include <vector>

#include "anon_fill.h"
#include "error.h"
#include "genl.h"
#include "image.h"

namespace hetmig {

// An image's pages into the process rebuilt from it. Shared memory goes
// into its memfd; private anonymous memory, nearly all of a process's,
// through UFFD (the process's userfaultfd, -1 for none: anon_fill.h),
// which allocates each page and copies into it once; what is left,
// process_vm_writev where the mapping is writable, else WRITE_PAGES
// (read-only mappings, as ptrace's POKE would: hetmig.ko copies into a
// buffer of its own and then into the target with access_process_vm).
class PageWriter {
public:
	// IMG's metadata (its mappings) is all that is read of it; SHM are
	// the memfds of the tree's shared memory, by Mapping::shared.
	PageWriter(GenlClient &client, pid_t pid, const Image &img, const std::vector<int> &shm,
		   int uffd, const LazyFill &lazy = {});
	// RUNS written, private anonymous pages by up to THREADS at once.
	// Pieces left that touch registered memory (a page UFFDIO_COPY
	// refused; a run reaching past a private anonymous mapping) wait for
	// finish(), since the other ways fault on memory still registered:
	// viewed where they are when RUNS_KEPT (they live until finish()),
	// else copied.
	Result<void> write(std::span<const PageRun> runs, unsigned threads, bool runs_kept);
	// The userfaultfd closed, then what it refused written the other ways.
	Result<void> finish();

private:
	Result<void> write_other(const PagePiece &piece);

	GenlClient &client_;
	pid_t pid_;
	const Image &img_;
	const std::vector<int> &shm_;
	std::optional<AnonymousFill> anonymous_;
	std::vector<PageRun> refused_;
	std::vector<AddressRange> writable_;
};

// All of IMG's pages (Image::pages) written, on every CPU.
Result<void> write_pages(GenlClient &client, pid_t pid, const Image &img,
			 const std::vector<int> &shm, int uffd, const LazyFill &lazy = {});

// The page records of process PROCESS of a streamed image (PageStream)
// written as they are read, one at a time: what is held is one record.
// IMG's own pages (sorted: a pre-copy's held pages) go in first; a record
// that writes one of them again refuses the image.
Result<void> write_streamed_pages(GenlClient &client, pid_t pid, const Image &img,
				  const std::vector<int> &shm, int uffd, PageStream &pages,
				  size_t process, const LazyFill &lazy = {});

} // namespace hetmig
