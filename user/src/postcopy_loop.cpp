// SPDX-License-Identifier: GPL-2.0
#include "postcopy_loop.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <set>
#include <vector>
#include <zstd.h>

#include "anon_fill.h"
#include "pagemap.h"

namespace hetmig {

namespace {

// Pages pushed per message, and sent after an asked one (a fault is often
// the first of several in a row).
constexpr uint64_t kPushPages = 64;
constexpr uint64_t kPrefetchPages = 15;

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A page's name on the wire: which process of the tree (its root 0, then
// Image::members in order), and its address at the source.
std::vector<uint8_t> page_name(uint64_t process, uint64_t addr)
{
	std::vector<uint8_t> b(16);
	std::memcpy(b.data(), &process, 8);
	std::memcpy(b.data() + 8, &addr, 8);
	return b;
}

bool read_page_name(std::span<const uint8_t> b, uint64_t &process, uint64_t &addr)
{
	if (b.size() < 16)
		return false;
	std::memcpy(&process, b.data(), 8);
	std::memcpy(&addr, b.data() + 8, 8);
	return true;
}

// A kPages message: the page name, u32 the pages' length, u8 1 when the
// bytes that follow are zstd's (level 1, sent only where it shrinks them)
// and 0 when they are the pages themselves.
constexpr size_t kPagesHeader = 16 + 4 + 1;

class PagesPacker {
public:
	explicit PagesPacker(bool compress)
		: cctx_(compress ? ZSTD_createCCtx() : nullptr, ZSTD_freeCCtx) {}
	// MSG holds the header and RAW bytes of pages: compressed in place
	// when that shrinks them.
	void pack(std::vector<uint8_t> &msg)
	{
		const size_t raw = msg.size() - kPagesHeader;
		uint32_t len = uint32_t(raw);
		std::memcpy(msg.data() + 16, &len, 4);
		msg[20] = 0;
		if (!cctx_)
			return;
		packed_.resize(kPagesHeader + ZSTD_compressBound(raw));
		size_t n = ZSTD_compressCCtx(cctx_.get(), packed_.data() + kPagesHeader,
					     packed_.size() - kPagesHeader, msg.data() + kPagesHeader,
					     raw, 1);
		if (ZSTD_isError(n) || n >= raw)
			return;
		std::memcpy(packed_.data(), msg.data(), kPagesHeader);
		packed_[20] = 1;
		packed_.resize(kPagesHeader + n);
		msg.swap(packed_);
	}

private:
	std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx_;
	std::vector<uint8_t> packed_;
};

// The pages of a kPages message, in BUF when they came compressed; an
// empty span when the message is malformed.
std::span<const uint8_t> unpack_pages(std::span<const uint8_t> msg, uint64_t page,
				      std::vector<uint8_t> &buf)
{
	if (msg.size() < kPagesHeader)
		return {};
	uint32_t len;
	std::memcpy(&len, msg.data() + 16, 4);
	if (!len || len % page || len > kPushPages * page || msg[20] > 1)
		return {};
	auto body = msg.subspan(kPagesHeader);
	if (msg[20] == 0)
		return body.size() == len ? body : std::span<const uint8_t>();
	buf.resize(len);
	size_t n = ZSTD_decompress(buf.data(), len, body.data(), body.size());
	if (ZSTD_isError(n) || n != len)
		return {};
	return buf;
}

// Waits until FD has something to read, at most TIMEOUT_MS (-1: no
// limit); false on a timeout.
bool readable(int fd, int timeout_ms)
{
	pollfd p{fd, POLLIN, 0};
	for (;;) {
		int n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		return n > 0;
	}
}

std::string text_of(const std::vector<uint8_t> &v)
{
	return std::string(v.begin(), v.end());
}

// PID and its descendants (their threads' children files), killed: a copy
// whose memory cannot be completed must not run on zeros.
void kill_tree(pid_t pid)
{
	std::vector<pid_t> todo{pid}, all;
	while (!todo.empty()) {
		pid_t p = todo.back();
		todo.pop_back();
		all.push_back(p);
		std::string dir = "/proc/" + std::to_string(p) + "/task";
		DIR *d = opendir(dir.c_str());
		if (!d)
			continue;
		while (dirent *e = readdir(d)) {
			if (e->d_name[0] == '.')
				continue;
			std::ifstream children(dir + "/" + e->d_name + "/children");
			for (pid_t c; children >> c;)
				todo.push_back(c);
		}
		closedir(d);
	}
	for (pid_t p : all)
		kill(p, SIGKILL);
}

// The copy must not outlive us while its memory is incomplete: were this
// process killed (SIGKILL, the OOM killer), its userfaultfds would close
// and every page not yet here would read as zeros. A child of ours holds
// them too (the copy's faults wait while it lives), those of children the
// copy forks since included (hold), and when its socket to us ends
// without our killing it first, we died: it kills the copy and its
// descendants, then goes.
class Keeper {
public:
	Keeper(std::vector<int> uffds, pid_t copy)
	{
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair))
			return;
		uffds.push_back(pair[1]);
		std::sort(uffds.begin(), uffds.end());
		pid_ = fork();
		if (pid_ == 0) {
			// Nothing of ours but the userfaultfds and the socket: the
			// connection must close when we die.
			unsigned from = 3;
			for (int fd : uffds) {
				if (unsigned(fd) > from)
					close_range(from, unsigned(fd) - 1, 0);
				from = unsigned(fd) + 1;
			}
			close_range(from, ~0u, 0);
			signal(SIGINT, SIG_IGN);	// a ^C to recv's group is recv's
			signal(SIGTERM, SIG_IGN);
			for (;;) {
				pollfd p{pair[1], POLLIN, 0};
				if (poll(&p, 1, -1) < 0 && errno != EINTR)
					break;
				if (receive_fd(pair[1]) < 0 && (p.revents & (POLLHUP | POLLERR)))
					break;	// the receiver is gone
			}
			kill_tree(copy);
			_exit(0);
		}
		close(pair[1]);
		sock_ = pid_ > 0 ? pair[0] : (close(pair[0]), -1);
	}
	// A userfaultfd of a child the copy forked: held too.
	void hold(int uffd)
	{
		if (sock_ >= 0)
			(void)send_fd(sock_, uffd);
	}
	// The copy's memory is complete, or it is dead: not needed. Killed
	// before its socket closes, which it would take for our death.
	~Keeper()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
		}
		if (sock_ >= 0)
			close(sock_);
	}
	Keeper(const Keeper &) = delete;
	Keeper &operator=(const Keeper &) = delete;

