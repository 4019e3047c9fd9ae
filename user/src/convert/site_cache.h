// SPDX-License-Identifier: GPL-2.0
// The call sites `hetmig check` refuses for a pair of builds, remembered
// per pair so that a send between ISAs does not verify the same two builds
// again (seconds for a large program in a TCG guest). An entry is the
// site set the verifier computed, keyed by both builds' file digests and by
// this hetmig's own build: a new verifier never reads an old verdict.
//
// What a cache entry can do is bounded: it only says which sites the
// running process must go past. The converter still refuses a frame it
// cannot convert at the move itself, so a wrong entry could cost a move,
// never corrupt one; and an entry is read only from a file of the user's
// own, in a folder of the user's own, that is whole (checksummed) and
// names the same key. Anything else is ignored and recomputed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "error.h"
#include "program/program.h"

namespace hetmig::convert {

class SiteCache {
public:
	// The per-user folder: $XDG_CACHE_HOME/hetmig, else ~/.cache/hetmig;
	// for root /var/cache/hetmig. Empty (no caching) when there is no
	// such place or this hetmig has no build id to key entries with.
	static SiteCache user_default();
	// A cache in DIR (tests), keyed with SELF standing for this hetmig's
	// build.
	SiteCache(std::string dir, std::string self) : dir_(std::move(dir)), self_(std::move(self)) {}
	SiteCache() = default;

	bool enabled() const { return !dir_.empty() && !self_.empty(); }
	const std::string &dir() const { return dir_; }

	// The entry's key (hex) for FROM moved to TO.
	Result<std::string> key(const program::Program &from, const program::Program &to) const;
	// The stored return addresses under KEY, if the entry is there, ours
	// and whole, and names only return addresses of FROM's call sites.
	std::optional<std::vector<uint64_t>> load(const std::string &key,
						  const program::Program &from) const;
	// Stores RAS under KEY: written to a temporary file of 0600 in the
	// folder and renamed over the entry, so a reader sees all or nothing.
	Result<void> store(const std::string &key, const std::vector<uint64_t> &ras) const;
	// The entry's file (tests corrupt it).
	std::string path_of(const std::string &key) const { return dir_ + "/" + key + ".sites"; }

private:
	// The folder, made if missing (0700): empty unless it is a directory
	// owned by us that nobody else can write to.
	std::optional<std::string> folder(bool create) const;
	std::string dir_, self_;
};

// The return addresses, sorted and unique, of FROM's call sites that the
// verifier (verify_pair) refuses for a move to TO: from CACHE when it holds
// them, else computed and stored there. FROM_CACHE, if given, says which.
std::vector<uint64_t> unproven_return_addresses(const program::Program &from,
						const program::Program &to,
						const SiteCache &cache,
						bool *from_cache = nullptr);

// This hetmig's own GNU build id (hex), empty if it was linked without one.
std::string own_build_id();

} // namespace hetmig::convert
