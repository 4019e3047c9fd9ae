# SPDX-License-Identifier: GPL-2.0
"""One linker script per ISA that gives both builds of a program one layout.

Input: the map file of a first, ordinary link per ISA (which input sections
were used and how big they are) and the section tables of the input files
(their alignments). Output: a script per ISA in which every input section
present in both builds (same object or archive member, same section name)
sits in a slot at the same address, each slot as large as the larger of the
two; ISA-only sections follow in their region. The regions (.text, .rodata,
.tdata, .tbss, .data, .bss) start at the same 64 KiB-aligned addresses on
both and end at the same address, so linker symbols such as _end match too.

Pure functions over text, so host unit tests can drive them with fixtures
(tools/hetmig_cc/test_ldscript.py).
"""

import bisect
import os
import re
from collections import Counter
from dataclasses import dataclass, field

from hetmig_cc import erratum

ISAS = ("x86_64", "aarch64")
BASE = 0x400000
# Segments (a change of permissions) start in another 64 KiB page, the
# largest page size of either ISA, but at the same offset within it as the
# previous segment's end (ld's own `ALIGN(MAXPAGESIZE) + (. & (MAXPAGESIZE
# - 1))`), so the file needs no padding between them. Regions inside a
# segment are only 64-byte aligned. Measured: a 64 KiB boundary for every
# region cost 250 KiB of file per program (Documentation/benchmarks.md).
SEGMENT_ALIGN = 0x10000
REGION_ALIGN = 64
SEGMENT_STARTS = (".rodata", ".tdata")
# The ELF and program headers and the notes, then .init and .fini at fixed
# addresses (so _init and _fini match), then .text, all in the first page.
TEXT_BASE = BASE + 0x1000
INIT_ADDR = BASE + 0xc00
FINI_ADDR = BASE + 0xe00
PHDR_OF = {".text": " :text", ".rodata": " :rodata", ".tdata": " :data :tls",
           ".tbss": " :data :tls", ".data.rel.ro": " :data", ".data": "",
           ".bss": ""}

# Regions in address order: (output section, input section name patterns).
REGIONS = [
    (".text", [".text", ".text.*"]),
    (".rodata", [".rodata", ".rodata.*"]),
    (".tdata", [".tdata", ".tdata.*"]),
    (".tbss", [".tbss", ".tbss.*"]),
    # Before .data, so that .data.* does not claim these (as in ld's default).
    (".data.rel.ro", [".data.rel.ro.local*", ".data.rel.ro", ".data.rel.ro.*"]),
    (".data", [".data", ".data.*"]),
    (".bss", [".bss", ".bss.*", "COMMON"]),
]
REGION_NAMES = [r[0] for r in REGIONS]

# Output sections of the first link whose contents are ISA-specific and are
# placed after a region: their size is reserved as the larger of the two.
AFTER = {
    ".rodata": [".eh_frame_hdr", ".eh_frame", ".gcc_except_table"],
    ".data.rel.ro": [".init_array", ".fini_array", ".got", ".got.plt"],
}


@dataclass
class InputSection:
    out: str        # output section of the first link
    name: str       # input section name
    size: int
    file: str       # as the map names it: /path/x.o or /path/libc.a(m.lo)
    align: int = 1
    addr: int = 0   # where the link placed it
    adrp: tuple = ()    # offsets of its ADRPs (aarch64 code)

    @property
    def key(self):
        return (file_key(self.file), self.name)


@dataclass
class FirstLink:
    sections: list = field(default_factory=list)   # InputSection, map order
    out_sizes: dict = field(default_factory=dict)  # output section -> size


def file_key(path):
    """The ISA-independent name of an input file: libc.a(printf.lo), t.o."""
    m = re.match(r"^(.*?)\(([^()]*)\)$", path)
    if m:
        return "%s(%s)" % (os.path.basename(m.group(1)), m.group(2))
    return os.path.basename(path)


_OUT_RE = re.compile(r"^(\.[^\s]+|COMMON)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+))?\s*$")
_IN_RE = re.compile(r"^ (\.[^\s]+|COMMON)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*))?\s*$")
_CONT_RE = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
_OUTCONT_RE = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s*$")


