// SPDX-License-Identifier: GPL-2.0
// hetmig recv: receive processes from `hetmig send` and run them here.
// Only senders holding the pre-shared key are heard; what a rebuilt process
// may be (its user, whether root is allowed, where its output goes) is this
// side's policy, never the sender's.
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "cli.h"
#include "commands.h"
#include "image.h"
#include "precopy.h"
#include "rebuild.h"

namespace hetmig {

int parse_policy_option(int argc, char **argv, int &i, RestorePolicy &policy);

namespace {

// Pulls image bytes out of messages of TYPE (kImage, or a pre-copy
// round's kRound) until another kind comes.
class ImageSource {
public:
	explicit ImageSource(Channel &ch, std::vector<uint8_t> first = {}, Msg type = Msg::kImage)
		: ch_(ch), type_(type), buf_(std::move(first)) {}
	// Every byte received was read: a round ends with its last message.
	bool drained() const { return pos_ == buf_.size(); }
	Result<void> read(std::span<uint8_t> out)
	{
		size_t done = 0;
		while (done < out.size()) {
			if (pos_ == buf_.size()) {
				auto m = ch_.receive();
				if (!m)
					return std::unexpected(m.error());
				if (m->first == Msg::kError)
					return fail(ECANCELED, "the sender gave up: " +
						    std::string(m->second.begin(), m->second.end()));
				if (m->first != type_)
					return fail(EBADMSG, "truncated image: the stream ended early");
				buf_ = std::move(m->second);
				pos_ = 0;
			}
			size_t n = std::min(out.size() - done, buf_.size() - pos_);
			std::memcpy(out.data() + done, buf_.data() + pos_, n);
			pos_ += n;
			done += n;
		}
		return {};
	}

private:
	Channel &ch_;
	Msg type_;
	std::vector<uint8_t> buf_;
	size_t pos_ = 0;
};

// `send --live`'s question: "VERSION PAGE_SIZE TRACKING". The pages of
// the rounds are held here, nothing is rebuilt before the final image.
Result<PrecopyStore> take_precopy(Channel &ch, const std::vector<uint8_t> &ask)
{
	unsigned version = 0;
	unsigned long page = 0;
	std::string text(ask.begin(), ask.end());
	if (std::sscanf(text.c_str(), "%u %lu", &version, &page) != 2 || version != kPrecopyVersion)
		return fail(EPROTONOSUPPORT, strf("pre-copy version %u is not supported (this "
						  "hetmig speaks version %u)", version,
						  kPrecopyVersion));
	if (page != static_cast<unsigned long>(sysconf(_SC_PAGESIZE)))
		return fail(EINVAL, strf("pre-copy of %lu-byte pages, this machine's are %ld",
					 page, sysconf(_SC_PAGESIZE)));
	if (auto r = ch.send(Msg::kLive, std::to_string(kPrecopyVersion)); !r)
		return std::unexpected(r.error());
	return PrecopyStore(page);
}

// The rounds up to the final image: each applied to STORE, later pages
// replacing earlier ones. Returns the first message after them.
Result<std::pair<Msg, std::vector<uint8_t>>> take_rounds(Channel &ch, PrecopyStore &store)
{
	for (;;) {
		auto m = ch.receive();
		if (!m || m->first != Msg::kRound)
			return m;
		ImageSource source(ch, std::move(m->second), Msg::kRound);
		std::vector<PageRun> runs;
		if (auto r = read_page_records([&](std::span<uint8_t> b) { return source.read(b); },
					       kImageFormatVersion, runs);
		    !r)
			return std::unexpected(r.error());
		if (!source.drained())
			return fail(EBADMSG, "corrupted pre-copy round: bytes after its trailer");
		if (auto r = store.apply(std::move(runs)); !r)
			return std::unexpected(r.error());
	}
}

// This receiver's peak resident memory is measured per move: the kernel's
// high-water mark (VmHWM) is reset when a move starts (clear_refs 5).
void reset_peak_memory()
{
	if (FILE *f = std::fopen("/proc/self/clear_refs", "we")) {
		std::fputs("5", f);
		std::fclose(f);
	}
}

// VmHWM in MiB, or -1 where /proc does not say.
double peak_memory_mib()
{
	double mib = -1;
	if (FILE *f = std::fopen("/proc/self/status", "re")) {
		char line[256];
		unsigned long kib;
		while (std::fgets(line, sizeof(line), f))
			if (std::sscanf(line, "VmHWM: %lu kB", &kib) == 1)
				mib = double(kib) / 1024;
		std::fclose(f);
	}
	return mib;
}

// One migration on an accepted connection. Returns the new pid.
Result<pid_t> serve(int fd, const Key &key, const RestorePolicy &policy, int timeout_s)
{
	reset_peak_memory();
	auto ch = Channel::accept(fd, key, timeout_s);
	if (!ch)
		return std::unexpected(ch.error());
	// A move across ISAs starts by naming the program's build, a move
	// within one by describing the source kernel's vdso, so a missing
	// build or another vdso refuses the move before the source is touched.
	auto first = ch->receive();
	if (!first) {
		// Said to the sender, as for any bad image byte: a forged or
		// cut first message is refused with the reason.
		ch->refuse(first.error().describe());
		return std::unexpected(first.error());
	}
	std::vector<uint8_t> image_start;
	if (first->first == Msg::kProgram) {
		std::string text(first->second.begin(), first->second.end());
		auto space = text.find(' ');
		ProgramRef want{text.substr(space + 1), text.substr(0, space), {}};
		if (auto r = check_program_build(want); !r) {
			ch->refuse(r.error().describe());
			return std::unexpected(r.error());
		}
		if (auto r = ch->send(Msg::kProgram, want.path); !r)
			return std::unexpected(r.error());
	} else if (first->first == Msg::kKernel) {
		auto source = parse_kernel_vdso(std::string(first->second.begin(),
							    first->second.end()));
		auto here = this_kernel_vdso();
		Result<void> same = {};
		if (!source)
			same = std::unexpected(source.error());
		else if (!here)
			same = std::unexpected(here.error());
		else
			same = check_same_vdso(*source, *here);
		if (!same) {
			ch->refuse(same.error().describe());
			return std::unexpected(same.error());
		}
		if (auto r = ch->send(Msg::kKernel, here->release); !r)
			return std::unexpected(r.error());
	}
	// Pre-copy rounds (send --live), then the image; or the image at once.
	// HETMIG_FAULT_RECV_BEFORE_LIVE (tests): read on as a receiver from
	// before --live did, taking the next message for image bytes.
	bool before_live = getenv("HETMIG_FAULT_RECV_BEFORE_LIVE");
	std::optional<PrecopyStore> store;
	if (before_live) {
		// as it was: the image's bytes from the next message on
	} else if (first->first == Msg::kProgram || first->first == Msg::kKernel) {
		auto next = ch->receive();
		if (next && next->first == Msg::kLive) {
			auto s = take_precopy(*ch, next->second);
			if (!s) {
				ch->refuse(s.error().describe());
				return std::unexpected(s.error());
			}
			store.emplace(std::move(*s));
			next = take_rounds(*ch, *store);
		}
		if (!next) {
			ch->refuse(next.error().describe());
			return std::unexpected(next.error());
		}
		first = std::move(next);
	}
	if (first->first == Msg::kImage) {
		image_start = std::move(first->second);
	} else if (before_live && (first->first == Msg::kProgram || first->first == Msg::kKernel)) {
		// answered above; the image follows
	} else if (first->first == Msg::kError) {
		return fail(ECANCELED, "the sender gave up: " +
			    std::string(first->second.begin(), first->second.end()));
	} else {
		Error e{EBADMSG, "unexpected first message from the sender", {}, {}};
		ch->refuse(e.describe());
		return std::unexpected(e);
	}
	ImageSource source(*ch, std::move(image_start));
	auto read = [&](std::span<uint8_t> b) { return source.read(b); };
	auto refused = [&](const Error &e) {
		ch->refuse(e.describe());
		return std::unexpected(e);
	};
	// The image streamed into the process being rebuilt: its metadata
	// first, then each page record written where it belongs as it arrives
	// (after a pre-copy's held pages); nothing of it runs before COMMIT,
	// and a bad record anywhere discards what was built.
	auto streamed = read_image_streamed(read);
	if (!streamed)
		return refused(streamed.error());
	auto &[img, pages] = *streamed;
	// The rounds' pages the final image keeps join its own; the rest (of
	// mappings gone since, or pages the process dropped) are discarded.
	uint64_t held = store ? store->bytes() : 0;
	auto m0 = std::chrono::steady_clock::now();
	Result<void> merged = {};
	if (store)
		merged = store->complete(img);
	else if (!img.precopied.empty())
		merged = fail(EBADMSG, "the image names pre-copied pages, but no pre-copy "
				       "rounds came");
	store.reset();
	if (!merged)
		return refused(merged.error());
	double merge_ms = std::chrono::duration<double, std::milli>(
		std::chrono::steady_clock::now() - m0).count();
	// Where the standard streams go is said once the process exists: a
	// refused image changes nothing here.
	auto notices = settle_std_streams(img, policy);
	auto r0 = std::chrono::steady_clock::now();
	auto proc = rebuild(img, policy, &pages);
	if (!proc)
		return refused(proc.error());
	auto end = ch->receive();
	if (!end || end->first != Msg::kImageEnd)
		return fail(EBADMSG, "the image stream did not end properly");
	if (held)
		std::printf("hetmig: pre-copy: %.1f MiB held from the rounds, merged into the final "
			    "image in %.0f ms; rebuilt, the final round's pages as they came, in "
			    "%.0f ms\n", double(held) / (1 << 20), merge_ms,
			    std::chrono::duration<double, std::milli>(
				    std::chrono::steady_clock::now() - r0).count());
	// What a move costs this machine beyond the process itself.
	std::printf("hetmig: this receiver's peak memory during the move: %.1f MiB\n",
		    peak_memory_mib());
	notices.insert(notices.end(), proc->notices().begin(), proc->notices().end());
	for (const auto &line : notices)
		std::printf("hetmig: %s\n", line.c_str());
	std::fflush(stdout);
	// Stopped and traced by us: it dies with us until it is released.
	pid_t pid = proc->pid();
	if (auto r = ch->send(Msg::kReady, std::to_string(pid) + (proc->pid_kept() ? " 1" : " 0"));
	    !r)
		return std::unexpected(r.error());
	fault_point("ready");
	auto commit = ch->receive();
	if (!commit || commit->first != Msg::kCommit)
		return fail(ECANCELED, "the sender did not commit; the copy here was discarded");
	if (auto r = proc->release(); !r) {
		(void)ch->send(Msg::kError, r.error().describe());
		return std::unexpected(r.error());
	}
	(void)ch->send(Msg::kDone, std::to_string(pid));
	return pid;
}

} // namespace

int cmd_recv(int argc, char **argv)
{
	const char *usage =
		"usage: hetmig recv [--listen ADDR[:PORT]] [--key FILE] [--once] "
		"[--timeout SECONDS]\n"
		"                   [--allow-root] [--user UID] [--group GID] [--no-pid]\n"
		"                   [--stdin FILE] [--output FILE] [--wait]\n";
	std::string listen_on = "0.0.0.0", key_path = "/etc/hetmig/key";
	uint16_t port = kDefaultPort;
	bool once = false, wait = false;
	int timeout_s = 120;
	RestorePolicy policy;
	policy.stdin_path = "/dev/null";
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (int taken = parse_policy_option(argc, argv, i, policy)) {
			if (taken < 0)
				return kExitUsage;
			continue;
		}
		if (a == "--listen" && i + 1 < argc) {
			listen_on = argv[++i];
			if (auto c = listen_on.rfind(':'); c != std::string::npos) {
				std::string p = listen_on.substr(c + 1);
				if (!set_option(port, "--listen's port", p.c_str(), 1, 65535))
					return kExitUsage;
				listen_on = listen_on.substr(0, c);
			}
		} else if (a == "--key" && i + 1 < argc) {
			key_path = argv[++i];
		} else if (a == "--once") {
			once = true;
		} else if (a == "--wait") {
			// With --once: stay until the received process ends and
			// exit with its status (128 + signal if killed).
			wait = once = true;
		} else if (a == "--timeout" && i + 1 < argc) {
			if (!set_option(timeout_s, "--timeout", argv[++i], 1, 86400))
				return kExitUsage;
		} else {
			return std::fputs(usage, stderr), kExitUsage;
		}
	}
	auto key = load_key(key_path);
	if (!key)
		return report(key.error());

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	if (inet_pton(AF_INET, listen_on.c_str(), &addr.sin_addr) != 1)
		return std::fputs(usage, stderr), kExitUsage;
	if (bind(ls, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) || listen(ls, 4))
		return report(Error{errno, "listening on " + listen_on + ":" +
					   std::to_string(port), {}, {}});
	signal(SIGPIPE, SIG_IGN);
	std::printf("hetmig: receiving on %s:%u\n", listen_on.c_str(), port);
	std::fflush(stdout);

