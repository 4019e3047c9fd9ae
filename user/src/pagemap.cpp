// SPDX-License-Identifier: GPL-2.0
#include "pagemap.h"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace hetmig {

namespace {

// Owns one file descriptor.
class Fd {
public:
	explicit Fd(int fd) : fd_(fd) {}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	int get() const { return fd_; }

private:
	int fd_;
};

} // namespace

Result<PageCounts> count_pages(pid_t pid, uint64_t start, uint64_t end)
{
	const std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
	Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (fd.get() < 0)
		return fail(errno, "open " + path);

	const uint64_t page = sysconf(_SC_PAGESIZE);
	// Read in bounded chunks: a mapping can reserve terabytes.
	constexpr size_t chunk = 8192;
	std::vector<uint64_t> entries(chunk);
	PageCounts counts;
	for (uint64_t first = start / page, last = end / page; first < last;) {
		size_t n = std::min<uint64_t>(chunk, last - first);
		ssize_t got = pread(fd.get(), entries.data(), n * sizeof(uint64_t),
				    off_t(first * sizeof(uint64_t)));
		if (got < 0)
			return fail(errno, "read " + path);
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

} // namespace hetmig
