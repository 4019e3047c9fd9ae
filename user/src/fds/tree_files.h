// SPDX-License-Identifier: GPL-2.0
// Open file descriptions the processes of a tree share: a pipe between a
// parent and its child (a shell pipeline, a daemon and its worker), a unix
// socket pair with an end in each, an eventfd or timerfd both hold, a
// regular file both write at one offset (a log opened before the fork).
// Capture and rebuild side by side.
//
// Captured once every process of the tree had its own files captured:
// the descriptions are told apart by kcmp(KCMP_FILE) (what the kernel
// says is one `struct file`), each held by two processes or more, and
// every end of a pipe some end of which is in two processes, and both ends
// of a socket pair one end of which is, becomes one of the root's
// Image::tree_files; each fd that holds it names it (OpenFile::tree_file).
// A pipe's bytes are read once (tee, left in place) into
// Image::tree_pipes, a pair's queues (MSG_PEEK) into Image::tree_pairs.
//
// Rebuilt by the restorer before it forks the tree's root: each
// description made once (a pipe with its capacity and bytes, a socket
// pair with its queues, an eventfd, a timerfd, a regular file at its
// offset, opened with its first holder's credentials by a child that takes
// them), so that every member, forked by its parent from the root
// down, inherits them all, puts the ones it held at their numbers and
// closes the others. Inheriting, not passing them with SCM_RIGHTS: the
// tree is made by forks anyway, so inheriting needs no socket, no
// message per descriptor and no order between the members, and the
// restorer keeps nothing once the root exists (it closes its copies
// then).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <sys/types.h>
#include <utility>
#include <string>
#include <vector>

#include "error.h"
#include "fds/fd.h"
#include "fds/ghost_files.h"
#include "image.h"

namespace hetmig::fds {

// After capture_files of ROOT and each of ROOT.members (each stopped and
// traced by us): moves what they share into ROOT.tree_files and
// ROOT.tree_pipes and ROOT.tree_pairs. Refused, naming the processes and
// fds: a pipe between them one of whose ends is in none of them (a
// standard stream such a pipe is becomes the receiver's instead), one
// opened for reading and writing, or in packet mode; a socket whose peer
// is in none of them.
Result<void> capture_tree_files(Image &root);

// After capture_tree_files: each standard stream of a member that is a
// regular file opened by path and one description with the same fd of
// its parent in the tree gets OpenFile::opened_by, the topmost process it
// came down from.
Result<void> note_inherited_streams(Image &root);

// What is wrong with ROOT's shared descriptions (read_image's check), or
// nothing.
std::optional<std::string> tree_files_problem(const Image &root);

// CredentialsOf: fds/ghost_files.h.

// The restorer's side: each of ROOT.tree_files, in order. A regular file
// is opened with the credentials CREDS_OF gives the first process holding
// it, not the restorer's, and must be the file it was (size, mtime); a
// pipe or socket is that process's (its owner), where we run as root; a
// deleted file or memfd is opened again on GHOSTS' (make_ghosts').
Result<std::vector<UniqueFd>> make_tree_files(const Image &root, std::span<const int> ghosts,
					      const CredentialsOf &creds_of);

} // namespace hetmig::fds
