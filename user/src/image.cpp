// SPDX-License-Identifier: GPL-2.0
// Writing and reading migration images (see image.h for the layout).
#include "image.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/hetmig.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
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

struct [[gnu::packed]] Header {
	char magic[8];
	uint32_t version;
	uint32_t arch;
	uint64_t meta_len;
	uint32_t meta_crc;
	uint32_t header_crc;	// of everything above
};

struct [[gnu::packed]] RecordHeader {
	uint64_t addr;		// 0 ends the records
	uint32_t raw_len;
	uint32_t stored_len;
	uint32_t codec;
	uint32_t data_crc;
	uint32_t header_crc;
	uint32_t reserved;
};

struct [[gnu::packed]] Trailer {
	char magic[8];
	uint64_t records;
	uint64_t page_bytes;
	uint32_t crc;		// of everything above
	uint32_t reserved;
};

uint32_t crc32_of(const void *p, size_t n)
{
	return uint32_t(crc32(0, static_cast<const Bytef *>(p), uInt(n)));
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

json::binary_t binary(const std::vector<uint8_t> &v)
{
	return json::binary_t(v);
}

json to_cbor_tree(const Image &img)
{
	json threads = json::array();
	for (const auto &t : img.threads) {
		json regsets = json::array();
		for (const auto &[note, data] : t.regsets)
			regsets.push_back({{"note", note}, {"data", binary(data)}});
		threads.push_back({
			{"tid", t.tid}, {"arch", t.arch}, {"sigmask", t.sigmask},
			{"tp", t.thread_pointer}, {"ss_sp", t.altstack_sp},
			{"ss_size", t.altstack_size}, {"ss_flags", t.altstack_flags},
			{"clear_child_tid", t.clear_child_tid},
			{"robust_list", t.robust_list}, {"rseq", t.rseq},
			{"rseq_sig", t.rseq_sig}, {"regsets", regsets},
		});
	}
	const MmLayout &m = img.mm;
	json mm = {
		{"start_code", m.start_code}, {"end_code", m.end_code},
		{"start_data", m.start_data}, {"end_data", m.end_data},
		{"start_brk", m.start_brk}, {"brk", m.brk},
		{"start_stack", m.start_stack}, {"arg_start", m.arg_start},
		{"arg_end", m.arg_end}, {"env_start", m.env_start},
		{"env_end", m.env_end}, {"auxv", m.auxv},
	};
	json maps = json::array();
	for (const auto &v : img.mappings)
		maps.push_back({
			{"start", v.start}, {"end", v.end}, {"pgoff", v.pgoff},
			{"prot", v.prot}, {"flags", v.flags}, {"kind", v.kind},
			{"path", v.path}, {"name", v.name}, {"inode", v.inode},
		});
	json sigs = json::array();
	for (const auto &s : img.signals)
		sigs.push_back({{"signal", s.signal}, {"handler", s.handler},
				{"flags", s.flags}, {"mask", s.mask},
				{"restorer", s.restorer}});
	json files = json::array();
	for (const auto &f : img.files) {
		json file = {{"fd", f.fd}, {"path", f.path}, {"flags", f.flags},
			     {"offset", f.offset}, {"size", f.size},
			     {"mtime_ns", f.mtime_ns}, {"std", f.std_stream},
			     {"left_behind", f.left_behind}, {"dup_of", f.dup_of}};
		if (f.directory) {
			file["dir"] = true;
			file["inode"] = f.inode;
		}
		files.push_back(std::move(file));
	}
	json mapped = json::array();
	for (const auto &f : img.mapped_files)
		mapped.push_back({{"path", f.path}, {"size", f.size},
				  {"mtime_ns", f.mtime_ns}});
	json tree = {
		{"arch", img.arch}, {"page_size", img.page_size},
		{"kernel_release", img.kernel_release}, {"hostname", img.hostname},
		{"comm", img.comm}, {"pid", img.pid}, {"uid", img.uid},
		{"gid", img.gid}, {"umask", img.umask}, {"cwd", img.cwd},
		{"vdso_size", img.vdso_size}, {"vvar_size", img.vvar_size},
		{"vdso_digest", img.vdso_digest}, {"threads", threads}, {"mm", mm},
		{"mappings", maps}, {"signals", sigs}, {"files", files},
		{"mapped_files", mapped}, {"rlimits", img.rlimits},
		{"program", {{"path", img.program.path}, {"pair_id", img.program.pair_id},
			     {"converted_from", img.program.converted_from}}},
	};
	if (img.oom_score_adj)
		tree["oom_score_adj"] = *img.oom_score_adj;
	if (img.timers) {
		json posix = json::array();
		for (const auto &t : img.timers->posix)
			posix.push_back({{"id", t.id}, {"clock", t.clock}, {"signal", t.signal},
					 {"notify", t.notify}, {"value", t.value},
					 {"interval_ns", t.interval_ns},
					 {"remaining_ns", t.remaining_ns}});
		tree["timers"] = {{"itimers", img.timers->itimers}, {"posix", posix},
				  {"slack_ns", img.timers->slack_ns}};
	}
	return tree;
}

void from_cbor_tree(const json &j, Image &img)
{
	img.arch = j.at("arch");
	img.page_size = j.at("page_size");
	img.kernel_release = j.at("kernel_release");
	img.hostname = j.value("hostname", "");
	img.comm = j.value("comm", "");
	img.pid = j.at("pid");
	img.uid = j.at("uid");
	img.gid = j.at("gid");
	img.umask = j.at("umask");
	img.cwd = j.at("cwd");
	img.vdso_size = j.at("vdso_size");
	img.vvar_size = j.at("vvar_size");
	img.vdso_digest = j.at("vdso_digest");
	for (const auto &t : j.at("threads")) {
		ThreadState s;
		s.tid = t.at("tid");
		s.arch = t.at("arch");
		s.sigmask = t.at("sigmask");
		s.thread_pointer = t.at("tp");
		s.altstack_sp = t.at("ss_sp");
		s.altstack_size = t.at("ss_size");
		s.altstack_flags = t.at("ss_flags");
		s.clear_child_tid = t.at("clear_child_tid");
		s.robust_list = t.at("robust_list");
		s.rseq = t.value("rseq", uint64_t(0));
		s.rseq_sig = t.value("rseq_sig", uint32_t(0));
		for (const auto &r : t.at("regsets"))
			s.regsets[r.at("note")] = r.at("data").get_binary();
		img.threads.push_back(std::move(s));
	}
	const json &m = j.at("mm");
	img.mm.start_code = m.at("start_code");
	img.mm.end_code = m.at("end_code");
	img.mm.start_data = m.at("start_data");
	img.mm.end_data = m.at("end_data");
	img.mm.start_brk = m.at("start_brk");
	img.mm.brk = m.at("brk");
	img.mm.start_stack = m.at("start_stack");
	img.mm.arg_start = m.at("arg_start");
	img.mm.arg_end = m.at("arg_end");
	img.mm.env_start = m.at("env_start");
	img.mm.env_end = m.at("env_end");
	img.mm.auxv = m.at("auxv").get<std::vector<uint64_t>>();
	for (const auto &v : j.at("mappings")) {
		Mapping map;
		map.start = v.at("start");
		map.end = v.at("end");
		map.pgoff = v.at("pgoff");
		map.prot = v.at("prot");
		map.flags = v.at("flags");
		map.kind = v.at("kind");
		map.path = v.at("path");
		map.name = v.at("name");
		map.inode = v.at("inode");
		img.mappings.push_back(std::move(map));
	}
	for (const auto &s : j.at("signals"))
		img.signals.push_back({s.at("signal"), s.at("handler"), s.at("flags"),
				       s.at("mask"), s.at("restorer")});
	for (const auto &f : j.at("files"))
		img.files.push_back({f.at("fd"), f.at("path"), f.at("flags"),
				     f.at("offset"), f.at("size"), f.at("mtime_ns"),
				     f.at("std"), f.value("left_behind", ""),
				     f.value("dup_of", -1), f.value("dir", false),
				     f.value("inode", uint64_t(0))});
	for (const auto &f : j.at("mapped_files"))
		img.mapped_files.push_back({f.at("path"), f.at("size"), f.at("mtime_ns")});
	// Added after format 1 was first written: optional.
	if (auto r = j.find("rlimits"); r != j.end())
		img.rlimits = r->get<std::vector<std::pair<uint64_t, uint64_t>>>();
	if (auto o = j.find("oom_score_adj"); o != j.end())
		img.oom_score_adj = o->get<int>();
	if (auto t = j.find("timers"); t != j.end()) {
		Timers timers;
		timers.itimers = t->at("itimers").get<decltype(timers.itimers)>();
		for (const auto &p : t->at("posix"))
			timers.posix.push_back({p.at("id"), p.at("clock"), p.at("signal"),
						p.at("notify"), p.at("value"), p.at("interval_ns"),
						p.at("remaining_ns")});
		timers.slack_ns = t->at("slack_ns");
		img.timers = std::move(timers);
	}
	if (auto p = j.find("program"); p != j.end())
		img.program = {p->value("path", ""), p->value("pair_id", ""),
			       p->value("converted_from", "")};
}

Result<void> write_record(const ByteSink &sink, uint64_t addr,
			  std::span<const uint8_t> raw, bool compress,
			  std::vector<uint8_t> &scratch)
{
	RecordHeader rh{};
	rh.addr = addr;
	rh.raw_len = uint32_t(raw.size());
	std::span<const uint8_t> stored = raw;
	rh.codec = kCodecRaw;
	if (compress) {
		scratch.resize(ZSTD_compressBound(raw.size()));
		size_t n = ZSTD_compress(scratch.data(), scratch.size(), raw.data(),
					 raw.size(), 1);
		if (!ZSTD_isError(n) && n < raw.size()) {
			stored = {scratch.data(), n};
			rh.codec = kCodecZstd;
		}
	}
	rh.stored_len = uint32_t(stored.size());
	rh.data_crc = crc32_of(stored.data(), stored.size());
	rh.header_crc = crc32_of(&rh, offsetof(RecordHeader, header_crc));
	if (auto r = sink(bytes_of(rh)); !r)
		return r;
	return sink(stored);
}

std::unexpected<Error> corrupt(const std::string &what)
{
	return fail(EBADMSG, "corrupted image: " + what);
}

} // namespace

