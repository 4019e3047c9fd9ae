// SPDX-License-Identifier: GPL-2.0
// Filling a rebuilt process's private anonymous memory with userfaultfd's
// UFFDIO_COPY: each page is allocated, copied into once and mapped, never
// zeroed first and never faulted in, which process_vm_writev and
// WRITE_PAGES both do (a fault, a zeroed page, then the copy). Under TCG
// the zeroing alone costs about as much as the copy.
//
// A userfaultfd belongs to the address space of the process that made it,
// whoever holds it: the task being rebuilt makes it before RESTORE_MM
// (which keeps its mm, only changing the mappings) and hands it to the
// restorer over a socket, closing its own copy, so the restored process
// never holds it. The restorer registers the image's private anonymous
// ranges, copies, unregisters and closes: the process, stopped throughout,
// is left as without it. UFFD_USER_MODE_ONLY: no privilege needed
// (vm.unprivileged_userfaultfd stays 0), and a kernel access to a
// registered, still empty page fails at once instead of waiting for us.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "error.h"
#include "image.h"

namespace hetmig {

// A userfaultfd of the calling process's address space, close-on-exec;
// -1 with errno when the kernel has none or refuses it. KERNEL_WAITS: the
// kernel's own accesses wait for a missing page too, as post-copy needs
// (postcopy_loop.h), which takes privilege.
int make_userfaultfd(bool kernel_waits = false);

// FD over the unix socket SOCK (SCM_RIGHTS); false if it did not go.
bool send_fd(int sock, int fd);
// A descriptor waiting on SOCK, or -1 when none is (never blocks).
int receive_fd(int sock);

// Memory only the process has, with no file behind it: what UFFDIO_COPY
// fills (MISSING mode, anonymous private memory; shared memory goes into
// its memfd, file mappings' private copies through process_vm_writev).
bool private_anonymous(const Mapping &m);

// ADDR and the bytes to put there.
struct PagePiece {
	uint64_t addr = 0;
	std::span<const uint8_t> bytes;
};

// Post-copy's part in a fill (postcopy.h): whole mappings left out of
// it, empty, for the userfaultfd to take after the fill, and the features
// the userfaultfd is opened with for that (postcopy_loop.h).
struct LazyFill {
	std::span<const AddressRange> mappings;
	uint64_t features = 0;
};

// The private anonymous memory of an image's process registered with the
// process's userfaultfd, for pages to be copied in with UFFDIO_COPY, all at
// once (a file's image) or as they arrive (a streamed one). The fd is
// taken: closed, and every range it registered unregistered, when this
// ends, so that other ways find the process's memory as usual.
class AnonymousFill {
public:
	// UFFD -1, or a kernel that refuses it: nothing is registered and
	// every piece is left to the caller.
	AnonymousFill(int uffd, const Image &img, const LazyFill &lazy = {});
	~AnonymousFill();
	AnonymousFill(const AnonymousFill &) = delete;
	AnonymousFill &operator=(const AnonymousFill &) = delete;

	// Copies the PIECES that lie in registered memory, up to THREADS at
	// once, and returns the pieces, or the rest of pieces, it did not copy
	// (other mappings; a page already there), for the caller's other ways.
	std::vector<PagePiece> copy(std::vector<PagePiece> pieces, unsigned threads) const;
	// Whether any of PIECE lies in registered memory: written any other
	// way while this lives it would fail (UFFD_USER_MODE_ONLY), not wait.
	bool registered(const PagePiece &piece) const;

private:
	int uffd_;
	size_t page_;
	std::vector<AddressRange> registered_;
};

} // namespace hetmig
