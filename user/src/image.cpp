// SPDX-License-Identifier: GPL-2.0
// Writing and reading migration images (see image.h for the layout).
#include "image.h"
#include "fds/fd.h"
#include "fds/fifos.h"
#include "fds/ghost_files.h"
#include "fds/socket_options.h"
#include "fds/tcp.h"
#include "fds/tree_files.h"
#include "fds/udp.h"
#include "fds/unix_sockets.h"
#include "image_metadata.h"
#include "own_stack_thread.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/hetmig.h>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

namespace hetmig {

namespace {

using nlohmann::json;

constexpr char kMagic[8] = {'H', 'E', 'T', 'M', 'I', 'G', 'I', 'M'};
constexpr char kTrailerMagic[8] = {'H', 'E', 'T', 'M', 'I', 'G', 'N', 'D'};
constexpr uint32_t kCodecRaw = 0, kCodecZstd = 1;
// Metadata larger than this is not an image we wrote.
constexpr uint64_t kMetaMax = 256 << 20;
// The most F_SETPIPE_SZ takes (round_pipe_size's limit).
constexpr uint32_t kPipeCapacityMax = 1u << 31;

// The same in every format version, with the same CRC-32: a reader checks
// it before it looks at the version, and so a hetmig that reads format 1
// only still names a newer image's version instead of calling it
// corrupted. Format 2 follows it with the metadata's XXH64 (u64).
struct [[gnu::packed]] Header {
	char magic[8];
	uint32_t version;
	uint32_t arch;
	uint64_t meta_len;
	uint32_t meta_crc;	// format 1: the metadata's CRC-32; 2: 0
	uint32_t header_crc;	// of everything above
};

// Format 2: XXH64 over page data and the structures around it, and every
// reserved word inside a sum. XXH64 costs 0.4 of zlib's CRC-32 per byte on
// the host and 0.1 under TCG; XXH3, faster still on the host, is vector
// code that TCG runs 10 to 100 times slower than XXH64 (Documentation/
// benchmarks.md, "The image's checksum and compression").
struct [[gnu::packed]] RecordHeader {
	uint64_t addr;		// 0 ends the records
	uint32_t raw_len;
	uint32_t stored_len;
	uint32_t codec;
	uint32_t reserved;
	uint64_t data_sum;
	uint64_t header_sum;	// of everything above
};

struct [[gnu::packed]] Trailer {
	char magic[8];
	uint64_t records;
	uint64_t page_bytes;
	uint64_t sum;		// of everything above
};

// Format 1, read only: CRC-32s, reserved words outside them.
struct [[gnu::packed]] RecordHeaderV1 {
	uint64_t addr;
	uint32_t raw_len;
	uint32_t stored_len;
	uint32_t codec;
	uint32_t data_crc;
	uint32_t header_crc;
	uint32_t reserved;
};

struct [[gnu::packed]] TrailerV1 {
	char magic[8];
	uint64_t records;
	uint64_t page_bytes;
	uint32_t crc;
	uint32_t reserved;
};

uint32_t crc32_of(const void *p, size_t n)
{
	return uint32_t(crc32(0, static_cast<const Bytef *>(p), uInt(n)));
}

uint64_t sum_of(const void *p, size_t n)
{
	return XXH64(p, n, 0);
}

// The checksum of page data and metadata in format VERSION.
uint64_t data_sum(uint32_t version, std::span<const uint8_t> b)
{
	return version == 1 ? crc32_of(b.data(), b.size()) : sum_of(b.data(), b.size());
}

template <typename T>
std::span<const uint8_t> bytes_of(const T &v)
{
	return {reinterpret_cast<const uint8_t *>(&v), sizeof(v)};
}

template <typename T>
std::span<uint8_t> bytes_of(T &v)
{
	return {reinterpret_cast<uint8_t *>(&v), sizeof(v)};
}

// A page record on its way out: its memory and what encoding it made.
struct PendingRecord {
	uint64_t addr = 0;
	std::span<const uint8_t> raw;
	std::vector<uint8_t> chunk;	// raw's memory, when read from the process
	std::vector<uint8_t> packed;	// zstd's output
	RecordHeader rh{};
	std::span<const uint8_t> stored;
	bool done = false;		// encoded (RecordPipeline::mu_)
};

using CompressContext = std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)>;

// The header of a record of LEN raw bytes at ADDR, its data sum to come.
RecordHeader raw_header(uint64_t addr, uint64_t len)
{
	RecordHeader rh{};
	rh.addr = addr;
	rh.raw_len = rh.stored_len = uint32_t(len);
	rh.codec = kCodecRaw;
	return rh;
}

// RH's own sum, once every other field is set.
void seal(RecordHeader &rh)
{
	rh.header_sum = sum_of(&rh, offsetof(RecordHeader, header_sum));
}

// The end record and the trailer with T's counts: what follows the last
// record.
std::vector<uint8_t> end_of_records(Trailer t)
{
	RecordHeader end{};
	seal(end);
	std::memcpy(t.magic, kTrailerMagic, sizeof(kTrailerMagic));
	t.sum = sum_of(&t, offsetof(Trailer, sum));
	std::vector<uint8_t> out(sizeof(end) + sizeof(t));
	std::memcpy(out.data(), &end, sizeof(end));
	std::memcpy(out.data() + sizeof(end), &t, sizeof(t));
	return out;
}

// Compresses (with CCTX, if any) and checksums one record; touches nothing
// else, so records are encoded on threads side by side.
void encode_record(PendingRecord &p, ZSTD_CCtx *cctx)
{
	p.rh = raw_header(p.addr, p.raw.size());
	p.stored = p.raw;
	if (cctx) {
		p.packed.resize(ZSTD_compressBound(p.raw.size()));
		size_t n = ZSTD_compressCCtx(cctx, p.packed.data(), p.packed.size(),
					     p.raw.data(), p.raw.size(), 1);
		if (!ZSTD_isError(n) && n < p.raw.size()) {
			p.stored = {p.packed.data(), n};
			p.rh.codec = kCodecZstd;
		}
	}
	p.rh.stored_len = uint32_t(p.stored.size());
	p.rh.data_sum = sum_of(p.stored.data(), p.stored.size());
	seal(p.rh);
}

// Records compressed at once: one a CPU, and at most 8.
size_t compress_lanes(unsigned asked)
{
	if (asked)
		return std::min(asked, 8u);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return size_t(std::clamp(cpus, 1L, 8L));
}

// Records encoded on worker threads, one a lane, while the writer reads
// the next ones from the process and writes the finished ones in order.
// Two records a lane are in flight, so neither side waits on the other's
// scheduling: batches that waited for their slowest record were slower
// than one thread on a loaded host. Not libzstd's own workers
// (ZSTD_c_nbWorkers): Debian's static libzstd is built without them, and
// where they exist they cut a frame into jobs of at least 1 MiB (4
// windows), so a record is one job; on 1 MiB records they were slower than
// none (Documentation/benchmarks.md, "The image's checksum and compression").
class RecordPipeline {
public:
	RecordPipeline(size_t lanes, bool compress) : lanes_(lanes), compress_(compress) {}
	RecordPipeline(const RecordPipeline &) = delete;
	RecordPipeline &operator=(const RecordPipeline &) = delete;