def parse_map(text):
    """The input sections of a GNU ld map file, in placement order.

    ld writes ' NAME ADDR SIZE FILE' per input section, on two lines when the
    name is long; output sections start in column 0 the same way."""
    fl = FirstLink()
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines)
                     if l.startswith("Linker script and memory map"))
    except StopIteration:
        raise ValueError("not a GNU ld map file (no memory map)")
    out = None
    pending = None      # (kind, name) waiting for its address line
    for line in lines[start + 1:]:
        if pending:
            kind, name = pending
            pending = None
            if kind == "in":
                m = _CONT_RE.match(line)
                if m:
                    _add(fl, out, name, int(m.group(2), 16), m.group(3),
                         int(m.group(1), 16))
                    continue
            else:
                m = _OUTCONT_RE.match(line)
                if m:
                    fl.out_sizes[name] = int(m.group(2), 16)
                    continue
        if line.startswith("/DISCARD/"):
            out = None
            continue
        m = _OUT_RE.match(line)
        if m and not line.startswith(" "):
            out = m.group(1)
            if m.group(3) is not None:
                fl.out_sizes[out] = int(m.group(3), 16)
            else:
                pending = ("out", out)
            continue
        m = _IN_RE.match(line)
        if m and out:
            if m.group(4) is not None:
                _add(fl, out, m.group(1), int(m.group(3), 16), m.group(4),
                     int(m.group(2), 16))
            else:
                pending = ("in", m.group(1))
    return fl


def _add(fl, out, name, size, file, addr):
    file = file.strip()
    if size == 0 or file.startswith("linker stubs") or file == "":
        return
    fl.sections.append(InputSection(out, name, size, file, addr=addr))


def parse_section_tables(text):
    """{(file key, section name): alignment} from `readelf -SW` on objects
    and archives ("File: lib.a(m.lo)" heads each member)."""
    aligns = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("File: "):
            cur = file_key(line[6:].strip())
            continue
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+"
                     r"[0-9a-f]+\s+[0-9a-f]+\s+\S*\s*\d+\s+\d+\s+(\d+)\s*$", line)
        if m and cur:
            aligns[(cur, m.group(1))] = max(1, int(m.group(2)))
    return aligns


def single_file_key(path, text):
    """readelf prints no "File:" line for a lone object: add it."""
    return "File: %s\n%s" % (path, text) if "File: " not in text else text


def apply_alignments(fl, aligns):
    for s in fl.sections:
        s.align = aligns.get(s.key, 16)  # unknown: a safe guess, checked later


def apply_adrp(fl, addr, data):
    """Record where each .text input section has its ADRPs, from the first
    link's .text (at addr, contents data)."""
    at = [addr + o for o in erratum.adrp_offsets(data)]
    for s in fl.sections:
        if s.out == ".text":
            lo = bisect.bisect_left(at, s.addr)
            hi = bisect.bisect_left(at, s.addr + s.size)
            s.adrp = tuple(a - s.addr for a in at[lo:hi])


def align_up(v, a):
    return (v + a - 1) // a * a


@dataclass
class Slot:
    key: tuple
    size: int
    align: int
    adrp: tuple = ()    # the aarch64 section's ADRP offsets
    offset: int = 0     # from the region's base


@dataclass
class Layout:
    bases: dict            # region -> address
    sizes: dict            # region -> common size (both ISAs end there)
    slots: dict            # region -> [Slot]
    only: dict             # isa -> region -> [InputSection]
    files: dict            # isa -> key -> file as the map names it
    after: dict            # section placed after a region -> address
    # isa -> [(InputSection, offset)]: ISA-only .text sections placed one by
    # one, so that their ADRPs stay off the erratum's words too.
    text_only: dict = field(default_factory=dict)


def _place(base, end, align, adrp):
    """The offset from base of a section that follows end: aligned, and in
    .text clear of Cortex-A53 erratum 843419 (tools/hetmig_cc/erratum.py)."""
    start = align_up(end, align)
    if adrp:
        start = erratum.clear_address(base + start, align, adrp) - base
    return start


