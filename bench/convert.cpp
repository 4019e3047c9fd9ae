// SPDX-License-Identifier: GPL-2.0
// What converting a parked process between x86_64 and aarch64 costs, on the
// host, over the states recorded in user/tests/fixtures/states (states.c
// parked 5, 50 and 500 descend() frames deep; 9, 54 and 504 frames in all).
// Runs on the host, not in a guest (it is not named bench_*, so
// tools/vm/run leaves it out): build/x86_64/bench/host_bench_convert.
//
// BM_Convert is the whole of convert_image(); the others are the parts the
// public API lets one time on their own: reading the image, opening a
// build (the program model: ELF, DWARF, CFI; once per build, not per
// move), walking the source frames, looking up every frame's variables,
// and writing the converted image. "per_frame" is the time per converted
// frame; items are frames.
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "convert/convert.h"
#include "convert/frames.h"
#include "convert/memory.h"
#include "convert/resume.h"
#include "image.h"

namespace {

using hetmig::Image;
using hetmig::program::Isa;
using hetmig::program::Program;
namespace convert = hetmig::convert;

std::string states_dir()
{
	const char *env = std::getenv("HETMIG_STATES_DIR");
	return env ? env : HETMIG_STATE_FIXTURES;
}

const char *isa_arg(int64_t i) { return i == 0 ? "x86_64" : "aarch64"; }
Isa isa_of(int64_t i) { return i == 0 ? Isa::x86_64 : Isa::aarch64; }

// Builds and images, loaded once for every benchmark.
struct Fixtures {
	std::map<Isa, std::unique_ptr<Program>> builds;
	std::map<std::pair<int64_t, int64_t>, Image> images;  // (depth, isa)
	std::string error;