private:
	pid_t pid_ = -1;
	int sock_ = -1;
};

// One address space being filled: the process's, or a child's it forked
// during post-copy (UFFD_EVENT_FORK hands us the child's userfaultfd).
struct Target {
	int fd;
	uint64_t process;	// whose pages it waits for (page_name)
	LazyLedger ledger;
	bool gone = false;
};

class Filler {
public:
	// HOLD: told each userfaultfd a fork adds (the keeper's).
	Filler(Channel &ch, uint64_t page, std::function<void(int)> hold)
		: ch_(ch), page_(page), hold_(std::move(hold)) {}
	~Filler() { close_all(); }
	// Until kLazyEnd: every page is sent then.
	Result<PostcopyStats> run(const std::vector<int> &uffds, const std::vector<LazyPlan> &plans,
				  int timeout_s);
	// What is still waited for was dropped on the way (a page the copy
	// replaced) and is the kernel's to fill once the userfaultfds go.
	void close_all()
	{
		for (auto &t : targets_)
			close(t.fd);
		targets_.clear();
	}

private:
	Result<void> events(Target &t);
	Result<void> fault(Target &t, uint64_t addr);
	void zero_page(Target &t, uint64_t addr);
	Result<void> pages(std::span<const uint8_t> payload);
	void copy(Target &t, uint64_t src, const uint8_t *bytes);

	Channel &ch_;
	uint64_t page_;
	std::function<void(int)> hold_;
	// A deque: a fork adds a target while another is in use.
	std::deque<Target> targets_;
	// Zero pages the kernel refused while the map changed (EAGAIN):
	// tried again once the events that changed it are read.
	std::vector<std::pair<Target *, uint64_t>> retry_;
	std::set<std::pair<uint64_t, uint64_t>> asked_;	// page names
	std::vector<uint8_t> unpacked_;
	PostcopyStats stats_;
};