def plan(first):
    """first: {isa: FirstLink} with alignments applied -> Layout."""
    per = {}
    for isa in ISAS:
        seen = {}
        dup = set()
        for s in first[isa].sections:
            if s.out not in REGION_NAMES:
                continue
            if s.key in seen:
                dup.add(s.key)
            seen[s.key] = s
        per[isa] = (seen, dup)
    xs, xdup = per["x86_64"]
    as_, adup = per["aarch64"]
    dups = xdup | adup
    slots = {r: [] for r in REGION_NAMES}
    matched = set()
    for s in first["x86_64"].sections:
        k = s.key
        if k in matched or k in dups or k not in as_ or s.out not in REGION_NAMES:
            continue
        o = as_[k]
        if o.out != s.out:
            continue   # same name, placed differently: treat as ISA-only
        matched.add(k)
        slots[s.out].append(Slot(k, max(s.size, o.size), max(s.align, o.align),
                                 s.adrp + o.adrp))
    only = {isa: {r: [] for r in REGION_NAMES} for isa in ISAS}
    files = {isa: {} for isa in ISAS}
    for isa in ISAS:
        for s in first[isa].sections:
            files[isa].setdefault(file_key(s.file), s.file)
            if s.out in REGION_NAMES and s.key not in matched:
                only[isa][s.out].append(s)
    bases, sizes, after = {}, {}, {}
    text_only = {isa: [] for isa in ISAS}
    counts = {isa: Counter(s.key for s in first[isa].sections) for isa in ISAS}
    addr = TEXT_BASE
    for r in REGION_NAMES:
        if r in SEGMENT_STARTS:
            addr = align_up(addr, SEGMENT_ALIGN) + addr % SEGMENT_ALIGN
        addr = align_up(addr, REGION_ALIGN)
        bases[r] = addr
        end = 0
        for sl in slots[r]:
            sl.offset = _place(addr, end, sl.align, sl.adrp)
            end = sl.offset + sl.size
        common = end
        for isa in ISAS:
            e = end
            # In .text, sections whose key is unique are placed by name and
            # cleared of the erratum; the rest follow by pattern.
            named = r == ".text"
            for s in sorted(only[isa][r], key=lambda s: counts[isa][s.key] > 1):
                if named and counts[isa][s.key] == 1:
                    start = _place(addr, e, s.align, s.adrp)
                    text_only[isa].append((s, start))
                else:
                    start = align_up(e, s.align)
                e = start + s.size
            common = max(common, e)
        # 64: .tbss follows .tdata at a 64-byte aligned address.
        sizes[r] = align_up(common, 64)
        if r == ".tdata":
            # .tbss starts where .tdata ends: keep TLS offsets equal by
            # giving .tbss the same base on both (the end of .tdata).
            addr += sizes[r]
            continue
        if r == ".tbss":
            bases[r] = bases[".tdata"] + sizes[".tdata"]
            addr = bases[r]     # .tbss takes no address space
            continue
        # Each ISA-specific section after the region gets a fixed address,
        # so that symbols like __init_array_start match too.
        a = addr + sizes[r]
        for o in AFTER.get(r, []):
            a = align_up(a, 64)
            after[o] = a
            a += max(first[isa].out_sizes.get(o, 0) for isa in ISAS)
        addr = a
    return Layout(bases, sizes, slots, only, files, after, text_only)


def _pattern(file):
    """A linker-script file pattern for a map file name."""
    m = re.match(r"^(.*?)\(([^()]*)\)$", file)
    if m:
        return "*%s:%s" % (os.path.basename(m.group(1)), m.group(2))
    return file


