// SPDX-License-Identifier: GPL-2.0
#include "receiver.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "image.h"
#include "postcopy_loop.h"
#include "precopy.h"

namespace hetmig {

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

// A sender's question "VERSION PAGE_SIZE ..." for WHAT ("pre-copy"), of
// a protocol this hetmig speaks as version WANT: its page size, when it
// is this machine's.
Result<unsigned long> asked_pages(const std::vector<uint8_t> &ask, const char *what,
				  unsigned want)
{
	unsigned version = 0;
	unsigned long page = 0;
	std::string text(ask.begin(), ask.end());
	if (std::sscanf(text.c_str(), "%u %lu", &version, &page) != 2 || version != want)
		return fail(EPROTONOSUPPORT, strf("%s version %u is not supported (this hetmig "
						  "speaks version %u)", what, version, want));
	if (page != static_cast<unsigned long>(sysconf(_SC_PAGESIZE)))
		return fail(EINVAL, strf("%s of %lu-byte pages, this machine's are %ld", what,
					 page, sysconf(_SC_PAGESIZE)));
	return page;
}

// `send --live`'s question: "VERSION PAGE_SIZE TRACKING". The pages of
// the rounds are held here, nothing is rebuilt before the final image.
Result<PrecopyStore> take_precopy(Channel &ch, const std::vector<uint8_t> &ask)
{
	auto page = asked_pages(ask, "pre-copy", kPrecopyVersion);
	if (!page)
		return std::unexpected(page.error());
	if (auto r = ch.send(Msg::kLive, std::to_string(kPrecopyVersion)); !r)
		return std::unexpected(r.error());
	return PrecopyStore(*page);
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

// `send --lazy`'s question: "VERSION PAGE_SIZE", answered when this
// machine can fill a running process's memory (postcopy_loop.h).
Result<void> take_postcopy(Channel &ch, const std::vector<uint8_t> &ask)
{
	if (auto page = asked_pages(ask, "post-copy", kPostcopyVersion); !page)
		return std::unexpected(page.error());
	if (auto r = lazy_possible(); !r)
		return r;
	return ch.send(Msg::kLazy, std::to_string(kPostcopyVersion));
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

std::string text_of(const std::vector<uint8_t> &bytes)
{
	return std::string(bytes.begin(), bytes.end());
}

using Message = std::pair<Msg, std::vector<uint8_t>>;

class Receiver {
public:
	Receiver(const Key &key, const RestorePolicy &policy, int timeout_s)
		: key_(key), policy_(policy), timeout_s_(timeout_s) {}
	Result<pid_t> run(int fd);

private:
	Result<void> handshake(int fd);
	Result<void> precopy();
	Result<void> metadata();
	Result<void> rebuild_here();
	Result<void> ready();
	Result<void> commit();
	Result<void> postcopy();
	Result<void> refused(const Error &e);

	const Key &key_;
	const RestorePolicy &policy_;
	int timeout_s_;
	std::optional<Channel> ch_;
	Message next_;				// the message the next step starts with
	std::optional<PrecopyStore> store_;	// --live: the rounds' pages
	// --lazy: what post-copy fills, by process of the tree
	std::optional<std::vector<LazyPlan>> lazy_;
	std::optional<ImageSource> source_;
	std::optional<std::pair<Image, PageStream>> image_;
	std::optional<RestoredProcess> proc_;
	std::vector<std::string> notices_;
	pid_t pid_ = 0;
	uint64_t held_ = 0;
	double merge_ms_ = 0;
};

// Said to the sender, as for any bad image byte, unless the sender is the
// one who gave up.
Result<void> Receiver::refused(const Error &e)
{
	if (ch_ && e.code != ECANCELED)
		ch_->refuse(e.describe());
	return std::unexpected(e);
}

// A move across ISAs starts by naming the program's build, a move within
// one by describing the source kernel's vdso, so a missing build or another
// vdso refuses the move before the source is touched.
Result<void> Receiver::handshake(int fd)
{
	auto ch = Channel::accept(fd, key_, timeout_s_);
	if (!ch)
		return std::unexpected(ch.error());
	ch_.emplace(std::move(*ch));
	// A forged or cut first message is refused with the reason.
	auto first = ch_->receive();
	if (!first)
		return refused(first.error());
	next_ = std::move(*first);
	if (next_.first == Msg::kProgram) {
		std::string text = text_of(next_.second);
		auto space = text.find(' ');
		ProgramRef want{text.substr(space + 1), text.substr(0, space), {}};
		if (auto r = check_program_build(want); !r)
			return refused(r.error());
		return ch_->send(Msg::kProgram, want.path);
	}
	if (next_.first == Msg::kKernel) {
		auto source = parse_kernel_vdso(text_of(next_.second));
		if (!source)
			return refused(source.error());
		auto here = this_kernel_vdso();
		if (!here)
			return refused(here.error());
		if (auto r = check_same_vdso(*source, *here); !r)
			return refused(r.error());
		return ch_->send(Msg::kKernel, here->release);
	}
	return {};  // an older sender: the image at once
}

// Pre-copy rounds (send --live), held here until the final image; or the
// image at once.
Result<void> Receiver::precopy()
{
	// HETMIG_FAULT_RECV_BEFORE_LIVE (tests): read on as a receiver from
	// before --live did, taking the next message for image bytes.
	if (getenv("HETMIG_FAULT_RECV_BEFORE_LIVE")) {
		if (next_.first == Msg::kProgram || next_.first == Msg::kKernel)
			next_ = {Msg::kImage, {}};  // answered; the image follows
		return {};
	}
	if (next_.first != Msg::kProgram && next_.first != Msg::kKernel)
		return {};
	auto next = ch_->receive();
	if (next && next->first == Msg::kLazy) {
		if (auto r = take_postcopy(*ch_, next->second); !r)
			return refused(r.error());
		// The plan comes once the source is frozen and captured.
		next = ch_->receive();
		if (next && next->first == Msg::kLazyPlan) {
			auto plan = decode_lazy_plans(next->second, uint64_t(sysconf(_SC_PAGESIZE)));
			if (!plan)
				return refused(plan.error());
			lazy_ = std::move(*plan);
			next = ch_->receive();
		}
	} else if (next && next->first == Msg::kLive) {
		auto s = take_precopy(*ch_, next->second);
		if (!s)
			return refused(s.error());
		store_.emplace(std::move(*s));
		next = take_rounds(*ch_, *store_);
	}
	if (!next)
		return refused(next.error());
	next_ = std::move(*next);
	return {};
}

// The image's metadata, checked; with pre-copy, the rounds' pages the
// final image keeps join it, the rest (of mappings gone since, or pages
// the process dropped) are dropped.
Result<void> Receiver::metadata()
{
	if (next_.first == Msg::kError)
		return fail(ECANCELED, "the sender gave up: " + text_of(next_.second));
	if (next_.first != Msg::kImage)
		return refused(Error{EBADMSG, "unexpected first message from the sender", {}, {}});
	source_.emplace(*ch_, std::move(next_.second));
	auto streamed = read_image_streamed(
		[this](std::span<uint8_t> b) { return source_->read(b); });
	if (!streamed)
		return refused(streamed.error());
	image_.emplace(std::move(*streamed));
	Image &img = image_->first;
	held_ = store_ ? store_->bytes() : 0;
	auto m0 = std::chrono::steady_clock::now();
	Result<void> merged = {};
	if (store_)
		merged = store_->complete(img);
	else if (!img.precopied.empty())
		merged = fail(EBADMSG, "the image names pre-copied pages, but no pre-copy "
				       "rounds came");
	store_.reset();
	merge_ms_ = std::chrono::duration<double, std::milli>(
		std::chrono::steady_clock::now() - m0).count();
	if (!merged)
		return refused(merged.error());
	if (lazy_) {
		if (lazy_->size() != img.members.size() + 1)
			return refused(Error{EBADMSG, strf("corrupted post-copy plan: %zu plans for a "
							   "tree of %zu processes", lazy_->size(),
							   img.members.size() + 1), {}, {}});
		for (size_t i = 0; i < lazy_->size(); i++)
			if (auto r = check_lazy_plan((*lazy_)[i], i ? img.members[i - 1] : img); !r)
				return refused(r.error());
	}
	// Where the standard streams go is said once the process exists: a
	// refused image changes nothing here.
	notices_ = settle_std_streams(img, policy_);
	return {};
}

// The process made, stopped, its pages written as each record arrives
// (after a pre-copy's held pages); nothing of it runs before COMMIT, and a
// bad record anywhere discards what was built.
Result<void> Receiver::rebuild_here()
{
	auto r0 = std::chrono::steady_clock::now();
	auto proc = rebuild(image_->first, policy_, &image_->second, lazy_ ? &*lazy_ : nullptr);
	if (!proc)
		return refused(proc.error());
	proc_.emplace(std::move(*proc));
	image_.reset();
	auto end = ch_->receive();
	if (!end || end->first != Msg::kImageEnd)
		return fail(EBADMSG, "the image stream did not end properly");
	if (held_)
		std::printf("hetmig: pre-copy: %.1f MiB held from the rounds, merged into the final "
			    "image in %.0f ms; rebuilt, the final round's pages as they came, in "
			    "%.0f ms\n", double(held_) / (1 << 20), merge_ms_,
			    std::chrono::duration<double, std::milli>(
				    std::chrono::steady_clock::now() - r0).count());
	// What a move costs this machine beyond the process itself.
	std::printf("hetmig: this receiver's peak memory during the move: %.1f MiB\n",
		    peak_memory_mib());
	notices_.insert(notices_.end(), proc_->notices().begin(), proc_->notices().end());
	for (const auto &line : notices_)
		std::printf("hetmig: %s\n", line.c_str());
	std::fflush(stdout);
	return {};
}

// Stopped and traced by us, the process dies with us until it is
// released: READY says it exists, and only COMMIT lets it run.
Result<void> Receiver::ready()
{
	pid_ = proc_->pid();	// proc_ forgets it once released
	if (auto r = ch_->send(Msg::kReady, std::to_string(pid_) + (proc_->pid_kept() ? " 1" : " 0"));
	    !r)
		return r;
	fault_point("ready");
	auto commit = ch_->receive();
	if (!commit || commit->first != Msg::kCommit)
		return fail(ECANCELED, "the sender did not commit; the copy here was discarded");
	return {};
}

Result<void> Receiver::commit()
{
	if (auto r = proc_->release(); !r) {
		(void)ch_->send(Msg::kError, r.error().describe());
		return r;
	}
	(void)ch_->send(Msg::kDone, std::to_string(pid_));
	return {};
}

// --lazy: the process runs; its pages still at the source come in as it
// touches them or as the sender pushes them, and it dies if they cannot.
Result<void> Receiver::postcopy()
{
	if (!lazy_)
		return {};
	auto stats = fill_lazy_pages(*ch_, proc_->take_lazy_uffds(lazy_->size()), *lazy_,
				     uint64_t(sysconf(_SC_PAGESIZE)), pid_, timeout_s_);
	if (!stats)
		return std::unexpected(stats.error());
	std::printf("hetmig: post-copy: %.1f MiB filled into process %d as it ran, in %.0f ms; "
		    "%llu page%s asked for by faults, %llu zero page%s, %llu fork%s followed\n",
		    double(stats->pushed) / (1 << 20), pid_, stats->ms,
		    (unsigned long long)stats->asked, stats->asked == 1 ? "" : "s",
		    (unsigned long long)stats->zero, stats->zero == 1 ? "" : "s",
		    (unsigned long long)stats->forks, stats->forks == 1 ? "" : "s");
	std::fflush(stdout);
	return {};
}

Result<pid_t> Receiver::run(int fd)
{
	reset_peak_memory();
	if (auto r = handshake(fd); !r)
		return std::unexpected(r.error());
	using StepFn = Result<void> (Receiver::*)();
	for (StepFn step : {&Receiver::precopy, &Receiver::metadata, &Receiver::rebuild_here,
			    &Receiver::ready, &Receiver::commit, &Receiver::postcopy})
		if (auto r = (this->*step)(); !r)
			return std::unexpected(r.error());
	return pid_;
}

} // namespace

Result<pid_t> receive_process(int fd, const Key &key, const RestorePolicy &policy,
			      int timeout_s)
{
	return Receiver(key, policy, timeout_s).run(fd);
}

} // namespace hetmig
