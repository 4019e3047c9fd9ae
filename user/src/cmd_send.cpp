// SPDX-License-Identifier: GPL-2.0
// hetmig send PID HOST[:PORT]: move a process to the machine where
// `hetmig recv` runs. Transactional: the source stays frozen until the
// destination reports the rebuilt process running; any failure before that
// thaws it, and it runs on as if nothing had happened.
//
// hetmig keygen FILE: make a pre-shared key for send and recv.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <optional>
#include <unistd.h>
#include <linux/hetmig.h>

#include "capture.h"
#include "convert/convert.h"
#include "convert/park.h"
#include "convert/resume.h"
#include "channel.h"
#include "cli.h"
#include "commands.h"
#include "dirty_tracking.h"
#include "frozen.h"
#include "tree.h"
#include "image.h"
#include "rebuild.h"

namespace hetmig {

namespace {

constexpr const char *kDefaultKey = "/etc/hetmig/key";
constexpr int kDayS = 86400;  // the longest timeout an option takes

std::string text_of(const std::vector<uint8_t> &v)
{
	return std::string(v.begin(), v.end());
}

// Streams image bytes as messages of at most kChunk bytes, showing
// progress on a terminal.
class ImageStream {
public:
	static constexpr size_t kChunk = 1 << 20;
	ImageStream(Channel &ch, bool progress, uint64_t expected, Msg type = Msg::kImage)
		: ch_(ch), progress_(progress), expected_(expected), type_(type) {}