	~RecordPipeline()
	{
		{
			std::lock_guard lk(mu_);
			stop_ = true;
		}
		work_.notify_all();
		for (auto &t : workers_)
			t.join();
	}

	Result<void> start()
	{
		for (size_t i = 0; i < lanes_; i++) {
			contexts_.emplace_back(compress_ ? ZSTD_createCCtx() : nullptr,
					       ZSTD_freeCCtx);
			if (compress_ && !contexts_.back())
				return fail(ENOMEM, "ZSTD_createCCtx");
		}
		if (lanes_ > 1) {
			try {
				for (size_t i = 0; i < lanes_; i++)
					workers_.emplace_back(&RecordPipeline::work, this,
							      contexts_[i].get());
			} catch (const std::system_error &) {
				// Fewer threads, or none: records are encoded here.
			}
		}
		// Four at least: the writer thread (write_runs) writes some while
		// the next are read.
		slots_.resize(std::max<size_t>(4, 2 * workers_.size()));
		return {};
	}

	// Records in flight at most: record N's slot holds N - size() until
	// that one is written.
	size_t size() const { return slots_.size(); }
	PendingRecord &slot(uint64_t n) { return slots_[n % slots_.size()]; }

	void submit(PendingRecord &p)
	{
		if (workers_.empty()) {
			encode_record(p, contexts_[0].get());
			p.done = true;
			return;
		}
		{
			std::lock_guard lk(mu_);
			p.done = false;
			queue_.push_back(&p);
		}
		work_.notify_one();
	}

	// Record N, once encoded.
	const PendingRecord &finished(uint64_t n)
	{
		PendingRecord &p = slot(n);
		std::unique_lock lk(mu_);
		done_.wait(lk, [&] { return p.done; });
		return p;
	}

private:
	void work(ZSTD_CCtx *cctx)
	{
		std::unique_lock lk(mu_);
		for (;;) {
			work_.wait(lk, [&] { return stop_ || !queue_.empty(); });
			if (stop_)
				return;
			PendingRecord *p = queue_.front();
			queue_.pop_front();
			lk.unlock();
			encode_record(*p, cctx);
			lk.lock();
			p->done = true;
			done_.notify_one();
		}
	}

	size_t lanes_;
	bool compress_;
	std::vector<CompressContext> contexts_;	// one a lane
	std::vector<PendingRecord> slots_;
	std::vector<std::thread> workers_;
	std::mutex mu_;
	std::condition_variable work_, done_;
	std::deque<PendingRecord *> queue_;
	bool stop_ = false;
};

std::unexpected<Error> corrupt(const std::string &what)
{
	return fail(EBADMSG, "corrupted image: " + what);
}

// Descriptors in flight with QUEUED messages: none, or a list for each,
// every fd one of FILES.
std::optional<std::string> rights_problem(const std::vector<std::vector<int>> &rights,
					  size_t queued, const std::vector<OpenFile> &files)
{
	if (!rights.empty() && rights.size() != queued)
		return "descriptors in flight for messages a socket's queue lacks";
	for (const auto &fds : rights)
		for (int fd : fds)
			if (std::none_of(files.begin(), files.end(),
					 [&](const OpenFile &f) { return f.fd == fd; }))
				return strf("fd %d in flight in a socket's queue, which the image "
					    "lacks", fd);
	return std::nullopt;
}

// Every socket pair is a stream or datagram pair of two ends the image has
// (as FILES: a process's, or a tree's shared descriptions), each a
// stream's one message at most; every socket end belongs to a pair.
Result<void> check_unix_pairs(const std::vector<UnixPair> &pairs,
			      const std::vector<OpenFile> &files,
			      const std::vector<UnixSocket> &sockets = {})
{
	auto other_socket = [&](uint64_t inode) {
		return std::any_of(sockets.begin(), sockets.end(),
				   [&](const UnixSocket &s) { return s.inode == inode; });
	};
	auto pair_of = [&](uint64_t inode) {
		return std::count_if(pairs.begin(), pairs.end(),
				     [&](const UnixPair &p) {
					     return p.ends[0].inode == inode || p.ends[1].inode == inode;
				     });
	};
	for (const auto &p : pairs) {
		if ((p.type != 1 && p.type != 2) || p.ends[0].inode == p.ends[1].inode)
			return corrupt("a socket pair of another type, or with one end twice");
		for (const auto &e : p.ends) {
			if (pair_of(e.inode) != 1 || other_socket(e.inode) ||
			    std::none_of(files.begin(), files.end(), [&](const OpenFile &f) {
				    return f.unix_socket == e.inode && f.tree_file < 0;
			    }))
				return corrupt(strf("socket:[%llu] of a pair, which no fd holds or "
						    "another pair has too", (unsigned long long)e.inode));
			if (p.type == 1 && e.queued.size() > 1)
				return corrupt("a stream socket with more than one message");
			if (auto why = rights_problem(e.rights, e.queued.size(), files))
				return corrupt(*why);
		}
	}
	for (const auto &f : files)
		if (f.unix_socket && f.tree_file < 0 &&
		    (f.pipe || pair_of(f.unix_socket) + other_socket(f.unix_socket) != 1))
			return corrupt(strf("fd %d is an end of a socket pair the image lacks", f.fd));
	return {};
}

// Every epoll target is a file of the image, and every pending signal is a
// signal (1 to 64, not SIGKILL or SIGSTOP) of a thread the image has: the
// restore adds and queues them as they are.
Result<void> check_epolls_and_signals(const Image &img)
{
	auto has_fd = [&](int fd) {
		return std::any_of(img.files.begin(), img.files.end(),
				   [&](const OpenFile &f) { return f.fd == fd; });
	};
	for (const auto &f : img.files)
		if (f.epoll)
			for (const auto &t : *f.epoll)
				if (t.fd < 0 || !has_fd(t.file_fd >= 0 ? t.file_fd : t.fd) ||
				    t.fd == f.fd || t.file_fd == f.fd)
					return corrupt(strf("fd %d: an epoll watching fd %d, which "
							    "the image lacks", f.fd,
							    t.file_fd >= 0 ? t.file_fd : t.fd));
	auto bad_queue = [](const std::vector<SigInfo> &q) {
		return std::any_of(q.begin(), q.end(), [](const SigInfo &info) {
			int32_t sig;
			std::memcpy(&sig, info.data(), sizeof(sig));
			return sig < 1 || sig > 64 || sig == 9 || sig == 19;
		});
	};
	const PendingSignals &p = img.pending_signals;
	if (bad_queue(p.shared))
		return corrupt("a pending signal out of range");
	for (const auto &[tid, q] : p.threads)
		if (bad_queue(q) || std::none_of(img.threads.begin(), img.threads.end(),
						 [&](const ThreadState &t) { return t.tid == tid; }))
			return corrupt(strf("pending signals of thread %u, which the image lacks or "
					    "out of range", tid));
	return {};
}

// Every pipe end belongs to a pipe of the image, every pipe has an end (a
// read end if it holds bytes; the other may be closed), and holds no more
// than it can: what the restore builds from them (fds/pipes.cpp) relies
// on it.
Result<void> check_pipes(const Image &img)
{
	for (size_t i = 0; i < img.pipes.size(); i++) {
		const PipeState &p = img.pipes[i];
		bool twice = std::any_of(img.pipes.begin(), img.pipes.begin() + i,
					 [&](const PipeState &e) { return e.inode == p.inode; });
		bool read = false, write = false;
		for (const auto &f : img.files)
			if (f.pipe == p.inode && f.tree_file < 0) {
				read |= (f.flags & O_ACCMODE) == O_RDONLY;
				write |= (f.flags & O_ACCMODE) == O_WRONLY;
			}
		if (!p.inode || twice || (!read && !write) || (!read && !p.data.empty()) ||
		    p.data.size() > p.capacity || p.capacity > kPipeCapacityMax)
			return corrupt(strf("pipe:[%llu] without an end, or holding more "
					    "than it can", (unsigned long long)p.inode));
	}
	for (const auto &f : img.files) {
		int mode = f.flags & O_ACCMODE;
		if (f.pipe && f.tree_file < 0 && (f.std_stream || f.directory || f.eventfd || f.timerfd ||
			       (mode != O_RDONLY && mode != O_WRONLY) ||
			       std::none_of(img.pipes.begin(), img.pipes.end(),
					    [&](const PipeState &p) { return p.inode == f.pipe; })))
			return corrupt(strf("fd %d is an end of a pipe the image lacks", f.fd));
	}
	return {};
}

// A page record's header as either format has it, checked against its sum.
struct Record {
	uint64_t addr;		// 0 ends the records
	uint32_t raw_len, stored_len, codec;
	uint64_t data_sum;
};

Result<Record> read_record_header(const ByteSource &source, uint32_t version)
{
	if (version == 1) {
		RecordHeaderV1 rh;
		if (auto r = source(bytes_of(rh)); !r)
			return std::unexpected(r.error());
		// reserved is outside the checksum: it must be as written.
		if (rh.header_crc != crc32_of(&rh, offsetof(RecordHeaderV1, header_crc)) ||
		    rh.reserved)
			return corrupt("page record header checksum mismatch");
		return Record{rh.addr, rh.raw_len, rh.stored_len, rh.codec, rh.data_crc};
	}
	RecordHeader rh;
	if (auto r = source(bytes_of(rh)); !r)
		return std::unexpected(r.error());
	if (rh.header_sum != sum_of(&rh, offsetof(RecordHeader, header_sum)) || rh.reserved)
		return corrupt("page record header checksum mismatch");
	return Record{rh.addr, rh.raw_len, rh.stored_len, rh.codec, rh.data_sum};
}

// The trailer's record and byte counts, checked against its sum.
Result<std::pair<uint64_t, uint64_t>> read_trailer(const ByteSource &source,
						   uint32_t version)
{
	bool good;
	uint64_t records, bytes;
	if (version == 1) {
		TrailerV1 t;
		if (auto r = source(bytes_of(t)); !r)
			return std::unexpected(r.error());
		good = !std::memcmp(t.magic, kTrailerMagic, sizeof(kTrailerMagic)) &&
		       t.crc == crc32_of(&t, offsetof(TrailerV1, crc)) && !t.reserved;
		records = t.records;
		bytes = t.page_bytes;
	} else {
		Trailer t;
		if (auto r = source(bytes_of(t)); !r)
			return std::unexpected(r.error());
		good = !std::memcmp(t.magic, kTrailerMagic, sizeof(kTrailerMagic)) &&
		       t.sum == sum_of(&t, offsetof(Trailer, sum));
		records = t.records;
		bytes = t.page_bytes;
	}
	if (!good)
		return corrupt("bad trailer");
	return std::pair{records, bytes};
}

} // namespace

