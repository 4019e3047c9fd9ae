// SPDX-License-Identifier: GPL-2.0
#include "convert/site_cache.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "convert/agreement.h"
#include "fds/fd.h"

namespace hetmig::convert {

namespace {

const char kMagic[] = "hetmig unproven sites 1\n";
// An entry larger than this is no entry of ours (a site is 17 bytes).
constexpr off_t kMaxEntry = 4 << 20;

std::string hex_of(const unsigned char *p, size_t n)
{
	std::string out(2 * n + 1, '\0');
	sodium_bin2hex(out.data(), out.size(), p, n);
	out.pop_back();
	return out;
}

std::string blake2b_hex(const std::string &bytes)
{
	unsigned char sum[crypto_generichash_BYTES];
	crypto_generichash(sum, sizeof(sum), reinterpret_cast<const unsigned char *>(bytes.data()),
			   bytes.size(), nullptr, 0);
	return hex_of(sum, sizeof(sum));
}

// Ours and nobody else's to change: owned by us, writable by no one else.
bool private_to_us(const struct stat &st)
{
	return st.st_uid == geteuid() && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

int build_id_of_main(struct dl_phdr_info *info, size_t, void *out)
{
	auto *id = static_cast<std::string *>(out);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) &ph = info->dlpi_phdr[i];
		if (ph.p_type != PT_NOTE)
			continue;
		auto *p = reinterpret_cast<const unsigned char *>(info->dlpi_addr + ph.p_vaddr);
		size_t off = 0;
		while (off + sizeof(ElfW(Nhdr)) <= ph.p_filesz) {
			ElfW(Nhdr) n;
			std::memcpy(&n, p + off, sizeof(n));
			size_t name_at = off + sizeof(n);
			size_t desc_at = name_at + ((n.n_namesz + 3) & ~size_t(3));
			size_t next = desc_at + ((n.n_descsz + 3) & ~size_t(3));
			if (next > ph.p_filesz)
				break;
			if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 &&
			    std::memcmp(p + name_at, "GNU", 4) == 0 && n.n_descsz) {
				*id = hex_of(p + desc_at, n.n_descsz);
				return 1;
			}
			off = next;
		}
	}
	return 1;  // the first object is the program itself: stop there
}

} // namespace

std::string own_build_id()
{
	static const std::string id = [] {
		std::string s;
		dl_iterate_phdr(build_id_of_main, &s);
		return s;
	}();
	return id;
}

SiteCache SiteCache::user_default()
{
	std::string self = own_build_id();
	if (self.empty())
		return {};
	if (geteuid() == 0)
		return SiteCache("/var/cache/hetmig", self);
	const char *xdg = std::getenv("XDG_CACHE_HOME");
	if (xdg && xdg[0] == '/')
		return SiteCache(std::string(xdg) + "/hetmig", self);
	const char *home = std::getenv("HOME");
	if (home && home[0] == '/')
		return SiteCache(std::string(home) + "/.cache/hetmig", self);
	return {};
}

std::optional<std::string> SiteCache::folder(bool create) const
{
	if (!enabled())
		return std::nullopt;
	if (create) {
		// Its parents as the XDG spec makes them (0700 for a user's),
		// the system's (/var, /var/cache: a guest's initramfs may have
		// neither) as usual (0755); the folder itself 0700.
		for (size_t at = dir_.find('/', 1); at != std::string::npos;
		     at = dir_.find('/', at + 1))
			(void)mkdir(dir_.substr(0, at).c_str(), geteuid() == 0 ? 0755 : 0700);
		(void)mkdir(dir_.c_str(), 0700);
	}
	struct stat st;
	if (lstat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !private_to_us(st))
		return std::nullopt;
	return dir_;
}

Result<std::string> SiteCache::key(const program::Program &from,
				   const program::Program &to) const
{
	auto a = from.file_digest();
	if (!a)
		return std::unexpected(a.error());
	auto b = to.file_digest();
	if (!b)
		return std::unexpected(b.error());
	// Every input of the verdict: both builds, which is which, and the
	// hetmig (its version and its exact build) that computed it.
	return blake2b_hex(strf("hetmig %s\nself %s\nfrom %s %s\nto %s %s\n", HETMIG_VERSION,
				self_.c_str(), program::isa_name(from.isa()), a->c_str(),
				program::isa_name(to.isa()), b->c_str()));
}