	Result<void> write(std::span<const uint8_t> b)
	{
		buf_.insert(buf_.end(), b.begin(), b.end());
		if (buf_.size() >= kChunk)
			return flush();
		return {};
	}
	Result<void> flush()
	{
		if (buf_.empty())
			return {};
		auto r = ch_.send(type_, buf_);
		total_ += buf_.size();
		buf_.clear();
		if (progress_) {
			double s = std::chrono::duration<double>(
				std::chrono::steady_clock::now() - t0_).count();
			double rate = s > 0 ? double(total_) / s : 0.0;
			double left = expected_ > total_ ? double(expected_ - total_) : 0.0;
			std::fprintf(stderr, "\rhetmig: sent %.1f of ~%.1f MiB, %.1f MiB/s, "
				     "~%.0f s left   ", double(total_) / (1 << 20),
				     double(expected_) / (1 << 20), rate / (1 << 20),
				     rate > 0 ? left / rate : 0.0);
		}
		return r;
	}

private:
	Channel &ch_;
	bool progress_;
	uint64_t expected_;  // page bytes, before compression
	Msg type_;
	std::vector<uint8_t> buf_;
	uint64_t total_ = 0;
	std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

// Both builds of a hetmig-cc program, and where the receiver has its own.
struct CrossIsa {
	program::Program from, to;
	std::string remote_path;
};

Result<CrossIsa> prepare_cross_isa(pid_t pid, Channel &ch, const std::string &dest)
{
	auto to_isa = ch.peer_arch() == HETMIG_ARCH_X86_64 ? program::Isa::x86_64
							   : program::Isa::aarch64;
	// No such process, a program replaced since it started, an unreadable
	// file: each says so itself.
	auto from = convert::program_of(pid);
	if (!from)
		return std::unexpected(from.error());
	if (from->pair_id().empty())
		return fail(EXDEV, strf("%s is %s and this machine %s: only programs built "
					"with hetmig-cc move between instruction sets, and "
					"process %d runs %s", dest.c_str(),
					arch_name(ch.peer_arch()), arch_name(this_arch()), pid,
					from->path().c_str()));
	std::string other = convert::sibling_build(from->path(), to_isa);
	if (other.empty())
		return fail(ENOENT, from->path() + " is not named PROGRAM.x86_64 or "
			    "PROGRAM.aarch64: its other build cannot be found");
	auto to = program::Program::open(other);
	if (!to)
		return fail(ENOENT, strf("the %s build %s is missing here: %s",
					 program::isa_name(to_isa), other.c_str(),
					 to.error().describe().c_str()));
	if (to->pair_id() != from->pair_id())
		return fail(ESTALE, strf("%s and %s are not a pair (rebuild both with "
					 "hetmig-cc)", from->path().c_str(), other.c_str()));
	if (auto r = ch.send(Msg::kProgram, from->pair_id() + " " + other); !r)
		return std::unexpected(r.error());
	auto answer = ch.receive();
	if (!answer)
		return std::unexpected(answer.error());
	if (answer->first != Msg::kProgram)
		return fail(EREMOTEIO, "the destination refused: " + text_of(answer->second));
	return CrossIsa{std::move(*from), std::move(*to), text_of(answer->second)};
}

// Within one ISA the process takes the destination's vdso in place of its
// own, so the destination's kernel must have this one's (rebuild.h,
// KernelVdso): asked, and refused by the receiver, before the process is
// touched. Ours is the process's: it runs on this kernel too.
Result<void> check_destination_kernel(pid_t pid, Channel &ch)
{
	auto mine = this_kernel_vdso();
	if (!mine) {
		(void)ch.send(Msg::kError, mine.error().describe());
		return std::unexpected(mine.error());
	}
	if (auto r = ch.send(Msg::kKernel, kernel_vdso_text(*mine)); !r)
		return r;
	auto answer = ch.receive();
	if (!answer)
		return std::unexpected(answer.error());
	if (answer->first != Msg::kKernel)
		return fail(EREMOTEIO, strf("the destination refused: %s [process %d was not "
					    "stopped: it runs on here]",
					    text_of(answer->second).c_str(), pid));
	return {};
}

// The captured image read in full and converted for the other ISA.
Result<Image> convert_for(Image &img, const CrossIsa &cross, const PageReader &reader,
			  convert::Report &report)
{
	for (auto &run : img.pages) {
		run.data.resize(run.len);
		if (auto r = reader(run.addr, run.data); !r)
			return std::unexpected(r.error());
	}
	auto out = convert::convert_image(img, cross.from, cross.to, &report);
	if (!out)
		return out;
	for (auto &m : out->mappings)
		if (m.path == cross.to.path())
			m.path = cross.remote_path;
	out->program.path = cross.remote_path;
	return out;
}

// What `send --live` asks of the destination: pre-copy rounds it applies
// and rebuilds from only after the final image. A receiver from before
// --live refuses kLive as a cut image: its words are passed on.
Result<void> ask_for_precopy(pid_t pid, Channel &ch, DirtyTracking tracking)
{
	if (auto r = ch.send(Msg::kLive, strf("%u %ld %s", kPrecopyVersion, sysconf(_SC_PAGESIZE),
					      tracking_name(tracking)));
	    !r)
		return r;
	auto answer = ch.receive();
	if (!answer)
		return std::unexpected(answer.error());
	if (answer->first != Msg::kLive)
		return fail(EPROTONOSUPPORT,
			    strf("the destination does not take pre-copy rounds (--live): its "
				 "hetmig is older, or refused (it said: %s); send without --live "
				 "[process %d was not stopped: it runs on here]",
				 text_of(answer->second).c_str(), pid));
	return {};
}

struct PrecopyOptions {
	DirtyTracking tracking = DirtyTracking::kSoftDirty;
	RoundBounds bounds;
	uint64_t max_factor = 3;	// --max-precopy's default: 3 times the memory
};

struct PrecopyDone {
	int rounds = 0;
	uint64_t page_bytes = 0;	// memory sent in the rounds
	double ms = 0;
};

// The rounds, while the process runs: each sends what the last one left
// dirty, until rounds_end says stop. The process is never frozen here
// (soft-dirty tracking stops it for the instant its bits are read and
// cleared), so a failure leaves it as it was.
Result<PrecopyDone> precopy_rounds(PrecopySender &pre, Channel &ch, PrecopyOptions o,
				   const WriteOptions &opts)
{
	auto t0 = std::chrono::steady_clock::now();
	PrecopyDone done;
	std::vector<uint64_t> dirty;
	for (;;) {
		auto r0 = std::chrono::steady_clock::now();
		auto pages = pre.scan_running();
		if (!pages)
			return std::unexpected(pages.error());
		uint64_t bytes = pages->size() * pre.page_size();
		dirty.push_back(bytes);
		if (dirty.size() == 1 && !o.bounds.max_bytes)
			o.bounds.max_bytes = o.max_factor * bytes;
		if (auto end = rounds_end(dirty, done.page_bytes, o.bounds)) {
			std::fprintf(stderr, "hetmig: pre-copy %s after %d round%s (%s tracking): %s; "
				     "stopping the process for the final round\n",
				     end->gave_up ? "gave up" : "done", done.rounds,
				     done.rounds == 1 ? "" : "s", tracking_name(pre.tracking()),
				     end->why.c_str());
			break;
		}
		ImageStream stream(ch, isatty(STDERR_FILENO), bytes, Msg::kRound);
		WriteOptions round_opts = opts;
		round_opts.reader = pre.recording_reader();
		auto sent = write_page_records(runs_of(*pages, pre.page_size()),
					       [&](std::span<const uint8_t> b) { return stream.write(b); },
					       round_opts);
		if (sent)
			sent = stream.flush();
		if (isatty(STDERR_FILENO))
			std::fputc('\n', stderr);
		if (!sent)
			return std::unexpected(sent.error());
		done.rounds++;
		done.page_bytes += bytes;
		std::fprintf(stderr, "hetmig: pre-copy round %d: %.1f MiB in %.0f ms\n", done.rounds,
			     double(bytes) / (1 << 20),
			     std::chrono::duration<double, std::milli>(
				     std::chrono::steady_clock::now() - r0).count());
	}
	done.ms = std::chrono::duration<double, std::milli>(
		std::chrono::steady_clock::now() - t0).count();
	return done;
}

} // namespace

int cmd_keygen(int argc, char **argv)
{
	// An option is no file name: `hetmig keygen --help` once made a key
	// file named --help.
	if (argc != 2 || argv[1][0] == '-')
		return std::fputs("usage: hetmig keygen FILE\n", stderr), kExitUsage;
	if (auto r = write_new_key(argv[1]); !r)
		return report(r.error());
	return kExitOk;
}

int cmd_send(int argc, char **argv)
{
	const char *usage = "usage: hetmig send PID HOST[:PORT] [--key FILE] [--keep] "
			    "[--no-compress] [--timeout SECONDS]\n"
			    "                   [--park-timeout SECONDS] [--at-point N] [--max-points N]\n"
			    "                   [--parked] [--every-point]\n"
			    "                   [--live [--max-rounds N] [--max-precopy MIB]\n"
			    "                    [--dirty-tracking KIND]]\n";
	int park_timeout_ms = 30000;
	uint32_t at_point = 1;
	int max_points = 8;
	bool parked = false;
	// Park at points hetmig check refuses too (the converter then refuses
	// them and the next one is tried): for tests of that path.
	bool every_point = false;
	std::optional<pid_t> pid;
	std::string dest, key_path = kDefaultKey;
	bool keep = false;
	int timeout_s = 120;
	WriteOptions opts;
	opts.compress = true;
	bool live = false;
	PrecopyOptions live_opts;
	std::optional<DirtyTracking> tracking;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--key" && i + 1 < argc)
			key_path = argv[++i];
		else if (a == "--keep")
			keep = true;
		else if (a == "--no-compress")
			opts.compress = false;
		else if (a == "--timeout" && i + 1 < argc) {
			if (!set_option(timeout_s, "--timeout", argv[++i], 1, kDayS))
				return kExitUsage;
		} else if (a == "--park-timeout" && i + 1 < argc) {
			auto s = option_seconds("--park-timeout", argv[++i], kDayS);
			if (!s)
				return kExitUsage;
			park_timeout_ms = int(*s * 1000);
		} else if (a == "--at-point" && i + 1 < argc) {
			if (!set_option(at_point, "--at-point", argv[++i], 1, UINT32_MAX))
				return kExitUsage;
		} else if (a == "--max-points" && i + 1 < argc) {
			if (!set_option(max_points, "--max-points", argv[++i], 1, 1000000))
				return kExitUsage;
		} else if (a == "--live") {
			live = true;
		} else if (a == "--max-rounds" && i + 1 < argc) {
			if (!set_option(live_opts.bounds.max_rounds, "--max-rounds", argv[++i], 1, 1000))
				return kExitUsage;
		} else if (a == "--max-precopy" && i + 1 < argc) {
			uint64_t mib = 0;
			if (!set_option(mib, "--max-precopy", argv[++i], 1, uint64_t(1) << 30))
				return kExitUsage;
			live_opts.bounds.max_bytes = mib << 20;
		} else if (a == "--dirty-tracking" && i + 1 < argc) {
			tracking = parse_tracking(argv[++i]);
			if (!tracking)
				return std::fputs("hetmig: --dirty-tracking is soft-dirty or hash\n",
						  stderr), kExitUsage;
		} else if (a == "--every-point")
			every_point = true;
		else if (a == "--parked")
			parked = true;  // hetmig_migrate(): the process asked itself
		else if (!pid && (pid = parse_pid(argv[i])))
			continue;
		else if (dest.empty() && a[0] != '-')
			dest = a;
		else
			return std::fputs(usage, stderr), kExitUsage;
	}
	if (!pid || dest.empty() || timeout_s <= 0)
		return std::fputs(usage, stderr), kExitUsage;
	// Soft-dirty where the kernel keeps it (x86_64), else page hashes.
	if (live) {
		bool soft_dirty = soft_dirty_works();
		live_opts.tracking = tracking.value_or(soft_dirty ? DirtyTracking::kSoftDirty
								  : DirtyTracking::kHash);
		if (live_opts.tracking == DirtyTracking::kSoftDirty && !soft_dirty)
			return std::fputs("hetmig: this kernel keeps no soft-dirty bits: use "
					  "--dirty-tracking hash\n", stderr), kExitUsage;
	}