	int status = kExitOk;
	do {
		while (waitpid(-1, nullptr, WNOHANG) > 0)
			;  // processes that ran here and exited
		sockaddr_in peer{};
		socklen_t plen = sizeof(peer);
		int fd = accept4(ls, reinterpret_cast<sockaddr *>(&peer), &plen, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		// --once takes one sender: stop listening now, so that the next
		// one is refused at once (and retries) instead of waiting in the
		// backlog of a socket that closes while we serve or --wait.
		if (once) {
			close(ls);
			ls = -1;
		}
		char who[INET_ADDRSTRLEN] = "?";
		inet_ntop(AF_INET, &peer.sin_addr, who, sizeof(who));
		auto pid = serve(fd, *key, policy, timeout_s);
		if (pid) {
			std::printf("hetmig: process from %s runs here as pid %d\n", who, *pid);
			std::fflush(stdout);
			status = kExitOk;
			int ws;
			if (wait && waitpid(*pid, &ws, 0) == *pid)
				status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		} else {
			std::fprintf(stderr, "hetmig: migration from %s failed: %s\n", who,
				     pid.error().describe().c_str());
			status = kExitFailure;
		}
		std::fflush(stdout);
	} while (!once);
	if (ls >= 0)
		close(ls);
	return status;
}

} // namespace hetmig