const Mapping *mapping_containing(const Image &img, uint64_t addr)
{
	for (const auto &m : img.mappings)
		if (addr >= m.start && addr < m.end)
			return &m;
	return nullptr;
}

std::vector<AddressRange> mapping_ranges(const Image &img,
					 const std::function<bool(const Mapping &)> &wanted)
{
	std::vector<AddressRange> all, merged;
	for (const auto &m : img.mappings)
		if (m.end > m.start && wanted(m))
			all.emplace_back(m.start, m.end);
	std::sort(all.begin(), all.end());
	for (const auto &r : all)
		if (!merged.empty() && r.first <= merged.back().second)
			merged.back().second = std::max(merged.back().second, r.second);
		else
			merged.push_back(r);
	return merged;
}

bool ranges_hold(const std::vector<AddressRange> &ranges, uint64_t addr, uint64_t len)
{
	auto it = std::upper_bound(ranges.begin(), ranges.end(), AddressRange(addr, UINT64_MAX));
	if (it == ranges.begin())
		return false;
	--it;
	return addr >= it->first && addr + len <= it->second;
}

bool ranges_touch(const std::vector<AddressRange> &ranges, uint64_t addr, uint64_t len)
{
	// The last range starting at or below ADDR, and the next one.
	auto it = std::upper_bound(ranges.begin(), ranges.end(), AddressRange(addr, UINT64_MAX));
	if (it != ranges.end() && it->first < addr + len)
		return true;
	return it != ranges.begin() && std::prev(it)->second > addr;
}

const PageRun *run_overlapping(std::span<const PageRun> runs, uint64_t addr, uint64_t len)
{
	auto after = std::upper_bound(runs.begin(), runs.end(), addr,
				      [](uint64_t a, const PageRun &r) { return a < r.addr; });
	if (after != runs.end() && after->addr < addr + len)
		return &*after;
	if (after != runs.begin() && std::prev(after)->addr + std::prev(after)->len > addr)
		return &*std::prev(after);
	return nullptr;
}

const char *arch_name(uint32_t arch)
{
	switch (arch) {
	case HETMIG_ARCH_X86_64: return "x86_64";
	case HETMIG_ARCH_AARCH64: return "aarch64";
	default: return "unknown";
	}
}

uint32_t this_arch()
{
#if defined(__x86_64__)
	return HETMIG_ARCH_X86_64;
#elif defined(__aarch64__)
	return HETMIG_ARCH_AARCH64;
#endif
}

bool Image::has_inet_sockets() const
{
	return std::any_of(files.begin(), files.end(),
			   [](const OpenFile &f) { return f.tcp || f.udp; }) ||
	       std::any_of(members.begin(), members.end(),
			   [](const Image &m) { return m.has_inet_sockets(); });
}

bool Image::has_unix_sockets() const
{
	return !unix_sockets.empty() || !tree_sockets.empty() ||
	       std::any_of(members.begin(), members.end(),
			   [](const Image &m) { return m.has_unix_sockets(); });
}