void wake(int fd, uint64_t addr, uint64_t len)
{
	uffdio_range r{addr, len};
	ioctl(fd, UFFDIO_WAKE, &r);
}

// Reads TARGET's messages until none is left. Faults ask the sender or
// get a zero page; fork, mremap, munmap and MADV_DONTNEED keep the ledger
// true to the address space.
Result<void> Filler::events(Target &t)
{
	for (;;) {
		uffd_msg msg;
		ssize_t n = read(t.fd, &msg, sizeof(msg));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return {};
		if (n != ssize_t(sizeof(msg)))
			return fail(n < 0 ? errno : EIO, "reading the copy's userfaultfd");
		switch (msg.event) {
		case UFFD_EVENT_PAGEFAULT:
			if (auto r = fault(t, msg.arg.pagefault.address); !r)
				return r;
			break;
		case UFFD_EVENT_FORK: {
			int child = int(msg.arg.fork.ufd);
			fcntl(child, F_SETFL, O_NONBLOCK);
			fcntl(child, F_SETFD, FD_CLOEXEC);
			// The child waits for what its parent waits for.
			targets_.push_back({child, t.process, t.ledger});
			hold_(child);
			fault_point("forked");	// tests: the receiver dies now
			stats_.forks++;
			break;
		}
		case UFFD_EVENT_REMAP:
			t.ledger.moved(msg.arg.remap.from, msg.arg.remap.to, msg.arg.remap.len);
			break;
		case UFFD_EVENT_REMOVE:
		case UFFD_EVENT_UNMAP:
			t.ledger.dropped(msg.arg.remove.start, msg.arg.remove.end);
			break;
		default:
			break;
		}
	}
}

Result<void> Filler::fault(Target &t, uint64_t addr)
{
	addr -= addr % page_;
	if (auto src = t.ledger.source_of(addr)) {
		if (asked_.insert({t.process, *src}).second) {
			stats_.asked++;
			return ch_.send(Msg::kPageAsk, page_name(t.process, *src));
		}
		return {};	// asked already: it is on its way
	}
	// A page the source never had: zeros, as without post-copy.
	stats_.zero++;
	zero_page(t, addr);
	return {};
}

void Filler::zero_page(Target &t, uint64_t addr)
{
	uffdio_zeropage z{};
	z.range.start = addr;
	z.range.len = page_;
	if (ioctl(t.fd, UFFDIO_ZEROPAGE, &z) == 0)
		return;
	if (errno == EEXIST)
		wake(t.fd, addr, page_);
	else if (errno == EAGAIN || errno == EINTR)
		retry_.push_back({&t, addr});
	else if (errno == ESRCH)
		t.gone = true;
}

// Source page SRC filled with BYTES where T has it now (and whoever waits
// for it woken); a page found there, or a place gone, is waited for no
// more.
void Filler::copy(Target &t, uint64_t src, const uint8_t *bytes)
{
	for (int tries = 0; tries < 1000; tries++) {
		auto place = t.ledger.place_of(src);
		if (!place)
			return;
		uffdio_copy c{};
		c.dst = *place;
		c.src = reinterpret_cast<uint64_t>(bytes);
		c.len = page_;
		int r = ioctl(t.fd, UFFDIO_COPY, &c);
		if (r && errno == ESRCH) {	// the address space is gone
			t.gone = true;
			return;
		}
		// EAGAIN: the map is changing under an event not read yet
		// (mremap: the page may be elsewhere after it).
		if (r && (errno == EAGAIN || errno == EINTR)) {
			(void)events(t);
			continue;
		}
		if (r && errno == EEXIST)
			wake(t.fd, *place, page_);
		t.ledger.filled(*place);
		return;
	}
}

