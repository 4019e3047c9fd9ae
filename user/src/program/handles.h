// SPDX-License-Identifier: GPL-2.0
// Owners for the libelf/libdw handles of one opened program. Move-only; each
// releases its handle with the library's own call.
#pragma once

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

namespace hetmig::program {

struct FdCloser {
	void operator()(int *fd) const
	{
		if (*fd >= 0)
			::close(*fd);
		delete fd;
	}
};
using UniqueFd = std::unique_ptr<int, FdCloser>;

struct ElfCloser {
	void operator()(Elf *e) const { elf_end(e); }
};
using UniqueElf = std::unique_ptr<Elf, ElfCloser>;

struct DwarfCloser {
	void operator()(Dwarf *d) const { dwarf_end(d); }
};
using UniqueDwarf = std::unique_ptr<Dwarf, DwarfCloser>;

// dwarf_getcfi_elf's result is released with dwarf_cfi_end.
struct CfiCloser {
	void operator()(Dwarf_CFI *c) const { dwarf_cfi_end(c); }
};
using UniqueCfi = std::unique_ptr<Dwarf_CFI, CfiCloser>;

// dwarf_cfi_addrframe returns a malloc'd frame.
struct FreeDeleter {
	void operator()(void *p) const { std::free(p); }
};
using UniqueFrame = std::unique_ptr<Dwarf_Frame, FreeDeleter>;

} // namespace hetmig::program
