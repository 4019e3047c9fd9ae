// SPDX-License-Identifier: GPL-2.0
#include "pagemap.h"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace hetmig {

Result<Pagemap> Pagemap::open(pid_t pid)
{
	const std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open " + path);
	return Pagemap(fd);
}

Pagemap::~Pagemap()
{
	if (fd_ >= 0)
		close(fd_);
}

Result<PageCounts> Pagemap::count(uint64_t start, uint64_t end) const
{
	const uint64_t page = sysconf(_SC_PAGESIZE);
	// Read in bounded chunks: a mapping can reserve terabytes.
	constexpr size_t chunk = 8192;
	std::vector<uint64_t> entries(chunk);
	PageCounts counts;
	for (uint64_t first = start / page, last = end / page; first < last;) {
		size_t n = std::min<uint64_t>(chunk, last - first);
		ssize_t got = pread(fd_, entries.data(), n * sizeof(uint64_t),
				    off_t(first * sizeof(uint64_t)));
		if (got < 0)
			return fail(errno, "read pagemap");
		if (got == 0)
			break;
		size_t read_entries = size_t(got) / sizeof(uint64_t);
		for (size_t i = 0; i < read_entries; i++) {
			uint64_t e = entries[i];
			counts.present += pm_present(e);
			counts.swapped += pm_swapped(e);
			counts.anon += pm_present(e) && !pm_file_or_shared(e);
		}
		first += read_entries;
	}
	return counts;
}

Result<PageCounts> count_pages(pid_t pid, uint64_t start, uint64_t end)
{
	auto pagemap = Pagemap::open(pid);
	if (!pagemap)
		return std::unexpected(pagemap.error());
	return pagemap->count(start, end);
}

} // namespace hetmig