bool Image::has_in_flight() const
{
	auto files_have = [](const std::vector<OpenFile> &files) {
		return std::any_of(files.begin(), files.end(), [](const OpenFile &f) {
			return f.in_flight ||
			       (f.epoll && std::any_of(f.epoll->begin(), f.epoll->end(),
						       [](const EpollTarget &t) {
							       return t.file_fd >= 0;
						       }));
		});
	};
	auto pairs_have = [](const std::vector<UnixPair> &pairs) {
		return std::any_of(pairs.begin(), pairs.end(), [](const UnixPair &p) {
			return !p.ends[0].rights.empty() || !p.ends[1].rights.empty();
		});
	};
	auto sockets_have = [](const std::vector<UnixSocket> &sockets) {
		return std::any_of(sockets.begin(), sockets.end(),
				   [](const UnixSocket &s) { return !s.rights.empty(); });
	};
	return files_have(files) || files_have(tree_files) || pairs_have(unix_pairs) ||
	       pairs_have(tree_pairs) || sockets_have(unix_sockets) ||
	       sockets_have(tree_sockets) ||
	       std::any_of(members.begin(), members.end(),
			   [](const Image &m) { return m.has_in_flight(); });
}

bool Image::has_distinct_ids() const
{
	auto differ = [](const std::vector<uint32_t> &ids) {
		return std::any_of(ids.begin(), ids.end(),
				   [&](uint32_t id) { return id != ids.front(); });
	};
	return differ(uids) || differ(gids) ||
	       std::any_of(members.begin(), members.end(),
			   [](const Image &m) { return m.has_distinct_ids(); });
}

uint64_t Image::page_bytes() const
{
	uint64_t n = 0;
	for (const auto &p : pages)
		n += p.len;
	return n;
}

namespace {

// A run of pages to write, from its process (0 the root, I member I - 1)
// through READER when it holds no data.
struct RunRef {
	const PageRun *run;
	const PageReader *reader;
	size_t process;
};

Result<void> write_runs(const std::vector<RunRef> &runs, const ByteSink &sink,
			const WriteOptions &opts);
Result<void> write_runs_at(const std::vector<RunRef> &runs, int fd, const WriteOptions &opts);

// write_image; FILE_FD, when not -1, is the regular file SINK writes to,
// at whose offsets the savers of OPTS may put page records themselves.
Result<void> write_image_to(const Image &img, const ByteSink &sink, const WriteOptions &opts,
			    int file_fd);

} // namespace

Result<void> write_image(const Image &img, const ByteSink &sink,
			 const WriteOptions &opts)
{
	return write_image_to(img, sink, opts, -1);
}

namespace {

Result<void> write_image_to(const Image &img, const ByteSink &sink, const WriteOptions &opts,
			    int file_fd)
{
	std::vector<uint8_t> meta = json::to_cbor(to_cbor_tree(img));
	Header h{};
	std::memcpy(h.magic, kMagic, sizeof(kMagic));
	h.version = img.has_distinct_ids() ? kImageFormatVersion
		  : img.has_in_flight()	    ? kImageFormatInFlight
		  : !img.ghosts.empty()	    ? kImageFormatGhosts
		  : img.has_unix_sockets()  ? kImageFormatUnixSockets
		    : img.has_inet_sockets() ? kImageFormatInet
		    : !img.tree_files.empty() ? kImageFormatTreeFiles
		    : img.is_tree()	    ? kImageFormatTree
					    : kImageFormatSingle;
	h.arch = img.arch;
	h.meta_len = meta.size();
	h.header_crc = crc32_of(&h, offsetof(Header, header_crc));
	uint64_t meta_sum = sum_of(meta.data(), meta.size());
	if (auto r = sink(bytes_of(h)); !r)
		return r;
	if (auto r = sink(bytes_of(meta_sum)); !r)
		return r;
	if (auto r = sink(meta); !r)
		return r;

	// The root's runs, then each member's (format 3), each from its reader.
	std::vector<RunRef> runs;
	for (const auto &run : img.pages)
		runs.push_back({&run, &opts.reader, 0});
	for (size_t i = 0; i < img.members.size(); i++)
		for (const auto &run : img.members[i].pages)
			runs.push_back({&run, i < opts.member_readers.size()
					       ? &opts.member_readers[i] : nullptr, i + 1});
	bool all_read = std::all_of(runs.begin(), runs.end(), [](const RunRef &ref) {
		return ref.run->data.empty() && ref.reader && *ref.reader;
	});
	if (file_fd >= 0 && opts.saver && !opts.compress && all_read)
		return write_runs_at(runs, file_fd, opts);
	return write_runs(runs, sink, opts);
}

} // namespace

Result<void> write_page_records(const std::vector<PageRun> &pages, const ByteSink &sink,
			       const WriteOptions &opts)
{
	std::vector<RunRef> runs;
	for (const auto &run : pages)
		runs.push_back({&run, &opts.reader, 0});
	return write_runs(runs, sink, opts);
}

namespace {

// Page records for RUNS, each read with its reader when it has no data,
// then the end record and the trailer.
Result<void> write_runs(const std::vector<RunRef> &runs, const ByteSink &sink,
			const WriteOptions &opts)
{
	RecordPipeline pipe(opts.compress ? compress_lanes(opts.threads) : 1, opts.compress);
	if (auto r = pipe.start(); !r)
		return r;
	// The finished records go out on a thread of their own while this one
	// reads the next ones from the process: the two copies a page takes
	// (process to our buffer, buffer to the file or socket) run on two
	// CPUs instead of one after the other. Counters under MU; slot N is
	// this thread's until READ passes it, the writer's until WRITTEN does.
	Trailer t{};
	std::mutex mu;
	std::condition_variable moved;
	uint64_t read = 0, written = 0;		// records
	bool no_more = false;			// read is final, or we give up
	std::optional<Error> write_error;
	std::thread writer([&] {
		for (;;) {
			{
				std::unique_lock lk(mu);
				moved.wait(lk, [&] { return written < read || no_more; });
				if (written >= read)	// all written, or given up
					return;
			}
			const PendingRecord &p = pipe.finished(written);
			auto r = sink(bytes_of(p.rh));
			if (r)
				r = sink(p.stored);
			std::lock_guard lk(mu);
			if (!r) {
				write_error = r.error();
				moved.notify_all();
				return;
			}
			t.records++;
			t.page_bytes += p.raw.size();
			written++;
			moved.notify_all();
		}
	});
	auto finish = [&](bool give_up) -> Result<void> {
		{
			std::lock_guard lk(mu);
			no_more = true;
			if (give_up)
				read = written;	// the writer stops after its record
		}
		moved.notify_all();
		writer.join();
		if (write_error)
			return std::unexpected(*write_error);
		return {};
	};

	for (const auto &[run_ptr, reader, process] : runs) {
		const PageRun &run = *run_ptr;
		if (run.data.empty() && (!reader || !*reader) && run.len) {
			(void)finish(true);
			return fail(EINVAL, "write_image: page data without a reader");
		}
		for (uint64_t off = 0; off < run.len; off += kPageRecordMax) {
			{
				std::unique_lock lk(mu);
				moved.wait(lk, [&] { return read - written < pipe.size() || write_error; });
				if (write_error)
					break;
			}
			// Read here, not on the workers: the reader is the process.
			size_t n = size_t(std::min<uint64_t>(kPageRecordMax, run.len - off));
			PendingRecord &p = pipe.slot(read);
			p.addr = run.addr + off;
			if (run.data.empty()) {
				p.chunk.resize(kPageRecordMax);
				if (auto r = (*reader)(p.addr, {p.chunk.data(), n}); !r) {
					(void)finish(true);
					return r;
				}
				p.raw = {p.chunk.data(), n};
			} else {
				p.raw = {run.data.data() + off, n};
			}
			pipe.submit(p);
			std::lock_guard lk(mu);
			read++;
			moved.notify_all();
		}
	}
	if (auto r = finish(false); !r)
		return r;
	return sink(end_of_records(t));
}

Result<void> pwrite_all(int fd, std::span<const uint8_t> b, uint64_t offset)
{
	return fds::pwrite_all(fd, b, offset, "writing the image");
}

// Sums records already in file FD and writes their headers, on a thread of
// its own while the kernel writes the next records: the XXH64 of every
// byte is a pass over the data as long as a third of the copy under TCG,
// and on another CPU it costs no time (Documentation/benchmarks.md, "One
// copy"). The bytes are read where the copy left them, in the page cache,
// through a mapping of the file: no copy of ours.
class RecordSummer {
public:
	explicit RecordSummer(int fd) : fd_(fd), thread_([this] { run(); }) {}
	RecordSummer(const RecordSummer &) = delete;
	RecordSummer &operator=(const RecordSummer &) = delete;
	~RecordSummer() { (void)finish(); }

