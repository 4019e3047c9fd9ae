// SPDX-License-Identifier: GPL-2.0
#include "anon_fill.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/hetmig.h>
#include <linux/userfaultfd.h>
#include <mutex>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

namespace hetmig {

int make_userfaultfd(bool kernel_waits)
{
	return int(syscall(SYS_userfaultfd,
			   O_CLOEXEC | (kernel_waits ? 0 : UFFD_USER_MODE_ONLY)));
}

bool send_fd(int sock, int fd)
{
	char byte = 'u';
	iovec io{&byte, 1};
	alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
	msghdr msg{};
	msg.msg_iov = &io;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	std::memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1;
}

int receive_fd(int sock)
{
	char byte;
	iovec io{&byte, 1};
	alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
	msghdr msg{};
	msg.msg_iov = &io;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	std::memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

namespace {

using Range = AddressRange;

bool within(const std::vector<Range> &ranges, const PagePiece &p)
{
	return ranges_hold(ranges, p.addr, p.bytes.size());
}

// PIECE copied in with UFFDIO_COPY; what could not be (from the first
// page that failed on, a page at a time after it) goes to LEFT.
void copy_piece(int uffd, const PagePiece &piece, size_t page,
		std::vector<PagePiece> &left)
{
	size_t done = 0, size = piece.bytes.size();
	int retries = 0;
	while (done < size) {
		uffdio_copy c{};
		c.dst = piece.addr + done;
		c.src = reinterpret_cast<uint64_t>(piece.bytes.data() + done);
		c.len = size - done;
		c.mode = UFFDIO_COPY_MODE_DONTWAKE;	// nobody waits: it is stopped
		int r = ioctl(uffd, UFFDIO_COPY, &c);
		// Part copied (the kernel says EAGAIN then): go on from there.
		if (r == 0 || c.copy > 0) {
			done += r == 0 ? c.len : size_t(c.copy);
			continue;
		}
		if ((errno == EAGAIN || errno == EINTR) && ++retries < 1000)
			continue;
		// A page already there (EEXIST) or any other refusal: that
		// page the other way, the rest tried again after it.
		size_t n = std::min(page, size - done);
		left.push_back({piece.addr + done, piece.bytes.subspan(done, n)});
		done += n;
	}
}

} // namespace

bool private_anonymous(const Mapping &m)
{
	constexpr uint32_t kNot = HETMIG_VMA_F_SHARED | HETMIG_VMA_F_MAYSHARE |
				  HETMIG_VMA_F_HUGETLB | HETMIG_VMA_F_IO;
	return (m.kind == HETMIG_VMA_ANON || m.kind == HETMIG_VMA_HEAP ||
		m.kind == HETMIG_VMA_STACK) &&
	       m.shared < 0 && !(m.flags & kNot);
}

AnonymousFill::AnonymousFill(int uffd, const Image &img, const LazyFill &lazy)
	: uffd_(uffd), page_(img.page_size ? img.page_size : 4096)
{
	uffdio_api api{};
	api.api = UFFD_API;
	api.features = lazy.features;
	if (uffd_ < 0 || ioctl(uffd_, UFFDIO_API, &api))
		return;
	auto wanted = [&](const Mapping &m) {
		return private_anonymous(m) &&
		       !std::binary_search(lazy.mappings.begin(), lazy.mappings.end(),
					   AddressRange{m.start, m.end});
	};
	for (const Range &r : mapping_ranges(img, wanted)) {
		uffdio_register reg{};
		reg.range.start = r.first;
		reg.range.len = r.second - r.first;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		if (ioctl(uffd_, UFFDIO_REGISTER, &reg) == 0)
			registered_.push_back(r);
	}
}

AnonymousFill::~AnonymousFill()
{
	for (const Range &r : registered_) {
		uffdio_range range{r.first, r.second - r.first};
		ioctl(uffd_, UFFDIO_UNREGISTER, &range);
	}
	if (uffd_ >= 0)
		close(uffd_);
}

std::vector<PagePiece> AnonymousFill::copy(std::vector<PagePiece> pieces,
					   unsigned threads) const
{
	std::vector<PagePiece> mine, left;
	for (const auto &p : pieces)
		(within(registered_, p) ? mine : left).push_back(p);
	if (mine.empty())
		return left;

	// Split by bytes among the threads; each keeps its own leftovers.
	uint64_t total = 0;
	for (const auto &p : mine)
		total += p.bytes.size();
	threads = std::max(1u, std::min<unsigned>(threads, unsigned(mine.size())));
	std::vector<std::vector<PagePiece>> lefts(threads);
	std::vector<std::thread> workers;
	size_t next = 0;
	for (unsigned t = 0; t < threads; t++) {
		uint64_t share = total / threads, taken = 0;
		size_t first = next;
		while (next < mine.size() && (t + 1 == threads || taken < share))
			taken += mine[next++].bytes.size();
		auto work = [&, first, last = next, t] {
			for (size_t i = first; i < last; i++)
				copy_piece(uffd_, mine[i], page_, lefts[t]);
		};
		if (t + 1 == threads)
			work();
		else
			workers.emplace_back(work);
	}
	for (auto &w : workers)
		w.join();
	for (auto &l : lefts)
		left.insert(left.end(), l.begin(), l.end());
	return left;
}

bool AnonymousFill::registered(const PagePiece &piece) const
{
	return ranges_touch(registered_, piece.addr, piece.bytes.size());
}

} // namespace hetmig