Result<void> Filler::pages(std::span<const uint8_t> payload)
{
	uint64_t process, src;
	auto raw = unpack_pages(payload, page_, unpacked_);
	if (!read_page_name(payload, process, src) || raw.empty())
		return fail(EBADMSG, "corrupted post-copy pages");
	const uint8_t *bytes = raw.data();
	for (uint64_t off = 0; off < raw.size(); off += page_) {
		asked_.erase({process, src + off});
		// By index: a fork while copying adds a target.
		for (size_t i = 0; i < targets_.size(); i++) {
			if (targets_[i].gone || targets_[i].process != process)
				continue;
			copy(targets_[i], src + off, bytes + off);
		}
		stats_.pushed += page_;
	}
	fault_point("filling");	// tests: the receiver dies during post-copy
	return {};
}

Result<PostcopyStats> Filler::run(const std::vector<int> &uffds,
				  const std::vector<LazyPlan> &plans, int timeout_s)
{
	auto t0 = Clock::now();
	for (size_t i = 0; i < uffds.size() && i < plans.size(); i++) {
		if (uffds[i] < 0)
			continue;
		fcntl(uffds[i], F_SETFL, O_NONBLOCK);
		targets_.push_back({uffds[i], i, LazyLedger(plans[i].pages, page_)});
	}
	for (;;) {
		auto retry = std::move(retry_);
		retry_.clear();
		for (const auto &[t, addr] : retry)
			zero_page(*t, addr);
		std::vector<pollfd> fds{{ch_.fd(), POLLIN, 0}};
		for (const auto &t : targets_)
			fds.push_back({t.gone ? -1 : t.fd, POLLIN, 0});
		int n = poll(fds.data(), fds.size(), retry_.empty() ? timeout_s * 1000 : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && !retry_.empty())
			continue;
		if (n <= 0)
			return fail(ETIMEDOUT, strf("post-copy: nothing from the sender in %d s",
						    timeout_s));
		for (size_t i = 1; i < fds.size(); i++)
			if (fds[i].revents & POLLIN)
				if (auto r = events(targets_[i - 1]); !r)
					return std::unexpected(r.error());
		if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		auto m = ch_.receive();
		if (!m)
			return std::unexpected(m.error());
		if (m->first == Msg::kPages) {
			if (auto r = pages(m->second); !r)
				return std::unexpected(r.error());
		} else if (m->first == Msg::kLazyEnd) {
			break;
		} else if (m->first == Msg::kError) {
			return fail(ECANCELED, "the sender gave up during post-copy: " +
					       text_of(m->second));
		} else {
			return fail(EPROTO, "unexpected message during post-copy");
		}
	}
	stats_.ms = ms_since(t0);
	return stats_;
}

} // namespace

uint64_t lazy_uffd_features()
{
	return UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE |
	       UFFD_FEATURE_EVENT_UNMAP;
}

Result<void> lazy_possible()
{
	int fd = make_userfaultfd(true);
	if (fd < 0)
		return fail(errno, "this receiver cannot take --lazy: a userfaultfd that kernel "
				   "accesses wait on needs CAP_SYS_PTRACE (run recv as root) or "
				   "vm.unprivileged_userfaultfd=1");
	uffdio_api api{};
	api.api = UFFD_API;
	api.features = lazy_uffd_features();
	int r = ioctl(fd, UFFDIO_API, &api);
	int err = errno;
	close(fd);
	if (r)
		return fail(err, err == EPERM
				 ? "this receiver cannot take --lazy: following a process through "
				   "fork (UFFD_FEATURE_EVENT_FORK) needs CAP_SYS_PTRACE (run recv as "
				   "root)"
				 : "this receiver cannot take --lazy: its kernel's userfaultfd lacks "
				   "the fork, mremap, munmap and madvise events");
	return {};
}

Result<void> register_lazy(int uffd, pid_t pid, const LazyPlan &plan)
{
	auto pm = Pagemap::open(pid);
	if (!pm)
		return std::unexpected(pm.error());
	for (const auto &[s, e] : plan.pages) {
		auto c = pm->count(s, e);
		if (!c)
			return std::unexpected(c.error());
		if (c->present || c->swapped)
			return fail(EEXIST, strf("post-copy: pages at 0x%llx-0x%llx of process %d were "
						 "written before they came", (unsigned long long)s,
						 (unsigned long long)e, pid));
	}
	for (const auto &[s, e] : plan.mappings) {
		uffdio_register reg{};
		reg.range.start = s;
		reg.range.len = e - s;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			return fail(errno, strf("post-copy: registering 0x%llx-0x%llx of process %d "
						"with its userfaultfd", (unsigned long long)s,
						(unsigned long long)e, pid));
	}
	return {};
}

