// SPDX-License-Identifier: GPL-2.0
// Post-copy (`hetmig send --lazy`) on the wire and in the process: the
// sender serving its frozen source's pages, the receiver filling them into
// the running copy with its userfaultfd (postcopy.h has the bookkeeping).
//
// The copy's userfaultfd must make kernel accesses wait too (a read(2)
// into a page not yet here must not fail with EFAULT), and must follow the
// process through fork, mremap, munmap and MADV_DONTNEED: that takes
// CAP_SYS_PTRACE on the receiver (UFFD_FEATURE_EVENT_FORK), so --lazy
// needs a receiver running as root; lazy_possible says so up front.
//
// After the commit the copy runs on pages that are partly still on the
// source: the connection is its lifeline. If it is lost, the receiver kills
// the copy and the sender thaws the source, which runs on from where it
// was frozen; whatever the copy did in between is lost.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "channel.h"
#include "error.h"
#include "image.h"
#include "postcopy.h"

namespace hetmig {

struct PostcopyStats {
	uint64_t pushed = 0;	// bytes sent (sender) or filled (receiver)
	uint64_t asked = 0;	// pages a fault asked for
	uint64_t zero = 0;	// faults on pages the source did not have
	uint64_t forks = 0;	// address spaces followed through fork
	double ms = 0;
};

// Whether this machine can fill a process's memory after it runs: a
// userfaultfd with the events post-copy needs. Otherwise the reason and
// what to do.
Result<void> lazy_possible();

// The features the copy's userfaultfd is opened with (UFFDIO_API).
uint64_t lazy_uffd_features();

// Registers PLAN's mappings with UFFD, the userfaultfd of stopped process
// PID, after checking that none of the plan's pages is there already
// (something wrote it before post-copy could, and it would be overwritten
// or lost): called last before the process runs.
Result<void> register_lazy(int uffd, pid_t pid, const LazyPlan &plan);

// The sender, after kDone: pushes the pages of PLANS (a tree's, its root's
// first, as encode_lazy_plans) read by READERS (the frozen processes', or
// a converted image's), answering the receiver's asks first, then
// kLazyEnd, and waits for kLazyDone. COMPRESS: zstd on the pages where it
// shrinks them. TIMEOUT_S: the longest silence taken.
Result<PostcopyStats> serve_lazy_pages(Channel &ch, const std::vector<LazyPlan> &plans,
				       uint64_t page_size, const std::vector<PageReader> &readers,
				       bool compress, int timeout_s);

// The receiver, after kDone: fills the pages of PLANS into the processes
// of the tree rooted at PID through their UFFDS (by plan; -1 for none;
// taken: closed at the end, which lets the kernel fill the rest of the
// mappings, never waited for, with zeros) until kLazyEnd, then sends
// kLazyDone. On any failure the copy and its descendants are killed.
Result<PostcopyStats> fill_lazy_pages(Channel &ch, const std::vector<int> &uffds,
				      const std::vector<LazyPlan> &plans, uint64_t page_size,
				      pid_t pid, int timeout_s);

} // namespace hetmig