def render(layout, isa, note_sections=(".note.hetmig",)):
    """The linker script for one ISA."""
    out = []
    w = out.append
    arch = "i386:x86-64" if isa == "x86_64" else "aarch64"
    w("/* Generated by hetmig-cc: one layout for the x86_64 and aarch64 builds. */")
    w("OUTPUT_ARCH(%s)" % arch)
    w("ENTRY(_start)")
    # The same segments on both (ld alone would merge .rodata into the
    # executable segment on aarch64 only).
    w("PHDRS")
    w("{")
    w("  text PT_LOAD FILEHDR PHDRS FLAGS(5);")
    w("  rodata PT_LOAD FLAGS(4);")
    w("  data PT_LOAD FLAGS(6);")
    w("  tls PT_TLS;")
    w("  note PT_NOTE;")
    w("  stack PT_GNU_STACK FLAGS(6);")
    w("}")
    w("SECTIONS")
    w("{")
    w("  . = 0x%x + SIZEOF_HEADERS;" % BASE)
    w("  .note.hetmig : { KEEP(*(.note.hetmig)) } :text :note")
    w("  .note.ABI-tag : { *(.note.ABI-tag) } :text :note")
    w("  .rela.dyn : { *(.rela.*) } :text")
    # Fixed addresses, so that _init and _fini match.
    w("  ASSERT(. <= 0x%x, \"hetmig-cc: the headers exceed 3 KiB\")" % INIT_ADDR)
    w("  .init 0x%x : { KEEP(*(SORT_NONE(.init))) }" % INIT_ADDR)
    w("  ASSERT(. <= 0x%x, \"hetmig-cc: .init exceeds 512 bytes\")" % FINI_ADDR)
    w("  .fini 0x%x : { KEEP(*(SORT_NONE(.fini))) }" % FINI_ADDR)
    w("  ASSERT(. <= 0x%x, \"hetmig-cc: .fini exceeds 512 bytes\")" % TEXT_BASE)
    for r, pats in REGIONS:
        base = layout.bases[r]
        w("  %s 0x%x : ALIGN(64)" % (r, base))
        w("  {")
        w("    __hetmig_region%s_start = .;" % r.replace(".", "_"))
        if r == ".bss":
            w("    __bss_start = .;")
        files = layout.files[isa]
        off = 0
        for sl in layout.slots[r]:
            fk, name = sl.key
            f = files[fk]
            w("    . = 0x%x;" % sl.offset)
            w("    KEEP(%s(%s))" % (_pattern(f), name))
            off = sl.offset + sl.size
        w("    . = 0x%x;" % off)
        # [shared_end, end) holds this ISA's own sections: the converter
        # takes those bytes from the destination build, not the source.
        w("    __hetmig_region%s_shared_end = .;" % r.replace(".", "_"))
        w("    /* %s-only sections */" % isa)
        if r == ".text":
            for s, start in layout.text_only.get(isa, []):
                w("    . = 0x%x; KEEP(%s(%s)) /* %s-only */"
                  % (start, _pattern(s.file), s.name, isa))
        w("    *(%s)" % " ".join(pats))
        w("    ASSERT(. <= 0x%x, \"hetmig-cc: region %s overflows its common size\");"
          % (layout.sizes[r], r))
        w("    . = 0x%x;" % layout.sizes[r])
        w("    __hetmig_region%s_end = .;" % r.replace(".", "_"))
        if r == ".bss":
            w("    _end = .; end = .;")
        w("  }%s" % PHDR_OF[r])
        if r == ".text":
            w("  PROVIDE(etext = .); PROVIDE(_etext = .);")
        for o in AFTER.get(r, []):
            pat = {".eh_frame_hdr": "*(.eh_frame_hdr)",
                   ".eh_frame": "KEEP(*(.eh_frame)) *(.eh_frame.*)",
                   ".gcc_except_table": "*(.gcc_except_table .gcc_except_table.*)",
                   ".init_array": "PROVIDE_HIDDEN(__init_array_start = .); "
                                  "KEEP(*(SORT_BY_INIT_PRIORITY(.init_array.*) "
                                  "SORT_BY_INIT_PRIORITY(.ctors.*))) "
                                  "KEEP(*(.init_array .ctors)) "
                                  "PROVIDE_HIDDEN(__init_array_end = .);",
                   ".fini_array": "PROVIDE_HIDDEN(__fini_array_start = .); "
                                  "KEEP(*(SORT_BY_INIT_PRIORITY(.fini_array.*) "
                                  "SORT_BY_INIT_PRIORITY(.dtors.*))) "
                                  "KEEP(*(.fini_array .dtors)) "
                                  "PROVIDE_HIDDEN(__fini_array_end = .);",
                   ".got": "*(.got) *(.igot)",
                   ".got.plt": "*(.got.plt) *(.igot.plt)"}[o]
            w("  %s 0x%x : { %s }" % (o, layout.after[o], pat))
        if r == ".data":
            w("  _edata = .; PROVIDE(edata = .);")
        if r in AFTER:
            nxt = REGION_NAMES[REGION_NAMES.index(r) + 1]
            w("  ASSERT(. <= 0x%x, \"hetmig-cc: the sections after %s overflow\")"
              % (layout.bases[nxt], r))
    w("  .comment 0 : { *(.comment) } :NONE")
    w("  .note.GNU-stack 0 : { *(.note.GNU-stack) }")
    for d in ["debug_aranges", "debug_info", "debug_abbrev", "debug_line",
              "debug_frame", "debug_str", "debug_line_str", "debug_loc",
              "debug_loclists", "debug_rnglists", "debug_ranges",
              "debug_macinfo", "debug_macro", "debug_addr", "debug_str_offsets",
              "debug_pubnames", "debug_pubtypes", "debug_types"]:
        w("  .%s 0 : { *(.%s) }" % (d, d))
    w("  /DISCARD/ : { *(.note.GNU-stack) *(.gnu_debuglink) *(.gnu.lto_*) }")
    w("}")
    return "\n".join(l for l in out if l != "") + "\n"


def misplaced(layout, final):
    """The slots that the final links ({isa: FirstLink} of their maps) did
    not put at one address: [(key, x86_64 address, aarch64 address)]."""
    where = {}
    for isa in ISAS:
        for sec in final[isa].sections:
            where.setdefault(isa, {})[sec.key] = sec.addr
    bad = []
    for r in REGION_NAMES:
        for sl in layout.slots[r]:
            x = where.get("x86_64", {}).get(sl.key)
            a = where.get("aarch64", {}).get(sl.key)
            if x is None or a is None or x != a:
                bad.append((sl.key, x, a))
    return bad
