// SPDX-License-Identifier: GPL-2.0
// Which pages of a mapping hold something, from /proc/PID/pagemap.
//
// hetmig.ko does not export this: a 6.1 module has no exported page-table
// walker that handles transparent huge pages and swap (walk_page_range is
// not exported; follow_pte and apply_to_existing_page_range mishandle huge
// PMDs), while pagemap is the kernel's own answer, correct for all of them,
// readable by the process's tracer, and it also tells a file page from a
// private copy, which is what a dump needs to know.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "error.h"

namespace hetmig {

struct PageCounts {
	uint64_t present = 0;	// in memory
	uint64_t swapped = 0;	// in swap: content that must be carried too
	uint64_t anon = 0;	// present and private (not the file's page)
};

// /proc/PID/pagemap, opened once for many ranges.
class Pagemap {
public:
	static Result<Pagemap> open(pid_t pid);
	Pagemap(Pagemap &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
	Pagemap &operator=(Pagemap &&) = delete;
	Pagemap(const Pagemap &) = delete;
	~Pagemap();

	// Counts over [START, END).
	Result<PageCounts> count(uint64_t start, uint64_t end) const;

private:
	explicit Pagemap(int fd) : fd_(fd) {}
	int fd_;
};

// Counts over [START, END) of process PID.
Result<PageCounts> count_pages(pid_t pid, uint64_t start, uint64_t end);

// One pagemap entry's meaning (see Documentation/admin-guide/mm/pagemap.rst).
constexpr bool pm_present(uint64_t e) { return e >> 63 & 1; }
constexpr bool pm_swapped(uint64_t e) { return e >> 62 & 1; }
constexpr bool pm_file_or_shared(uint64_t e) { return e >> 61 & 1; }

} // namespace hetmig
