// SPDX-License-Identifier: GPL-2.0
// Files a process holds that no name leads to any more ("ghosts"): a
// regular file, a directory or a FIFO deleted while open (/proc/PID/fd
// reads "/path (deleted)"), a removed working directory, a memfd,
// MAP_SHARED anonymous memory opened as a file (memfd.h has what is
// particular to those two). Capture and rebuild side by side.
//
// Captured once every process of the tree had its own files described:
// each file once (by device and inode, whatever fds, dups, descriptions
// and processes hold it) into the root's Image::ghosts, with its mode,
// owner, size, mtime and bytes. The bytes are read through a descriptor of
// our own, extent by extent (SEEK_DATA, SEEK_HOLE): a sparse file's holes
// are not carried and stay holes. They travel in the image's metadata, under
// its checksum, as a pipe's bytes do; ghost_limit() bounds what one file
// may carry, so a large deleted log is refused at the dump, naming it,
// instead of landing in the image.
//
// A FIFO's bytes are what was written to it and not read (peeked, left
// in place), its size its capacity; one a process that is not moved
// holds too is refused.
//
// Rebuilt by the restorer before it forks the tree's root: each ghost made
// once (a file, directory or FIFO at its old name, then removed; a memfd;
// the FIFO held open for reading and writing, so that no open of it
// waits), held by the restorer, inherited by every member like the tree's
// shared descriptions (tree_files.h). Each fd of it is a new open of that one file
// through /proc/self/fd (its own flags, its own offset); a description the
// tree's processes share is opened once by the restorer (tree_files.h).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

#include "error.h"
#include "fds/fd.h"
#include "image.h"

namespace hetmig::fds {

// What one ghost may carry unless told otherwise (hetmig dump
// --ghost-limit): deleted files are often logs, which can be large.
inline constexpr uint64_t kGhostLimitDefault = uint64_t(64) << 20;
// What all of a tree's ghosts may carry: they are held in memory and go in
// the metadata, which an image may have 256 MiB of.
inline constexpr uint64_t kGhostTotalMax = uint64_t(192) << 20;
// OpenFile::ghost of a descriptor describe_fd found to be a ghost, before
// capture_ghosts gave it its index; never in an image.
inline constexpr int32_t kGhostPending = -2;

void set_ghost_limit(uint64_t bytes);
uint64_t ghost_limit();

// Whether LINK (what /proc/PID/fd/N reads), the file ST, is a ghost.
bool is_ghost(const std::string &link, const struct stat &st);

// describe_fd's part for a ghost: F (fd, path, flags, offset read) checked
// and marked kGhostPending. Refused: a deleted file that still has another
// name (a hard link: a copy would not be the file that name leads to), a
// hugetlbfs memfd, one above ghost_limit().
Result<OpenFile> describe_ghost(pid_t pid, OpenFile f, const struct stat &st);

// After every process's capture_files, before capture_shared: each
// ghost's state and bytes into ROOT.ghosts, its fds' OpenFile::ghost set.
Result<void> capture_ghosts(Image &root);

// What is wrong with ROOT's ghosts and the fds that name them
// (read_image's check), or nothing.
std::optional<std::string> ghosts_problem(const Image &root);

// The credentials (uid, gid) a process of the tree runs as here.
using CredentialsOf = std::function<std::pair<uid_t, gid_t>(const Image &)>;

// The restorer's side: each of ROOT.ghosts made, in order, one descriptor
// each; a file or directory where the first process holding it, running
// as CREDS_OF gives, may make it. SHM: the tree's shared memory (memfds,
// rebuild.cpp), which a ghost that is one of them (GhostFile::shared) is
// written into.
Result<std::vector<UniqueFd>> make_ghosts(const Image &root, std::span<const int> shm,
					  const CredentialsOf &creds_of);

// A new open file description of ghost GHOST_FD (one make_ghosts made, or
// its inherited copy) as F was: its flags, its offset. Close-on-exec: the
// caller puts it at its number.
Result<int> reopen_ghost(const OpenFile &f, int ghost_fd);

// Bytes of G: its extents from FD (data regions, holes skipped), at most
// LIMIT of them (WHAT names it in the refusal).
Result<void> read_extents(int fd, GhostFile &g, uint64_t limit, const std::string &what);

// G's bytes and size into FD (an empty file or memfd).
Result<void> write_extents(int fd, const GhostFile &g);

// The permission bits, owner and mtime of G onto FD; the owner only where
// we may give it (root), else the file stays ours.
Result<void> set_attributes(int fd, const GhostFile &g);

} // namespace hetmig::fds