Result<PostcopyStats> serve_lazy_pages(Channel &ch, const std::vector<LazyPlan> &plans,
				       uint64_t page_size, const std::vector<PageReader> &readers,
				       bool compress, int timeout_s)
{
	auto t0 = Clock::now();
	PagesPacker packer(compress);
	std::vector<LazySource> sources;
	for (const auto &plan : plans)
		sources.emplace_back(plan.pages, page_size);
	PostcopyStats stats;
	std::vector<uint8_t> buf;
	auto send = [&](uint64_t process, AddressRange r) -> Result<void> {
		buf = page_name(process, r.first);
		buf.resize(kPagesHeader + (r.second - r.first));
		if (auto got = readers[process](r.first,
						{buf.data() + kPagesHeader, r.second - r.first});
		    !got)
			return got;
		stats.pushed += r.second - r.first;
		packer.pack(buf);
		return ch.send(Msg::kPages, buf);
	};
	// The processes' pages are pushed one process after another.
	size_t pushing = 0;
	auto all_sent = [&] {
		while (pushing < sources.size() && sources[pushing].all_sent())
			pushing++;
		return pushing == sources.size();
	};
	bool ended = false;
	for (;;) {
		// Asks first; pushing only while nothing is asked.
		bool busy = !all_sent() || !ended;
		if (!readable(ch.fd(), busy ? 0 : timeout_s * 1000)) {
			if (!busy)
				return fail(ETIMEDOUT, strf("post-copy: the destination did not confirm "
							    "the last pages in %d s", timeout_s));
			if (!all_sent()) {
				auto r = sources[pushing].next_push(kPushPages);
				if (auto s = send(pushing, *r); !s)
					return std::unexpected(s.error());
				fault_point("postcopy");
			} else {
				if (auto s = ch.send(Msg::kLazyEnd, std::string()); !s)
					return std::unexpected(s.error());
				ended = true;
			}
			continue;
		}
		auto m = ch.receive();
		if (!m)
			return std::unexpected(m.error());
		uint64_t process, addr;
		if (m->first == Msg::kPageAsk && read_page_name(m->second, process, addr) &&
		    process < sources.size()) {
			stats.asked++;
			if (auto r = sources[process].answer(addr, kPrefetchPages))
				if (auto s = send(process, *r); !s)
					return std::unexpected(s.error());
		} else if (m->first == Msg::kLazyDone && ended) {
			break;
		} else if (m->first == Msg::kError) {
			return fail(EREMOTEIO, "the destination gave up during post-copy: " +
					       text_of(m->second));
		} else {
			return fail(EPROTO, "unexpected message during post-copy");
		}
	}
	stats.ms = ms_since(t0);
	return stats;
}

Result<PostcopyStats> fill_lazy_pages(Channel &ch, const std::vector<int> &uffds,
				      const std::vector<LazyPlan> &plans, uint64_t page_size,
				      pid_t pid, int timeout_s)
{
	std::optional<Keeper> keeper;
	std::vector<int> held;
	for (int fd : uffds)
		if (fd >= 0)
			held.push_back(fd);
	if (!held.empty())
		keeper.emplace(held, pid);
	Filler filler(ch, page_size, [&keeper](int fd) {
		if (keeper)
			keeper->hold(fd);
	});
	auto stats = filler.run(uffds, plans, timeout_s);
	if (stats) {
		keeper.reset();
		filler.close_all();
		// Its memory is whole: it runs on whatever the sender hears (a
		// lost kLazyDone thaws the source there: two copies at worst).
		(void)ch.send(Msg::kLazyDone, std::string());
		return stats;
	}
	if (!stats) {
		// Killed while the userfaultfds still hold its faults.
		kill_tree(pid);
		Error e = stats.error();
		e.context += strf(" [its copy here, process %d, was killed: its memory could not "
				  "be completed]", pid);
		return std::unexpected(e);
	}
	return stats;
}

} // namespace hetmig