	// Sums LEN bytes at DATA_AT into RH and writes RH at HEADER_AT.
	void add(const RecordHeader &rh, uint64_t header_at, uint64_t data_at, uint64_t len)
	{
		{
			std::lock_guard lk(mu_);
			queue_.push_back({rh, header_at, data_at, len});
		}
		cv_.notify_one();
	}

	// Waits until every header is written; the first error, if any.
	Result<void> finish()
	{
		{
			std::lock_guard lk(mu_);
			done_ = true;
		}
		cv_.notify_one();
		if (thread_.joinable())
			thread_.join();
		if (error_)
			return std::unexpected(*error_);
		return {};
	}

	bool failed()
	{
		std::lock_guard lk(mu_);
		return error_.has_value();
	}

private:
	struct Item {
		RecordHeader rh;
		uint64_t header_at, data_at, len;
	};

	Result<void> sum_one(Item &item)
	{
		static const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
		uint64_t start = item.data_at & ~(page - 1), skip = item.data_at - start;
		size_t size = size_t(skip + item.len);
		// Reading a mapping past the file's end is SIGBUS: the saver
		// wrote the bytes, unless the file was cut since.
		struct stat st;
		if (::fstat(fd_, &st) || uint64_t(st.st_size) < item.data_at + item.len)
			return fail(EIO, "the image file is shorter than what was written to it");
		void *map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd_,
				   off_t(start));
		if (map == MAP_FAILED)
			return fail(errno, "mapping the image to sum its pages");
		item.rh.data_sum = sum_of(static_cast<const uint8_t *>(map) + skip, item.len);
		::munmap(map, size);
		seal(item.rh);
		return pwrite_all(fd_, bytes_of(item.rh), item.header_at);
	}

	void run()
	{
		std::unique_lock lk(mu_);
		for (;;) {
			cv_.wait(lk, [&] { return done_ || !queue_.empty(); });
			if (queue_.empty())
				return;
			Item item = queue_.front();
			queue_.pop_front();
			lk.unlock();
			auto r = sum_one(item);
			lk.lock();
			if (!r && !error_)
				error_ = r.error();
			if (error_)
				queue_.clear();
		}
	}

	int fd_;
	std::mutex mu_;
	std::condition_variable cv_;
	std::deque<Item> queue_;
	bool done_ = false;
	std::optional<Error> error_;
	std::thread thread_;	// last: started once the rest is made
};

// write_runs for a regular file FD whose position is where the records
// start: every record's place is known before any is written (its header,
// then its raw bytes), so the saver writes each record's bytes there and
// the kernel copies the pages once (page_saver.h); the header follows with
// the sum, taken by the kernel on one CPU, else by a RecordSummer on
// another. A record the saver cannot read (EFAULT: a mapping the kernel
// will not pin) goes through the record's reader instead. The file ends
// with the end record and the trailer, its position after them. Every run
// is read (no DATA) and has a reader.
//
// One saver, on this thread: a second one, writing other records of the
// same file, waits for the file's lock (tmpfs and ext4 take the inode
// lock for every write) and spun on it, twice the CPU for no less time
// (Documentation/benchmarks.md, "One copy").
Result<void> write_runs_at(const std::vector<RunRef> &runs, int fd, const WriteOptions &opts)
{
	off_t base = ::lseek(fd, 0, SEEK_CUR);
	if (base < 0)
		return fail(errno, "lseek in the image");
	std::optional<RecordSummer> summer;
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		try {
			summer.emplace(fd);
		} catch (const std::system_error &) {
			// No thread: the kernel sums.
		}
	}
	Trailer t{};
	uint64_t at = uint64_t(base);
	std::vector<uint8_t> buffer;
	for (const auto &ref : runs) {
		for (uint64_t off = 0; off < ref.run->len; off += kPageRecordMax) {
			if (summer && summer->failed())
				return summer->finish();
			uint64_t n = std::min<uint64_t>(kPageRecordMax, ref.run->len - off);
			RecordHeader rh = raw_header(ref.run->addr + off, n);
			uint64_t data_at = at + sizeof(RecordHeader);
			auto saved = opts.saver(ref.process, rh.addr, n, fd, data_at, !summer);
			if (!saved && saved.error().code != EFAULT)
				return std::unexpected(saved.error());
			std::optional<uint64_t> sum;
			if (!saved) {
				buffer.resize(kPageRecordMax);
				std::span<uint8_t> bytes(buffer.data(), n);
				if (auto r = (*ref.reader)(rh.addr, bytes); !r)
					return r;
				if (auto r = pwrite_all(fd, bytes, data_at); !r)
					return r;
				sum = sum_of(bytes.data(), bytes.size());
			} else if (summer) {
				summer->add(rh, at, data_at, n);
			} else {
				sum = *saved;
			}
			if (sum) {
				rh.data_sum = *sum;
				seal(rh);
				if (auto r = pwrite_all(fd, bytes_of(rh), at); !r)
					return r;
			}
			at = data_at + n;
			t.records++;
			t.page_bytes += n;
		}
	}
	if (summer)
		if (auto r = summer->finish(); !r)
			return r;
	auto end = end_of_records(t);
	if (auto r = pwrite_all(fd, end, at); !r)
		return r;
	if (::lseek(fd, off_t(at + end.size()), SEEK_SET) < 0)
		return fail(errno, "lseek in the image");
	return {};
}

} // namespace

