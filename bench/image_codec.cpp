// SPDX-License-Identifier: GPL-2.0
// What the image's checksum and compression cost per byte of page data
// (issue 16), on the host: they are CPU work, and an emulator's figures
// would say more about the emulator. Not named bench_*, so guests do not
// get it: build/x86_64/bench/host_bench_image_codec.
//
// Page data is one of two kinds (the second argument):
//   0  memhog's pages (bench/memhog_target.h): a counter and xorshift
//      words, nothing compressible
//   1  half of every page xorshift, half small counters: zstd level 1
//      halves it, like the working set of tools/bench/migrate
//
// BM_Checksum_*     one 1 MiB record's checksum: xxh64 (XXH64, image
//                   format 2), xxh3 (XXH3-64), crc32 (zlib's CRC-32,
//                   format 1), crc32c (the SSE4.2 instruction, 3 streams
//                   interleaved). Under qemu-x86_64 -cpu max (TCG, as the
//                   test bed's guests run) with --benchmark_filter=Checksum
//                   they show what the guests' figures pay: XXH3's SSE2
//                   code is emulated a vector instruction at a time.
// BM_Compress_*     zstd level 1 over 64 MiB in 1 MiB records: one record
//                   at a time (single), records spread over the online
//                   CPUs' threads (threads), and libzstd's own workers
//                   (ZSTD_c_nbWorkers) per 1 MiB record (workers) and over
//                   the 64 MiB as one frame (workers64m). Debian's static
//                   libzstd.a, which hetmig links, has no workers; these
//                   two load its shared libzstd.so.1, which has.
// BM_ImageWrite_hetmig, BM_ImageRead_hetmig
//                   write_image and read_image of SIZE MiB of page data in
//                   memory (third argument: 1 compressed; fourth, of
//                   writes: threads, 0 for one per online CPU), as the
//                   companion does them
//
// As ratios: run with --benchmark_out=F.csv --benchmark_out_format=csv,
// then tools/bench/ratios base=xxh64 F.csv (checksums) and base=threads
// (compression).
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <linux/hetmig.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "image.h"

namespace {

constexpr size_t kRecord = 1 << 20;
constexpr size_t kPage = 4096;

std::vector<uint8_t> page_data(size_t bytes, int64_t kind)
{
	std::vector<uint64_t> w(bytes / sizeof(uint64_t));
	const size_t per_page = kPage / sizeof(uint64_t);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < w.size(); i++) {
		size_t at = i % per_page;
		if (at == 0) {
			w[i] = i / per_page;
		} else if (kind == 1 && at >= per_page / 2) {
			w[i] = (i / per_page) * 64 + at;
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			w[i] = x;
		}
	}
	std::vector<uint8_t> out(bytes);
	std::memcpy(out.data(), w.data(), bytes);
	return out;
}

const char *kind_name(int64_t kind)
{
	return kind ? "half compressible" : "incompressible";
}

// --- checksums of one record ----------------------------------------------

template <typename F>
void checksum(benchmark::State &state, F sum)
{
	auto data = page_data(kRecord, 0);
	for (auto _ : state)
		benchmark::DoNotOptimize(sum(data.data(), data.size()));
	state.SetBytesProcessed(int64_t(state.iterations() * data.size()));
}

void BM_Checksum_xxh64(benchmark::State &state)
{
	checksum(state, [](const uint8_t *p, size_t n) { return XXH64(p, n, 0); });
}
BENCHMARK(BM_Checksum_xxh64);

void BM_Checksum_xxh3(benchmark::State &state)
{
	checksum(state, [](const uint8_t *p, size_t n) { return XXH3_64bits(p, n); });
}
BENCHMARK(BM_Checksum_xxh3);

void BM_Checksum_crc32(benchmark::State &state)
{
	checksum(state, [](const uint8_t *p, size_t n) {
		return uint32_t(crc32(0, p, uInt(n)));
	});
}
BENCHMARK(BM_Checksum_crc32);

#if defined(__x86_64__)
// CRC32C with the SSE4.2 instruction, three independent streams so its
// 3-cycle latency does not bound it; the streams are left uncombined
// (combining costs a few hundred cycles a record), which flatters it.
[[gnu::target("sse4.2")]] uint64_t crc32c_3way(const uint8_t *p, size_t n)
{
	size_t third = n / 3 / 8 * 8;
	uint64_t a = ~0ull, b = ~0ull, c = ~0ull;
	for (size_t i = 0; i < third; i += 8) {
		uint64_t x, y, z;
		std::memcpy(&x, p + i, 8);
		std::memcpy(&y, p + third + i, 8);
		std::memcpy(&z, p + 2 * third + i, 8);
		a = _mm_crc32_u64(a, x);
		b = _mm_crc32_u64(b, y);
		c = _mm_crc32_u64(c, z);
	}
	for (size_t i = 3 * third; i < n; i++)
		c = _mm_crc32_u8(uint32_t(c), p[i]);
	return a ^ b ^ c;
}