std::optional<std::vector<uint64_t>> SiteCache::load(const std::string &key,
						     const program::Program &from) const
{
	if (!folder(false))
		return std::nullopt;
	fds::UniqueFd fd(::open(path_of(key).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
	struct stat st;
	if (fd.get() < 0 || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !private_to_us(st) ||
	    st.st_size > kMaxEntry)
		return std::nullopt;
	std::string text(size_t(st.st_size), '\0');
	if (pread(fd.get(), text.data(), text.size(), 0) != ssize_t(text.size()))
		return std::nullopt;
	// Whole: the last line is the checksum of everything before it.
	size_t sum_at = text.rfind("sum ");
	if (sum_at == std::string::npos || text.back() != '\n' ||
	    text.compare(sum_at + 4, text.size() - sum_at - 5, blake2b_hex(text.substr(0, sum_at))))
		return std::nullopt;
	std::string head = std::string(kMagic) + "key " + key + "\n";
	if (text.compare(0, head.size(), head) != 0)
		return std::nullopt;
	std::vector<uint64_t> ras;
	for (size_t at = head.size(); at < sum_at;) {
		size_t end = text.find('\n', at);
		if (end == std::string::npos || end > sum_at)
			return std::nullopt;
		std::string line = text.substr(at, end - at);
		char *stop = nullptr;
		errno = 0;
		uint64_t ra = std::strtoull(line.c_str(), &stop, 16);
		// Only return addresses of FROM's own call sites, ascending.
		const program::CallSite *c = from.call_site_returning_to(ra);
		if (line.empty() || errno || *stop || !c || c->return_address != ra ||
		    (!ras.empty() && ra <= ras.back()))
			return std::nullopt;
		ras.push_back(ra);
		at = end + 1;
	}
	return ras;
}

Result<void> SiteCache::store(const std::string &key, const std::vector<uint64_t> &ras) const
{
	auto dir = folder(true);
	if (!dir)
		return fail(EACCES, strf("%s is not a folder of this user's alone", dir_.c_str()));
	std::string text = std::string(kMagic) + "key " + key + "\n";
	for (uint64_t ra : ras)
		text += strf("%" PRIx64 "\n", ra);
	text += "sum " + blake2b_hex(text) + "\n";
	std::string tmp = *dir + "/." + key + ".XXXXXX";
	fds::UniqueFd fd(mkostemp(tmp.data(), O_CLOEXEC));
	if (fd.get() < 0)
		return fail(errno, strf("creating %s", tmp.c_str()));
	bool written = fchmod(fd.get(), 0600) == 0 &&
		       write(fd.get(), text.data(), text.size()) == ssize_t(text.size());
	int err = errno;
	if (!written || rename(tmp.c_str(), path_of(key).c_str()) != 0) {
		err = written ? errno : err;
		unlink(tmp.c_str());
		return fail(err ? err : EIO, strf("writing %s", path_of(key).c_str()));
	}
	return {};
}

std::vector<uint64_t> unproven_return_addresses(const program::Program &from,
						const program::Program &to,
						const SiteCache &cache, bool *from_cache)
{
	if (from_cache)
		*from_cache = false;
	std::optional<std::string> key;
	if (cache.enabled())
		if (auto k = cache.key(from, to))
			key = *k;
	if (key)
		if (auto ras = cache.load(*key, from)) {
			if (from_cache)
				*from_cache = true;
			return *ras;
		}
	check::Report report = verify_pair(from, to);
	std::vector<uint64_t> ras;
	for (const auto &r : report.refusals)
		if (const program::CallSite *c = from.call_site_by_key(r.key))
			ras.push_back(c->return_address);
	std::sort(ras.begin(), ras.end());
	ras.erase(std::unique(ras.begin(), ras.end()), ras.end());
	// A cache that cannot be written costs the next send the check, nothing else.
	if (key)
		(void)cache.store(*key, ras);
	return ras;
}

} // namespace hetmig::convert