namespace {

// What is wrong with F's namespace, symbolic link, /proc file or owner
// record, or nothing.
std::optional<std::string> file_kind_problem(const OpenFile &f)
{
	static const char *const kinds[] = {"cgroup", "ipc", "mnt", "net", "pid",
					    "time", "user", "uts"};
	bool opened_by_path = !f.made_anew() && !f.rdev && !f.directory && !f.fifo &&
			      !f.std_stream && f.ghost < 0 && f.tree_file < 0 && f.dup_of < 0;
	int marks = !f.ns.empty() + bool(f.symlink) + bool(f.proc_pid);
	if (marks > 1 || (marks && !opened_by_path))
		return strf("fd %d: a namespace, symbolic link or /proc file that is something "
			    "else too", f.fd);
	if (!f.ns.empty() && std::none_of(std::begin(kinds), std::end(kinds),
					  [&](const char *k) { return f.ns == k; }))
		return strf("fd %d: a namespace of no kind this hetmig knows", f.fd);
	if (f.symlink && (!(f.flags & O_PATH) || f.path.empty() || f.path.front() != '/'))
		return strf("fd %d: a symbolic link that is no O_PATH descriptor of a path", f.fd);
	if (f.proc_pid && (f.proc_pid < 0 || !f.path.starts_with(strf("/proc/%d/", f.proc_pid))))
		return strf("fd %d: a /proc file whose path names another process", f.fd);
	if (f.owner && ((f.owner->type != F_OWNER_TID && f.owner->type != F_OWNER_PID &&
			 f.owner->type != F_OWNER_PGRP) ||
			f.owner->id < 0 || f.owner->signal < 0 || f.owner->signal > 64))
		return strf("fd %d: an owner out of range", f.fd);
	return std::nullopt;
}

// What one process of an image must satisfy (the root and each member):
// files in fd order, values in range, pipes whole, shared memory that
// exists (SHARED: how many objects the image has).
Result<void> check_process(const Image &img, size_t shared)
{
	for (size_t i = 0; i < img.files.size(); i++) {
		const OpenFile &f = img.files[i];
		bool earlier = std::any_of(img.files.begin(), img.files.begin() + i,
					   [&](const OpenFile &e) { return e.fd == f.dup_of; });
		if (f.fd < 0 || (i && f.fd <= img.files[i - 1].fd) ||
		    (f.dup_of != -1 && !earlier))
			return corrupt(strf("file descriptor %d out of order or shared with "
					    "one the image lacks", f.fd));
	}
	if (img.oom_score_adj && (*img.oom_score_adj < -1000 || *img.oom_score_adj > 1000))
		return corrupt("oom_score_adj out of range");
	if (img.groups.size() > 65536)	// NGROUPS_MAX
		return corrupt("more supplementary groups than a process can have");
	if (auto r = check_pipes(img); !r)
		return std::unexpected(r.error());
	if (img.timers)
		for (size_t i = 0; i < img.timers->posix.size(); i++) {
			const PosixTimer &t = img.timers->posix[i];
			if (t.id < 0 || (i && t.id <= img.timers->posix[i - 1].id) ||
			    t.signal < 0 || t.signal > 64 || t.thread >= std::max<size_t>(img.threads.size(), 1))
				return corrupt(strf("POSIX timer %d out of order or with signal %d",
						    t.id, t.signal));
		}
	for (const auto &f : img.files)
		if (f.timerfd && (f.timerfd->value.nsec >= 1000000000 ||
				  f.timerfd->interval.nsec >= 1000000000 ||
				  f.timerfd->value.sec > INT64_MAX || f.timerfd->interval.sec > INT64_MAX))
			return corrupt(strf("fd %d: a timerfd's time out of range", f.fd));
	if (auto r = check_epolls_and_signals(img); !r)
		return std::unexpected(r.error());
	for (const auto &f : img.files) {
		if (auto why = f.udp ? fds::udp_problem(f) : fds::tcp_problem(f))
			return corrupt(*why);
		if (auto why = fds::socket_options_problem(f.sockopts))
			return corrupt(strf("fd %d: %s", f.fd, why->c_str()));
		if (!f.sockopts.empty() && !f.tcp && !f.udp)
			return corrupt(strf("fd %d: socket options on what is no TCP or UDP "
					    "socket", f.fd));
	}
	if (auto r = check_unix_pairs(img.unix_pairs, img.files, img.unix_sockets); !r)
		return std::unexpected(r.error());
	for (const auto &s : img.unix_sockets)
		if (auto why = rights_problem(s.rights, s.queued.size(), img.files))
			return corrupt(*why);
	for (const auto &f : img.files)
		if (auto why = file_kind_problem(f))
			return corrupt(*why);
	for (const auto &f : img.files)
		if (f.in_flight && (!f.pipe || f.dup_of >= 0))
			return corrupt(strf("fd %d: a file in flight that is no pipe end", f.fd));
	if (auto why = fds::unix_sockets_problem(img.unix_sockets, img.files))
		return corrupt(*why);
	if (auto why = fds::fifos_problem(img.files, img.fifos))
		return corrupt(*why);
	for (const auto &m : img.mappings)
		if (m.shared >= 0 && (size_t(m.shared) >= shared ||
				      !(m.flags & HETMIG_VMA_F_MAYSHARE)))
			return corrupt(strf("mapping 0x%lx of process %u: shared memory the "
					    "image lacks", (unsigned long)m.start, img.pid));
	return {};
}

// The records of a tree's image, read into the root's pages, handed to
// each process: SHARES[0] bytes are the root's, the next SHARES[1] the
// first member's, and so on. A record belongs to one process only.
Result<void> share_out_pages(Image &img, const std::vector<uint64_t> &shares)
{
	if (shares.size() != img.members.size() + 1)
		return corrupt("page byte counts do not match the tree");
	std::vector<PageRun> all = std::move(img.pages);
	img.pages.clear();
	size_t next = 0;
	for (size_t p = 0; p < shares.size(); p++) {
		std::vector<PageRun> &out = p ? img.members[p - 1].pages : img.pages;
		uint64_t left = shares[p];
		while (left) {
			if (next == all.size() || all[next].len > left)
				return corrupt("page records do not match the tree's byte counts");
			left -= all[next].len;
			out.push_back(std::move(all[next++]));
		}
	}
	if (next != all.size())
		return corrupt("page records beyond the tree's byte counts");
	return {};
}

} // namespace