	// --parked: the process waits at its point until a companion tells
	// it how the move went (hetmig_migrate, HETMIG_PARK_AT); taking charge
	// of it needs its program's runtime block.
	auto parked_process = [&]() -> Result<convert::Parking> {
		auto prog = convert::program_of(*pid);
		if (!prog)
			return std::unexpected(prog.error());
		return convert::Parking::request(*pid, *prog, park_timeout_ms, true);
	};
	// A send that the destination refused before it took charge of the
	// process must still tell it, or it would wait forever. Without a key
	// or a connection it stays parked: another send can be tried.
	auto give_up = [&](const Error &e) {
		if (parked)
			if (auto p = parked_process())
				p->release(e.code ? e.code : EIO);
		return report(e);
	};
	auto key = load_key(key_path);
	if (!key)
		return report(key.error());
	// Connect and authenticate before touching the process.
	auto ch = Channel::connect(dest, *key, timeout_s);
	if (!ch)
		return report(ch.error());

	// Across ISAs the process must be a hetmig-cc program whose other
	// build is here (to convert) and there (to run); within one, the
	// destination's kernel must have this one's vdso: checked before the
	// process is touched.
	std::optional<CrossIsa> cross;
	if (live && ch->peer_arch() != this_arch()) {
		// The rounds would carry memory the converter rewrites (the
		// stack, the runtime's block) in the final round only; not done.
		Error e{EXDEV, strf("--live moves a process within one instruction set only: %s is "
				    "%s and this machine %s; send without --live [process %d was "
				    "not stopped: it runs on here]", dest.c_str(),
				    arch_name(ch->peer_arch()), arch_name(this_arch()), *pid),
			{}, {}};
		(void)ch->send(Msg::kError, e.describe());
		return give_up(e);
	}
	if (ch->peer_arch() != this_arch()) {
		auto c = prepare_cross_isa(*pid, *ch, dest);
		if (!c) {
			(void)ch->send(Msg::kError, c.error().describe());
			return give_up(c.error());
		}
		cross = std::move(*c);
		// Sites hetmig check refuses are no migration points: the
		// runtime goes past them (verified once, before the process is
		// stopped).
		if (auto n = every_point ? Result<size_t>(0)
					 : convert::mark_unproven_sites(*pid, cross->from, cross->to);
		    !n) {
			(void)ch->send(Msg::kError, n.error().describe());
			return give_up(n.error());
		}
	} else if (auto r = check_destination_kernel(*pid, *ch); !r) {
		return give_up(r.error());
	}
	// --live: the memory goes in rounds while the process runs; a failure
	// here leaves it running, never stopped for more than a round's scan.
	std::optional<PrecopySender> pre;
	std::optional<PrecopyDone> precopied;
	if (live) {
		auto not_stopped = [&](Error e) {
			if (!e.context.ends_with("it runs on here]"))
				e.context += strf(" [process %d was not stopped: it runs on here]", *pid);
			(void)ch->send(Msg::kError, e.describe());
			return give_up(e);
		};
		if (auto r = ask_for_precopy(*pid, *ch, live_opts.tracking); !r)
			return give_up(r.error());
		auto p = PrecopySender::open(*pid, live_opts.tracking);
		if (!p)
			return not_stopped(p.error());
		pre.emplace(std::move(*p));
		auto d = precopy_rounds(*pre, *ch, live_opts, opts);
		if (!d)
			return not_stopped(d.error());
		precopied = *d;
	}
	// A hetmig-cc program stops at a migration point first, where its stack
	// is one the converter understands. Not every point converts (a word
	// on the stack that points into it from no variable, a site the
	// verifier refused): then the program goes on to its next point and is
	// tried there, up to --max-points points. Not when it asked itself
	// (hetmig_migrate): it waits at the one point it chose.
	int points_tried = 0;
	std::optional<convert::Parking> parking;
	std::optional<FrozenTree> frozen;	// the process and its descendants
	std::vector<MemoryReader> memory;
	Result<Image> img = std::unexpected(Error{EIO, "nothing captured", {}, {}});
	// Every failure once the process is frozen thaws it; say so with the reason.
	auto call_off = [&](Error e) {
		if (parking)
			parking->release(e.code ? e.code : EIO);
		frozen->thaw();
		e.context += strf(" [process %d thawed: it runs on here]", *pid);
		return report(e);
	};
	// Reading the pages and converting: part of the downtime a cross-ISA
	// move adds to a same-ISA one, so it is reported on its own.
	double convert_ms = -1;
	auto t0 = std::chrono::steady_clock::now();
	for (;;) {
		// Same ISA, parked by itself: the image is taken as it is, so
		// the copy must find itself let go (resume_there below).
		if (cross || parked) {
			auto p = cross ? convert::Parking::request(*pid, cross->from, park_timeout_ms,
								   parked, points_tried ? 1 : at_point,
								   true)
				       : parked_process();
			if (!p) {
				(void)ch->send(Msg::kError, p.error().describe());
				return report(p.error());
			}
			parking.emplace(std::move(*p));
		}
		t0 = std::chrono::steady_clock::now();
		auto f = FrozenTree::freeze(*pid);
		if (!f) {
			(void)ch->send(Msg::kError, f.error().describe());
			return report(f.error());
		}
		frozen.emplace(std::move(*f));
		if ((cross || parking) && frozen->processes().size() > 1) {
			Error e{EOPNOTSUPP, strf("process %d has child processes: a process tree "
						 "moves only between machines of one ISA, and not "
						 "parked", *pid), {}, {}};
			(void)ch->send(Msg::kError, e.describe());
			return call_off(e);
		}
		if (!cross && parking)
			if (auto r = parking->resume_there(this_arch() == HETMIG_ARCH_X86_64
								   ? convert::kOnX86_64
								   : convert::kOnAarch64);
			    !r) {
				(void)ch->send(Msg::kError, r.error().describe());
				return call_off(r.error());
			}
		img = capture_tree(*frozen);
		if (!img) {
			(void)ch->send(Msg::kError, img.error().describe());
			return call_off(img.error());
		}
		memory.clear();
		auto opened = open_tree_memory(frozen->pids(), opts);
		if (!opened)
			return call_off(opened.error());
		memory = std::move(*opened);
		if (pre)
			if (auto r = pre->finish(*img); !r) {
				(void)ch->send(Msg::kError, r.error().describe());
				return call_off(r.error());
			}
		if (!cross)
			break;
		auto c0 = std::chrono::steady_clock::now();
		convert::Report report;
		auto converted = convert_for(*img, *cross, opts.reader, report);
		convert_ms = std::chrono::duration<double, std::milli>(
			std::chrono::steady_clock::now() - c0).count();
		if (converted) {
			img = std::move(converted);
			break;
		}
		points_tried++;
		if (!report.refused_at_this_point || parked || points_tried == max_points) {
			Error e = converted.error();
			if (points_tried > 1)
				e.context += strf(" (the last of %d points tried)", points_tried);
			(void)ch->send(Msg::kError, e.describe());
			return call_off(e);
		}
		std::fprintf(stderr, "hetmig: process %d cannot move at this point: %s; "
			     "trying its next one\n", *pid, converted.error().describe().c_str());
		// __hetmig_park returns 0 there ("not moved") and the program
		// runs on to its next point, where the next request stops it.
		parking->release(0);
		frozen->thaw();
		frozen.reset();
		memory.clear();
		parking.reset();
	}
	auto since_freeze = [&] {
		return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
								 t0).count();
	};
	double captured_ms = since_freeze();
	uint64_t page_bytes = img->page_bytes();
	for (const auto &m : img->members)
		page_bytes += m.page_bytes();
	ImageStream stream(*ch, isatty(STDERR_FILENO), page_bytes);
	auto sent = write_image(*img, [&](std::span<const uint8_t> b) { return stream.write(b); },
				opts);
	if (sent)
		sent = stream.flush();
	if (sent)
		sent = ch->send(Msg::kImageEnd, std::string());
	if (isatty(STDERR_FILENO))
		std::fputc('\n', stderr);
	if (!sent)
		return call_off(sent.error());