	static Fixtures &get()
	{
		static Fixtures f = load();
		return f;
	}
	static Fixtures load()
	{
		Fixtures f;
		for (int64_t i : {0, 1}) {
			auto p = Program::open(states_dir() + "/states." + isa_arg(i));
			if (!p) {
				f.error = p.error().describe();
				return f;
			}
			f.builds[isa_of(i)] = std::make_unique<Program>(std::move(*p));
			for (int64_t depth : {5, 50, 500}) {
				auto img = hetmig::load_image(states_dir() + "/states-" +
							      std::to_string(depth) + "." +
							      isa_arg(i) + ".img");
				if (!img) {
					f.error = img.error().describe();
					return f;
				}
				f.images[{depth, i}] = std::move(*img);
			}
		}
		return f;
	}
};

// Frames in the state, for the per-frame figures.
size_t frames_of(const Image &img, const Program &from)
{
	convert::Report report;
	auto out = convert::convert_image(img, from, from.isa() == Isa::x86_64
				? *Fixtures::get().builds[Isa::aarch64]
				: *Fixtures::get().builds[Isa::x86_64], &report);
	return out ? report.frames.size() : 0;
}

// The recorded state a benchmark's arguments name (depth, ISA): its build,
// its memory and the park state its runtime block holds. Empty, with the
// benchmark marked as failed, when it cannot be had.
struct Parked {
	const Program *prog;
	convert::AddressSpace mem;
	convert::ParkState park;
};

std::optional<Parked> parked_state(benchmark::State &state)
{
	auto &f = Fixtures::get();
	if (!f.error.empty()) {
		state.SkipWithError(f.error.c_str());
		return std::nullopt;
	}
	const Image &img = f.images.at({state.range(0), state.range(1)});
	const Program &prog = *f.builds[isa_of(state.range(1))];
	auto mem = convert::AddressSpace::from_pages(img.pages);
	convert::RuntimeLayout rt;
	hetmig::Result<void> read = mem ? mem->read(*prog.symbol(convert::kRuntimeSymbol),
						    {reinterpret_cast<uint8_t *>(&rt), sizeof(rt)})
					: hetmig::Result<void>(std::unexpected(mem.error()));
	if (!read) {
		state.SkipWithError(read.error().describe().c_str());
		return std::nullopt;
	}
	return Parked{&prog, std::move(*mem), {rt.park_ra, rt.park_cfa, rt.park_fp}};
}

void per_frame(benchmark::State &state, size_t frames)
{
	state.SetItemsProcessed(int64_t(state.iterations() * frames));
	state.counters["frames"] = double(frames);
	state.counters["per_frame"] = benchmark::Counter(
		double(frames), benchmark::Counter::kIsIterationInvariantRate |
					benchmark::Counter::kInvert);
}

// Args: depth, source ISA (0 x86_64, 1 aarch64).
void BM_Convert(benchmark::State &state)
{
	auto &f = Fixtures::get();
	if (!f.error.empty())
		return state.SkipWithError(f.error.c_str());
	Isa from = isa_of(state.range(1));
	const Image &img = f.images.at({state.range(0), state.range(1)});
	const Program &src = *f.builds[from];
	const Program &dst = *f.builds[from == Isa::x86_64 ? Isa::aarch64 : Isa::x86_64];
	for (auto _ : state) {
		auto out = convert::convert_image(img, src, dst);
		if (!out)
			return state.SkipWithError(out.error().describe().c_str());
		benchmark::DoNotOptimize(out->pages.data());
	}
	per_frame(state, frames_of(img, src));
	state.SetLabel(std::string(isa_arg(state.range(1))) + " -> " +
		       isa_arg(1 - state.range(1)));
}
BENCHMARK(BM_Convert)->ArgsProduct({{5, 50, 500}, {0, 1}})->Unit(benchmark::kMicrosecond);

// A process of several threads (fixtures/states/threads.c: main and three
// workers parked, one ended worker not joined): every thread's frames,
// area and descriptor. "per_thread" is the time per parked thread; set it
// beside BM_Convert/5 (one thread, 9 frames) for what a thread adds.
// Arg: source ISA.
void BM_ConvertThreads(benchmark::State &state)
{
	auto src = Program::open(states_dir() + "/threads." + isa_arg(state.range(0)));
	auto dst = Program::open(states_dir() + "/threads." + isa_arg(1 - state.range(0)));
	auto img = hetmig::load_image(states_dir() + "/threads." + isa_arg(state.range(0)) +
				      ".img");
	if (!src || !dst || !img)
		return state.SkipWithError("no recorded threads state");
	for (auto _ : state) {
		auto out = convert::convert_image(*img, *src, *dst);
		if (!out)
			return state.SkipWithError(out.error().describe().c_str());
		benchmark::DoNotOptimize(out->pages.data());
	}
	const double threads = double(img->threads.size());
	state.counters["threads"] = threads;
	state.counters["per_thread"] = benchmark::Counter(
		threads, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
	state.SetLabel(std::string(isa_arg(state.range(0))) + " -> " +
		       isa_arg(1 - state.range(0)));
}
BENCHMARK(BM_ConvertThreads)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The source frames, walked from the runtime block over the image memory.
void BM_ParkedFrames(benchmark::State &state)
{
	auto parked = parked_state(state);
	if (!parked)
		return;
	const Program &prog = *parked->prog;
	auto read = [&](uint64_t a) { return parked->mem.read_u64(a); };
	size_t frames = 0;
	for (auto _ : state) {
		auto fr = convert::parked_frames(prog, parked->park, read);
		if (!fr)
			return state.SkipWithError(fr.error().describe().c_str());
		frames = fr->size();
		benchmark::DoNotOptimize(fr->data());
	}
	per_frame(state, frames);
}
BENCHMARK(BM_ParkedFrames)->ArgsProduct({{5, 50, 500}, {0, 1}})->Unit(benchmark::kMicrosecond);

// Each frame's live variables from DWARF, on both builds, as the converter
// looks them up (source at the return address, destination at its
// counterpart's).
void BM_VariablesAt(benchmark::State &state)
{
	auto parked = parked_state(state);
	if (!parked)
		return;
	const Program &prog = *parked->prog;
	auto fr = convert::parked_frames(prog, parked->park,
					 [&](uint64_t a) { return parked->mem.read_u64(a); });
	if (!fr)
		return state.SkipWithError(fr.error().describe().c_str());
	for (auto _ : state)
		for (const auto &frame : *fr) {
			auto vars = prog.variables_at(frame.resume_pc);
			benchmark::DoNotOptimize(vars);
		}
	per_frame(state, fr->size());
}
BENCHMARK(BM_VariablesAt)->ArgsProduct({{5, 50, 500}, {0, 1}})->Unit(benchmark::kMicrosecond);

// Reading a recorded image (zstd page records, CRC-32s, CBOR metadata)
// from memory, and writing a converted one (raw) to memory.
void BM_ReadImage(benchmark::State &state)
{
	auto &f = Fixtures::get();
	if (!f.error.empty())
		return state.SkipWithError(f.error.c_str());
	const Image &img = f.images.at({state.range(0), state.range(1)});
	std::vector<uint8_t> bytes;
	hetmig::WriteOptions opts;
	opts.compress = true;  // as `hetmig dump --park --compress` wrote it
	auto keep = [&](std::span<const uint8_t> b) -> hetmig::Result<void> {
		bytes.insert(bytes.end(), b.begin(), b.end());
		return {};
	};
	if (auto r = hetmig::write_image(img, keep, opts); !r)
		return state.SkipWithError(r.error().describe().c_str());
	for (auto _ : state) {
		size_t at = 0;
		auto back = hetmig::read_image([&](std::span<uint8_t> out) -> hetmig::Result<void> {
			if (at + out.size() > bytes.size())
				return hetmig::fail(EIO, "cut");
			std::memcpy(out.data(), bytes.data() + at, out.size());
			at += out.size();
			return {};
		});
		if (!back)
			return state.SkipWithError(back.error().describe().c_str());
		benchmark::DoNotOptimize(back->pages.data());
	}
	state.SetBytesProcessed(int64_t(state.iterations() * bytes.size()));
	state.counters["image_bytes"] = double(bytes.size());
}
BENCHMARK(BM_ReadImage)->ArgsProduct({{5, 500}, {0, 1}})->Unit(benchmark::kMicrosecond);

void BM_WriteConvertedImage(benchmark::State &state)
{
	auto &f = Fixtures::get();
	if (!f.error.empty())
		return state.SkipWithError(f.error.c_str());
	Isa from = isa_of(state.range(1));
	const Image &img = f.images.at({state.range(0), state.range(1)});
	Isa to = from == Isa::x86_64 ? Isa::aarch64 : Isa::x86_64;
	auto out = convert::convert_image(img, *f.builds[from], *f.builds[to]);
	if (!out)
		return state.SkipWithError(out.error().describe().c_str());
	size_t written = 0;
	for (auto _ : state) {
		written = 0;
		auto count = [&](std::span<const uint8_t> b) -> hetmig::Result<void> {
			written += b.size();
			benchmark::DoNotOptimize(b.data());
			return {};
		};
		auto r = hetmig::write_image(*out, count);
		if (!r)
			return state.SkipWithError(r.error().describe().c_str());
	}
	state.SetBytesProcessed(int64_t(state.iterations() * written));
	state.counters["image_bytes"] = double(written);
}
BENCHMARK(BM_WriteConvertedImage)->ArgsProduct({{5, 500}, {0, 1}})->Unit(benchmark::kMicrosecond);

// The program model of one build: paid once per build by a long-lived
// receiver, once per move by the `hetmig` command as it is today.
void BM_OpenBuild(benchmark::State &state)
{
	std::string path = states_dir() + "/states." + isa_arg(state.range(0));
	for (auto _ : state) {
		auto p = Program::open(path);
		if (!p)
			return state.SkipWithError(p.error().describe().c_str());
		benchmark::DoNotOptimize(p->functions().data());
	}
	state.SetLabel(isa_arg(state.range(0)));
}
BENCHMARK(BM_OpenBuild)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