namespace {

// The next LEN bytes of a mapped image, without a copy (load_image's
// kMapped); a null ByteView means every byte is read through the source.
using ByteView = std::function<Result<std::span<const uint8_t>>(size_t len)>;

Result<void> read_page_records_from(const ByteSource &source, const ByteView &view,
				    uint32_t version, std::vector<PageRun> &pages);

// The header and metadata of an image, checked: its format VERSION, and
// for a tree the page bytes of each process in record order (SHARES).
Result<Image> read_metadata(const ByteSource &source, uint32_t &version,
			    std::vector<uint64_t> &shares)
{
	Header h;
	// The magic alone first: a short file that is not an image says so.
	auto all = bytes_of(h);
	if (auto r = source(all.first(sizeof(h.magic))); !r)
		return std::unexpected(r.error());
	if (std::memcmp(h.magic, kMagic, sizeof(kMagic)))
		return fail(EBADMSG, "not a hetmig image (bad magic)");
	if (auto r = source(all.subspan(sizeof(h.magic))); !r)
		return std::unexpected(r.error());
	if (h.header_crc != crc32_of(&h, offsetof(Header, header_crc)))
		return corrupt("header checksum mismatch");
	version = h.version;
	if (version < 1 || version > kImageFormatVersion)
		return fail(EPROTO, strf("image format version %u is not supported (this "
					 "hetmig reads versions 1 to %u)", version,
					 kImageFormatVersion));
	uint64_t meta_sum = h.meta_crc;
	if (version >= 2) {
		if (h.meta_crc)
			return corrupt("header field reserved in format 2 is set");
		if (auto r = source(bytes_of(meta_sum)); !r)
			return std::unexpected(r.error());
	}
	if (h.meta_len > kMetaMax)
		return corrupt("metadata length out of range");
	std::vector<uint8_t> meta(h.meta_len);
	if (auto r = source(meta); !r)
		return std::unexpected(r.error());
	if (meta_sum != data_sum(version, meta))
		return corrupt("metadata checksum mismatch");

	Image img;
	// Format 3: how many page bytes are the root's, then each member's.
	shares.clear();
	try {
		json j = json::from_cbor(meta);
		from_cbor_tree(j, img);
		if (img.is_tree()) {
			shares.push_back(j.at("page_bytes"));
			for (const auto &m : j.at("members"))
				shares.push_back(m.at("page_bytes"));
		}
	} catch (const json::exception &e) {
		return corrupt(std::string("metadata: ") + e.what());
	} catch (const std::out_of_range &e) {
		return corrupt(std::string("metadata: ") + e.what());
	}
	if (img.arch != h.arch)
		return corrupt("architecture of header and metadata differ");
	if (img.is_tree() && version < kImageFormatTree)
		return corrupt("a process tree or shared memory in a format 1 or 2 image");
	if (!img.tree_files.empty() && version < kImageFormatTreeFiles)
		return corrupt("descriptors shared between a tree's processes in a format 1 "
			       "to 3 image");
	if (img.has_inet_sockets() && version < kImageFormatInet)
		return corrupt("a TCP or UDP socket in a format 1 to 4 image");
	if (img.has_unix_sockets() && version < kImageFormatUnixSockets)
		return corrupt("a named or shut down unix socket in a format 1 to 5 image");
	if (!img.ghosts.empty() && version < kImageFormatGhosts)
		return corrupt("a deleted file or memfd in a format 1 to 6 image");
	if (img.has_in_flight() && version < kImageFormatInFlight)
		return corrupt("descriptors in flight or an epoll entry whose fd was closed in "
			       "a format 1 to 7 image");
	if (img.has_distinct_ids() && version < kImageFormatVersion)
		return corrupt("distinct real, effective, saved or file system ids in a format "
			       "1 to 8 image");
	if (auto why = fds::tree_files_problem(img))
		return corrupt(*why);
	if (auto why = fds::ghosts_problem(img))
		return corrupt(*why);
	if (auto r = check_unix_pairs(img.tree_pairs, img.tree_files, img.tree_sockets); !r)
		return std::unexpected(r.error());
	if (auto why = fds::unix_sockets_problem(img.tree_sockets, img.tree_files))
		return corrupt(*why);
	if (auto r = check_process(img, img.shared.size()); !r)
		return std::unexpected(r.error());
	for (const auto &m : img.members) {
		if (!m.members.empty() || !m.shared.empty() || !m.tree_files.empty() ||
		    !m.ghosts.empty() || m.arch != img.arch)
			return corrupt(strf("member %u of the tree has members of its own or "
					    "another architecture", m.pid));
		if (auto r = check_process(m, img.shared.size()); !r)
			return std::unexpected(r.error());
	}
	for (const auto &sh : img.shared)
		if (sh.size % img.page_size || sh.size > (uint64_t(1) << 47))
			return corrupt("shared memory size out of range");
	return img;
}

Result<Image> read_image_from(const ByteSource &source, const ByteView &view)
{
	uint32_t version;
	std::vector<uint64_t> shares;
	auto img = read_metadata(source, version, shares);
	if (!img)
		return img;
	if (auto r = read_page_records_from(source, view, version, img->pages); !r)
		return std::unexpected(r.error());
	if (!shares.empty())
		if (auto r = share_out_pages(*img, shares); !r)
			return std::unexpected(r.error());
	return img;
}

// Raw records of a mapped image, checked side by side on every CPU once all
// are read: the sums are most of a mapped restore's reading. The first bad
// one (by position) is named, as the reading in order would.
struct Unchecked {
	std::span<const uint8_t> data;
	uint64_t sum, addr;
};

Result<void> check_sums(uint32_t version, const std::vector<Unchecked> &records)
{
	const size_t lanes = std::min(compress_lanes(0), std::max<size_t>(records.size(), 1));
	std::vector<size_t> first_bad(lanes, records.size());
	auto check = [&](size_t lane) {
		for (size_t i = lane; i < records.size(); i += lanes)
			if (data_sum(version, records[i].data) != records[i].sum) {
				first_bad[lane] = i;
				return;
			}
	};
	{
		// Before the restorer makes the process: no stack left behind
		// (own_stack_thread.h).
		std::vector<std::unique_ptr<OwnStackThread>> workers;
		for (size_t lane = 1; lane < lanes; lane++)
			workers.push_back(std::make_unique<OwnStackThread>([&, lane] { check(lane); }));
		check(0);
	}
	size_t bad = *std::min_element(first_bad.begin(), first_bad.end());
	if (bad < records.size())
		return corrupt("page data checksum mismatch at 0x" +
			       strf("%lx", (unsigned long)records[bad].addr));
	return {};
}

// The next page record: its header checked, its data read (viewed in a
// mapped image, its sum left for check_sums in UNCHECKED) and checked;
// nullopt at the end record. STORED is the caller's buffer to reuse.
Result<std::optional<PageRun>> read_record(const ByteSource &source, const ByteView &view,
					   uint32_t version, std::vector<uint8_t> &stored,
					   std::vector<Unchecked> *unchecked)
{
	auto header = read_record_header(source, version);
	if (!header)
		return std::unexpected(header.error());
	const Record &rh = *header;
	if (!rh.addr)
		return std::nullopt;
	if (rh.raw_len == 0 || rh.raw_len > kPageRecordMax ||
	    rh.stored_len > ZSTD_compressBound(kPageRecordMax) ||
	    (rh.codec != kCodecRaw && rh.codec != kCodecZstd) ||
	    (rh.codec == kCodecRaw && rh.stored_len != rh.raw_len))
		return corrupt("page record out of range");
	std::span<const uint8_t> in;
	if (view) {
		auto v = view(rh.stored_len);
		if (!v)
			return std::unexpected(v.error());
		in = *v;
	} else {
		stored.resize(rh.stored_len);
		if (auto r = source(stored); !r)
			return std::unexpected(r.error());
		in = stored;
	}
	if (unchecked && view && rh.codec == kCodecRaw)
		unchecked->push_back({in, rh.data_sum, rh.addr});
	else if (rh.data_sum != data_sum(version, in))
		return corrupt("page data checksum mismatch at 0x" +
			       strf("%lx", (unsigned long)rh.addr));
	PageRun run{rh.addr, rh.raw_len, {}};
	if (rh.codec == kCodecZstd) {
		run.data.resize(rh.raw_len);
		size_t n = ZSTD_decompress(run.data.data(), rh.raw_len, in.data(), in.size());
		if (ZSTD_isError(n) || n != rh.raw_len)
			return corrupt("page data does not decompress");
	} else if (view) {
		run.view = in;
	} else {
		run.data = std::move(stored);
		stored = {};
	}
	return run;
}

Result<void> check_trailer(const ByteSource &source, uint32_t version, uint64_t records,
			   uint64_t bytes)
{
	auto counts = read_trailer(source, version);
	if (!counts)
		return std::unexpected(counts.error());
	if (counts->first != records || counts->second != bytes)
		return corrupt("trailer counts do not match the records");
	return {};
}

Result<void> read_page_records_from(const ByteSource &source, const ByteView &view,
				    uint32_t version, std::vector<PageRun> &pages)
{
	uint64_t records = 0, bytes = 0;
	std::vector<uint8_t> stored;
	std::vector<Unchecked> unchecked;
	for (;;) {
		auto run = read_record(source, view, version, stored, &unchecked);
		if (!run)
			return std::unexpected(run.error());
		if (!*run)
			break;
		records++;
		bytes += (*run)->len;
		// One run a record: joining them would copy every byte again.
		pages.push_back(std::move(**run));
	}
	if (auto r = check_sums(version, unchecked); !r)
		return r;
	return check_trailer(source, version, records, bytes);
}

} // namespace