void BM_Checksum_crc32c(benchmark::State &state)
{
	if (!__builtin_cpu_supports("sse4.2"))
		return state.SkipWithError("no SSE4.2");
	checksum(state, crc32c_3way);
}
BENCHMARK(BM_Checksum_crc32c);
#endif

// --- zstd level 1 over 64 MiB in 1 MiB records ----------------------------

constexpr size_t kCompressBytes = 64 << 20;

unsigned online_cpus()
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? unsigned(n) : 1;
}

// Records FIRST, FIRST + STEP, ... of DATA, each compressed on its own.
size_t compress_records(const std::vector<uint8_t> &data, size_t first, size_t step)
{
	std::vector<uint8_t> out(ZSTD_compressBound(kRecord));
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t total = 0;
	for (size_t off = first * kRecord; off < data.size(); off += step * kRecord) {
		size_t n = ZSTD_compressCCtx(cctx, out.data(), out.size(), data.data() + off,
					     kRecord, 1);
		total += ZSTD_isError(n) ? kRecord : n;
	}
	ZSTD_freeCCtx(cctx);
	return total;
}

// Labels, not counters: the CSV reporter wants the same counters in every
// benchmark.
std::string stored_label(size_t stored, size_t raw)
{
	return ", stored " + std::to_string(stored * 100 / raw) + " %";
}

void compressed_label(benchmark::State &state, size_t stored, unsigned threads)
{
	state.SetBytesProcessed(int64_t(state.iterations() * kCompressBytes));
	state.SetLabel(kind_name(state.range(0)) + stored_label(stored, kCompressBytes) +
		       ", " + std::to_string(threads) + " thread" + (threads > 1 ? "s" : ""));
}

void BM_Compress_single(benchmark::State &state)
{
	auto data = page_data(kCompressBytes, state.range(0));
	size_t stored = 0;
	for (auto _ : state)
		stored = compress_records(data, 0, 1);
	compressed_label(state, stored, 1);
}
BENCHMARK(BM_Compress_single)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Compress_threads(benchmark::State &state)
{
	auto data = page_data(kCompressBytes, state.range(0));
	unsigned n = online_cpus();
	size_t stored = 0;
	for (auto _ : state) {
		std::vector<size_t> part(n);
		std::vector<std::thread> threads;
		for (unsigned i = 1; i < n; i++)
			threads.emplace_back([&, i] { part[i] = compress_records(data, i, n); });
		part[0] = compress_records(data, 0, n);
		for (auto &t : threads)
			t.join();
		stored = 0;
		for (size_t s : part)
			stored += s;
	}
	compressed_label(state, stored, n);
}
BENCHMARK(BM_Compress_threads)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Debian's shared libzstd, loaded beside the static one hetmig links.
struct SharedZstd {
	void *handle = nullptr;
	decltype(&ZSTD_createCCtx) create = nullptr;
	decltype(&ZSTD_freeCCtx) free = nullptr;
	decltype(&ZSTD_CCtx_setParameter) set = nullptr;
	decltype(&ZSTD_compress2) compress2 = nullptr;
	decltype(&ZSTD_isError) is_error = nullptr;

	static SharedZstd &get()
	{
		static SharedZstd z = [] {
			SharedZstd s;
			s.handle = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
			if (!s.handle)
				return s;
			s.create = reinterpret_cast<decltype(create)>(dlsym(s.handle, "ZSTD_createCCtx"));
			s.free = reinterpret_cast<decltype(free)>(dlsym(s.handle, "ZSTD_freeCCtx"));
			s.set = reinterpret_cast<decltype(set)>(dlsym(s.handle, "ZSTD_CCtx_setParameter"));
			s.compress2 = reinterpret_cast<decltype(compress2)>(dlsym(s.handle, "ZSTD_compress2"));
			s.is_error = reinterpret_cast<decltype(is_error)>(dlsym(s.handle, "ZSTD_isError"));
			return s;
		}();
		return z;
	}
	bool ok() const { return create && free && set && compress2 && is_error; }
};