	// Wait for READY: the process exists there, stopped, and dies with recv.
	auto ready = ch->receive();
	if (!ready)
		return call_off(ready.error());
	if (ready->first == Msg::kError)
		return call_off(Error{EREMOTEIO, "the destination refused: " + text_of(ready->second),
				    {}, {}});
	if (ready->first != Msg::kReady)
		return call_off(Error{EPROTO, "unexpected answer from the destination", {}, {}});
	fault_point("ready");
	double ready_ms = since_freeze();

	// Commit. Until DONE arrives the outcome is open and the source stays;
	// a lost DONE thaws it (two copies at worst, never none).
	if (auto r = ch->send(Msg::kCommit, std::string()); !r)
		return call_off(r.error());
	auto done = ch->receive();
	if (!done || done->first != Msg::kDone)
		return call_off(done ? Error{EREMOTEIO, "the destination did not confirm: " +
					   text_of(done->second), {}, {}}
				   : done.error());
	double downtime = std::chrono::duration<double, std::milli>(
		std::chrono::steady_clock::now() - t0).count();
	if (keep) {
		if (parking)
			parking->release(0);  // it runs on here too: "not moved"
		frozen->thaw();
	} else {
		if (parking)
			parking->moved();
		frozen->kill();
	}
	std::string converted_in =
		convert_ms >= 0 ? strf(", converted in %.1f ms", convert_ms) : std::string();
	std::string live_note;
	// Where the downtime went: what the rounds could shorten is the sending.
	if (precopied)
		std::fprintf(stderr, "hetmig: downtime: frozen and captured in %.0f ms, final image "
			     "sent and rebuilt there in %.0f ms, committed in %.0f ms\n", captured_ms,
			     ready_ms - captured_ms, downtime - ready_ms);
	if (precopied)
		live_note = strf(" (%.1f MiB of memory in %d pre-copy round%s over %.0f ms, %s "
				 "tracking; %.1f MiB in the final round)",
				 double(precopied->page_bytes) / (1 << 20), precopied->rounds,
				 precopied->rounds == 1 ? "" : "s", precopied->ms,
				 tracking_name(live_opts.tracking),
				 double(img->page_bytes()) / (1 << 20));
	bool pid_kept = text_of(ready->second).ends_with(" 1");
	if (points_tried)
		converted_in += strf(" at the %d%s point tried", points_tried + 1,
				     points_tried == 1 ? "nd" : points_tried == 2 ? "rd" : "th");
	std::string others = img->members.empty() ? ""
		: strf(" and %zu process%s of its tree", img->members.size(),
		       img->members.size() == 1 ? "" : "es");
	std::printf("hetmig: process %d%s now run%s on %s as pid %s%s; downtime %.0f ms%s, "
		    "%.1f MiB sent%s%s\n", *pid, others.c_str(), others.empty() ? "s" : "",
		    dest.c_str(),
		    text_of(done->second).c_str(),
		    pid_kept ? "" : " (its pid was taken there)",
		    downtime, converted_in.c_str(), double(ch->bytes_sent()) / (1 << 20),
		    live_note.c_str(), keep ? "; the source runs on too (--keep)" : "");
	return kExitOk;
}

} // namespace hetmig
