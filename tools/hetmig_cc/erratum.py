# SPDX-License-Identifier: GPL-2.0
"""Cortex-A53 erratum 843419, kept out of hetmig-cc's layouts.

The erratum needs an ADRP in one of the last two words of a 4 KiB page.
ld's fixes either add a veneer (which changes section sizes after the
layout is planned) or rewrite the ADRP as an ADR (which fails when the
target is more than 1 MiB away). hetmig-cc avoids both: it reads where
each aarch64 input section has its ADRPs in the first link and gives the
section a slot where none of them lands on those two words.
"""

import struct

# Page offsets at which an ADRP can start the erratum's sequence.
PAGE_OFFSETS = (0xff8, 0xffc)
PAGE = 0x1000


def is_adrp(word):
    return word & 0x9f000000 == 0x90000000


def adrp_offsets(data):
    """Byte offsets of the words of data that encode an ADRP (literal pools
    that happen to look like one count too: that only costs padding)."""
    n = len(data) // 4
    words = struct.unpack("<%dI" % n, data[:n * 4])
    return tuple(i * 4 for i, w in enumerate(words) if is_adrp(w))


def hits(addr, adrps):
    """Whether a section at addr would put one of its ADRPs on the erratum's
    page offsets."""
    return any((addr + o) % PAGE in PAGE_OFFSETS for o in adrps)


def clear_address(addr, align, adrps):
    """The first address from addr, a multiple of align, where no ADRP of
    the section lands on the erratum's page offsets. Stepping by the
    alignment (at least one word) moves every ADRP by the same amount, so
    some step within a page always clears them all unless ADRPs are on
    every page offset the steps reach."""
    step = max(align, 4)
    a = (addr + step - 1) // step * step
    for _ in range(PAGE // step):
        if not hits(a, adrps):
            return a
        a += step
    raise ValueError("no address clears the ADRPs of a section from 0x%x" % addr)


def section_bytes(path, name):
    """(address, bytes) of the section called name in an ELF64
    little-endian file."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("%s: not an ELF64 little-endian file" % path)
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3a)

    def header(i):
        # name, type, flags, addr, offset, size
        return struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)

    strtab = header(shstrndx)
    for i in range(shnum):
        nm, typ, _, addr, off, size = header(i)
        s = strtab[4] + nm
        if elf[s:elf.index(b"\0", s)].decode() == name:
            return addr, elf[off:off + size] if typ != 8 else b""
    raise ValueError("%s: no section %s" % (path, name))