// libzstd's workers over pieces of CHUNK bytes.
void workers(benchmark::State &state, size_t chunk)
{
	SharedZstd &z = SharedZstd::get();
	if (!z.ok())
		return state.SkipWithError("no libzstd.so.1");
	ZSTD_CCtx *cctx = z.create();
	unsigned n = online_cpus();
	if (z.is_error(z.set(cctx, ZSTD_c_nbWorkers, int(n))) ||
	    z.is_error(z.set(cctx, ZSTD_c_compressionLevel, 1))) {
		z.free(cctx);
		return state.SkipWithError("libzstd.so.1 has no workers");
	}
	auto data = page_data(kCompressBytes, state.range(0));
	std::vector<uint8_t> out(ZSTD_compressBound(chunk));
	size_t stored = 0;
	for (auto _ : state) {
		stored = 0;
		for (size_t off = 0; off < data.size(); off += chunk) {
			size_t r = z.compress2(cctx, out.data(), out.size(), data.data() + off, chunk);
			stored += z.is_error(r) ? chunk : r;
		}
	}
	z.free(cctx);
	compressed_label(state, stored, n);
}

void BM_Compress_workers(benchmark::State &state)
{
	workers(state, kRecord);
}
BENCHMARK(BM_Compress_workers)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Compress_workers64m(benchmark::State &state)
{
	workers(state, kCompressBytes);
}
BENCHMARK(BM_Compress_workers64m)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// --- whole images, in memory -----------------------------------------------

hetmig::Image image_of(size_t mib, int64_t kind)
{
	hetmig::Image img;
	img.arch = HETMIG_ARCH_X86_64;
	img.page_size = kPage;
	img.kernel_release = "6.1.0-bench";
	img.threads.resize(1);
	img.pages.push_back({0x10000000, mib << 20, page_data(mib << 20, kind)});
	return img;
}

// Into OUT, whose memory is kept from one call to the next: the companion
// writes to a file or a socket, not to fresh memory it faults in.
size_t write_to_memory(const hetmig::Image &img, bool compress, std::vector<uint8_t> &out,
		       unsigned threads = 0)
{
	out.clear();
	auto r = hetmig::write_image(img, [&](std::span<const uint8_t> b) -> hetmig::Result<void> {
		out.insert(out.end(), b.begin(), b.end());
		return {};
	}, {.compress = compress, .threads = threads, .reader = {}});
	return r ? out.size() : 0;
}

void BM_ImageWrite_hetmig(benchmark::State &state)
{
	auto img = image_of(size_t(state.range(0)), state.range(1));
	std::vector<uint8_t> out;
	unsigned threads = unsigned(state.range(3));
	size_t written = write_to_memory(img, state.range(2), out, threads);
	for (auto _ : state) {
		written = write_to_memory(img, state.range(2), out, threads);
		if (!written)
			return state.SkipWithError("write_image failed");
	}
	state.SetBytesProcessed(int64_t(state.iterations() * img.page_bytes()));
	state.SetLabel(std::string(kind_name(state.range(1))) +
		       (state.range(2) ? ", zstd" : ", raw") +
		       stored_label(written, img.page_bytes()) +
		       (state.range(2) ? threads ? ", 1 thread" : ", a thread per CPU" : ""));
}
// Fourth argument: WriteOptions::threads (0: one per online CPU).
BENCHMARK(BM_ImageWrite_hetmig)
	->Args({64, 0, 0, 0})->Args({64, 1, 0, 0})
	->Args({64, 0, 1, 1})->Args({64, 0, 1, 0})->Args({64, 1, 1, 1})->Args({64, 1, 1, 0})
	->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ImageRead_hetmig(benchmark::State &state)
{
	auto img = image_of(size_t(state.range(0)), state.range(1));
	std::vector<uint8_t> bytes;
	if (!write_to_memory(img, state.range(2), bytes))
		return state.SkipWithError("write_image failed");
	img = {};
	for (auto _ : state) {
		size_t at = 0;
		auto back = hetmig::read_image([&](std::span<uint8_t> out) -> hetmig::Result<void> {
			if (bytes.size() - at < out.size())
				return hetmig::fail(EBADMSG, "cut");
			std::memcpy(out.data(), bytes.data() + at, out.size());
			at += out.size();
			return {};
		});
		if (!back)
			return state.SkipWithError(back.error().describe().c_str());
		benchmark::DoNotOptimize(back->pages.data());
	}
	state.SetBytesProcessed(int64_t(state.iterations() * (size_t(state.range(0)) << 20)));
	state.SetLabel(std::string(kind_name(state.range(1))) +
		       (state.range(2) ? ", zstd" : ", raw"));
}
BENCHMARK(BM_ImageRead_hetmig)->ArgsProduct({{64}, {0, 1}, {0, 1}})
	->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