const Mapping *mapping_containing(const Image &img, uint64_t addr)
{
	for (const auto &m : img.mappings)
		if (addr >= m.start && addr < m.end)
			return &m;
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

uint64_t Image::page_bytes() const
{
	uint64_t n = 0;
	for (const auto &p : pages)
		n += p.len;
	return n;
}

Result<void> write_image(const Image &img, const ByteSink &sink,
			 const WriteOptions &opts)
{
	std::vector<uint8_t> meta = json::to_cbor(to_cbor_tree(img));
	Header h{};
	std::memcpy(h.magic, kMagic, sizeof(kMagic));
	h.version = kImageFormatVersion;
	h.arch = img.arch;
	h.meta_len = meta.size();
	h.meta_crc = crc32_of(meta.data(), meta.size());
	h.header_crc = crc32_of(&h, offsetof(Header, header_crc));
	if (auto r = sink(bytes_of(h)); !r)
		return r;
	if (auto r = sink(meta); !r)
		return r;

	Trailer t{};
	std::vector<uint8_t> scratch, chunk;
	for (const auto &run : img.pages) {
		if (run.data.empty() && !opts.reader && run.len)
			return fail(EINVAL, "write_image: page data without a reader");
		for (uint64_t off = 0; off < run.len; off += kPageRecordMax) {
			size_t n = size_t(std::min<uint64_t>(kPageRecordMax, run.len - off));
			std::span<const uint8_t> raw;
			if (run.data.empty()) {
				chunk.resize(kPageRecordMax);
				if (auto r = opts.reader(run.addr + off, {chunk.data(), n}); !r)
					return r;
				raw = {chunk.data(), n};
			} else {
				raw = {run.data.data() + off, n};
			}
			if (auto r = write_record(sink, run.addr + off, raw, opts.compress,
						  scratch); !r)
				return r;
			t.records++;
			t.page_bytes += n;
		}
	}
	RecordHeader end{};
	end.header_crc = crc32_of(&end, offsetof(RecordHeader, header_crc));
	if (auto r = sink(bytes_of(end)); !r)
		return r;
	std::memcpy(t.magic, kTrailerMagic, sizeof(kTrailerMagic));
	t.crc = crc32_of(&t, offsetof(Trailer, crc));
	return sink(bytes_of(t));
}

Result<Image> read_image(const ByteSource &source)
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
	if (h.version != kImageFormatVersion)
		return fail(EPROTO, "image format version " + std::to_string(h.version) +
				    " is not supported (this hetmig reads version " +
				    std::to_string(kImageFormatVersion) + ")");
	if (h.meta_len > kMetaMax)
		return corrupt("metadata length out of range");
	std::vector<uint8_t> meta(h.meta_len);
	if (auto r = source(meta); !r)
		return std::unexpected(r.error());
	if (h.meta_crc != crc32_of(meta.data(), meta.size()))
		return corrupt("metadata checksum mismatch");

	Image img;
	try {
		from_cbor_tree(json::from_cbor(meta), img);
	} catch (const json::exception &e) {
		return corrupt(std::string("metadata: ") + e.what());
	}
	if (img.arch != h.arch)
		return corrupt("architecture of header and metadata differ");
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
	if (img.timers)
		for (size_t i = 0; i < img.timers->posix.size(); i++) {
			const PosixTimer &t = img.timers->posix[i];
			if (t.id < 0 || (i && t.id <= img.timers->posix[i - 1].id) ||
			    t.signal < 0 || t.signal > 64)
				return corrupt(strf("POSIX timer %d out of order or with signal %d",
						    t.id, t.signal));
		}

	uint64_t records = 0, bytes = 0;
	std::vector<uint8_t> stored;
	for (;;) {
		RecordHeader rh;
		if (auto r = source(bytes_of(rh)); !r)
			return std::unexpected(r.error());
		// reserved is outside the checksum: it must be as written.
		if (rh.header_crc != crc32_of(&rh, offsetof(RecordHeader, header_crc)) ||
		    rh.reserved)
			return corrupt("page record header checksum mismatch");
		if (!rh.addr)
			break;
		if (rh.raw_len == 0 || rh.raw_len > kPageRecordMax ||
		    rh.stored_len > ZSTD_compressBound(kPageRecordMax) ||
		    (rh.codec != kCodecRaw && rh.codec != kCodecZstd) ||
		    (rh.codec == kCodecRaw && rh.stored_len != rh.raw_len))
			return corrupt("page record out of range");
		stored.resize(rh.stored_len);
		if (auto r = source(stored); !r)
			return std::unexpected(r.error());
		if (rh.data_crc != crc32_of(stored.data(), stored.size()))
			return corrupt("page data checksum mismatch at 0x" +
				       strf("%lx", (unsigned long)rh.addr));
		PageRun run{rh.addr, rh.raw_len, {}};
		if (rh.codec == kCodecZstd) {
			run.data.resize(rh.raw_len);
			size_t n = ZSTD_decompress(run.data.data(), rh.raw_len,
						   stored.data(), stored.size());
			if (ZSTD_isError(n) || n != rh.raw_len)
				return corrupt("page data does not decompress");
		} else {
			run.data = std::move(stored);
			stored = {};
		}
		// One run a record: joining them would copy every byte again.
		img.pages.push_back(std::move(run));
		records++;
		bytes += rh.raw_len;
	}
	Trailer t;
	if (auto r = source(bytes_of(t)); !r)
		return std::unexpected(r.error());
	if (std::memcmp(t.magic, kTrailerMagic, sizeof(kTrailerMagic)) ||
	    t.crc != crc32_of(&t, offsetof(Trailer, crc)) || t.reserved)
		return corrupt("bad trailer");
	if (t.records != records || t.page_bytes != bytes)
		return corrupt("trailer counts do not match the records");
	return img;
}

Result<void> save_image(const Image &img, const std::string &path,
			const WriteOptions &opts)
{
	std::string tmp = path + ".partial";
	int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(errno, "open " + tmp);
	auto r = write_image(img, [&](std::span<const uint8_t> b) -> Result<void> {
		for (size_t off = 0; off < b.size();) {
			ssize_t n = ::write(fd, b.data() + off, b.size() - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return fail(errno ? errno : EIO, "write " + tmp);
			off += size_t(n);
		}
		return {};
	}, opts);
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

Result<Image> load_image(const std::string &path)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open " + path);
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