Result<Image> read_image(const ByteSource &source)
{
	return read_image_from(source, nullptr);
}

Result<std::pair<Image, PageStream>> read_image_streamed(const ByteSource &source)
{
	PageStream stream;
	auto img = read_metadata(source, stream.version_, stream.shares_);
	if (!img)
		return std::unexpected(img.error());
	stream.source_ = source;
	if (!stream.shares_.empty())
		stream.left_ = stream.shares_[0];
	return std::pair{std::move(*img), std::move(stream)};
}

Result<std::optional<PageRun>> PageStream::next(size_t process)
{
	if (process != process_ || ended_)
		return fail(EINVAL, strf("page records of process %zu asked out of order", process));
	const bool tree = !shares_.empty();
	if (tree && !left_) {
		if (++process_ < shares_.size())
			left_ = shares_[process_];
		return std::nullopt;
	}
	std::vector<uint8_t> stored;
	auto run = read_record(source_, nullptr, version_, stored, nullptr);
	if (!run)
		return run;
	if (!*run) {
		ended_ = true;
		if (tree)
			return corrupt("page records do not match the tree's byte counts");
		process_++;
		return run;
	}
	if (tree && (*run)->len > left_)
		return corrupt("page records do not match the tree's byte counts");
	left_ -= tree ? (*run)->len : 0;
	records_++;
	bytes_ += (*run)->len;
	return run;
}

Result<void> PageStream::finish()
{
	if (!ended_) {
		if (process_ < std::max<size_t>(shares_.size(), 1))
			return fail(EINVAL, "the image's page records were not all read");
		std::vector<uint8_t> stored;
		auto run = read_record(source_, nullptr, version_, stored, nullptr);
		if (!run)
			return std::unexpected(run.error());
		if (*run)
			return corrupt("page records beyond the tree's byte counts");
		ended_ = true;
	}
	return check_trailer(source_, version_, records_, bytes_);
}

Result<void> read_page_records(const ByteSource &source, uint32_t version,
			      std::vector<PageRun> &pages)
{
	return read_page_records_from(source, nullptr, version, pages);
}

Result<void> save_image(const Image &img, const std::string &path,
			const WriteOptions &opts)
{
	std::string tmp = path + ".partial";
	// Read too: the pages written by the kernel are summed in a mapping
	// of the file (write_runs_at).
	int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(errno, "open " + tmp);
	auto r = write_image_to(img, [&](std::span<const uint8_t> b) -> Result<void> {
		for (size_t off = 0; off < b.size();) {
			ssize_t n = ::write(fd, b.data() + off, b.size() - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return fail(errno ? errno : EIO, "write " + tmp);
			off += size_t(n);
		}
		return {};
	}, opts, fd);
	if (r && fsync(fd))
		r = fail(errno, "fsync " + tmp);
	::close(fd);
	// An image appears under its name only once it is whole.
	if (r && ::rename(tmp.c_str(), path.c_str()))
		r = fail(errno, "rename " + tmp);
	if (!r)
		::unlink(tmp.c_str());
	return r;
}

namespace {

// An image file mapped read-only, unmapped with the last Image holding it.
struct FileMapping {
	const uint8_t *base = nullptr;
	size_t size = 0;
	~FileMapping()
	{
		if (base)
			munmap(const_cast<uint8_t *>(base), size);
	}
};

// The image in FD, mapped: its bytes are checked and read where the file
// maps them, page data stored raw is viewed there. Nothing when the file
// cannot be mapped (a pipe, an empty file): then it is read.
std::optional<Result<Image>> load_mapped(int fd, const std::string &path)
{
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return std::nullopt;
	auto map = std::make_shared<FileMapping>();
	void *p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return std::nullopt;
	map->base = static_cast<const uint8_t *>(p);
	map->size = size_t(st.st_size);
	// Read in order: the kernel reads ahead, and the pages are mapped by
	// the time they are checked and copied out.
	madvise(p, map->size, MADV_SEQUENTIAL);
	size_t at = 0;
	auto take = [&](size_t len) -> Result<std::span<const uint8_t>> {
		if (len > map->size - at)
			return fail(EBADMSG, "truncated image: " + path + " ends too early");
		std::span<const uint8_t> b(map->base + at, len);
		at += len;
		return b;
	};
	auto img = read_image_from([&](std::span<uint8_t> b) -> Result<void> {
		auto v = take(b.size());
		if (!v)
			return std::unexpected(v.error());
		std::memcpy(b.data(), v->data(), b.size());
		return {};
	}, take);
	if (img)
		img->backing = map;
	return img;
}

} // namespace

Result<Image> load_image(const std::string &path, LoadMode mode)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open " + path);
	if (mode == LoadMode::kMapped) {
		auto mapped = load_mapped(fd, path);
		if (mapped) {
			::close(fd);
			return std::move(*mapped);
		}
	}
	auto img = read_image([&](std::span<uint8_t> b) -> Result<void> {
		for (size_t off = 0; off < b.size();) {
			ssize_t n = ::read(fd, b.data() + off, b.size() - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return fail(errno, "read " + path);
			if (n == 0)
				return fail(EBADMSG, "truncated image: " + path +
						     " ends too early");
			off += size_t(n);
		}
		return {};
	});
	::close(fd);
	return img;
}

} // namespace hetmig
