# SPDX-License-Identifier: GPL-2.0
"""Host unit tests of hetmig-cc's linker-script generator, string-literal
sectioning and symbol comparison, on the small fixtures in fixtures/.

    python3 -m unittest discover -s tools/hetmig_cc -p 'test_*.py' -v
"""

import os
import re
import unittest

from hetmig_cc import asmfix, erratum, ldscript, symcheck

FIX = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


def first_links():
    first = {}
    for isa in ldscript.ISAS:
        fl = ldscript.parse_map(fixture(isa + ".map"))
        ldscript.apply_alignments(fl, ldscript.parse_section_tables(fixture(isa + ".readelf")))
        first[isa] = fl
    return first


def slots_of(script):
    """[(offset, file pattern's member or object name, section)] in order."""
    out, off = [], None
    for line in script.splitlines():
        m = re.match(r"\s*\. = (0x[0-9a-f]+);", line)
        if m:
            off = int(m.group(1), 16)
            continue
        m = re.match(r"\s*KEEP\((\S+)\((\S+)\)\)$", line)
        if m:
            out.append((off, os.path.basename(m.group(1)), m.group(2)))
    return out


class MapParsing(unittest.TestCase):
    def setUp(self):
        self.x = ldscript.parse_map(fixture("x86_64.map"))

    def test_one_and_two_line_entries(self):
        names = [(s.name, s.size) for s in self.x.sections if s.out == ".text"]
        self.assertIn((".text.main", 0x85), names)
        self.assertIn((".text.a_function_with_a_long_name", 0x40), names)
        self.assertIn((".text.only_x86", 0x20), names)

    def test_skips_empty_fill_and_discarded(self):
        names = [s.name for s in self.x.sections]
        self.assertNotIn(".text.empty", names)
        self.assertNotIn(".note.GNU-stack", names)
        self.assertFalse(any(n.startswith("*") for n in names))
        # The discarded .text above the memory map is not an input section.
        self.assertNotIn((".text", 0), [(s.name, s.size) for s in self.x.sections])

    def test_output_section_sizes(self):
        self.assertEqual(self.x.out_sizes[".eh_frame"], 0x100)
        self.assertEqual(self.x.out_sizes[".text"], 0x1f0)

    def test_archive_member_keys(self):
        s = [s for s in self.x.sections if s.name == ".text.printf"][0]
        self.assertEqual(s.key, ("libc.a(printf.lo)", ".text.printf"))
        s = [s for s in self.x.sections if s.name == ".text.main"][0]
        self.assertEqual(s.key, ("000-t.o", ".text.main"))

    def test_not_a_map(self):
        with self.assertRaises(ValueError):
            ldscript.parse_map("hello\n")


class SectionTables(unittest.TestCase):
    def test_alignments(self):
        a = ldscript.parse_section_tables(fixture("x86_64.readelf"))
        self.assertEqual(a[("libc.a(printf.lo)", ".text.printf")], 16)
        self.assertEqual(a[("000-t.o", ".data.g")], 32)
        self.assertEqual(a[("000-t.o", ".text.main")], 1)


class Plan(unittest.TestCase):
    def setUp(self):
        self.layout = ldscript.plan(first_links())

    def slot(self, region, name):
        return [s for s in self.layout.slots[region] if s.key[1] == name][0]

    def test_matched_slot_takes_larger_size_and_alignment(self):
        main = self.slot(".text", ".text.main")
        self.assertEqual((main.size, main.align), (0x98, 4))
        g = self.slot(".data", ".data.g")
        self.assertEqual((g.size, g.align), (0x28, 32))

    def test_isa_only_sections_are_not_slots(self):
        keys = [s.key[1] for s in self.layout.slots[".text"]]
        self.assertNotIn(".text.only_x86", keys)
        self.assertNotIn(".text.only_arm", keys)
        self.assertEqual([s.name for s in self.layout.only["x86_64"][".text"]],
                         [".text.only_x86"])
        self.assertEqual([s.name for s in self.layout.only["aarch64"][".text"]],
                         [".text.only_arm"])

    def test_duplicate_keys_are_not_matched(self):
        # Two members named free.lo: which is which cannot be told apart.
        self.assertEqual(self.layout.slots[".data"][0].key, ("000-t.o", ".data.g"))
        self.assertEqual(len(self.layout.slots[".data"]), 1)

    def test_regions_aligned_and_big_enough(self):
        for r in ldscript.REGION_NAMES:
            if r != ".tbss":
                self.assertEqual(self.layout.bases[r] % ldscript.REGION_ALIGN, 0, r)
        # A segment starts in another 64 KiB page than the previous one ends.
        text_end = self.layout.bases[".text"] + self.layout.sizes[".text"]
        self.assertGreater(self.layout.bases[".rodata"] // ldscript.SEGMENT_ALIGN,
                           text_end // ldscript.SEGMENT_ALIGN)
        # .text: slots up to 0x98+... then the larger ISA-only part (0x30).
        text = self.layout.sizes[".text"]
        self.assertGreaterEqual(text, 0x98 + 0x40 + 0xc3 + 0x30)
        self.assertEqual(self.layout.bases[".tbss"],
                         self.layout.bases[".tdata"] + self.layout.sizes[".tdata"])

    def test_after_sections_reserve_the_larger_size(self):
        eh = self.layout.after[".eh_frame"]
        nxt = self.layout.after[".gcc_except_table"]
        self.assertGreaterEqual(nxt - eh, 0x180)


class FinalCheck(unittest.TestCase):
    def test_misplaced_slots_are_reported(self):
        first = first_links()
        layout = ldscript.plan(first)
        # Pretend the final links were the first ones: .text.printf and the
        # others sit at the same address in both fixtures, .data.g too.
        self.assertEqual(ldscript.misplaced(layout, first), [])
        moved = ldscript.parse_map(fixture("aarch64.map").replace(
            " .text.printf   0x00000000004100e0", " .text.printf   0x00000000004100f0"))
        bad = ldscript.misplaced(layout, {"x86_64": first["x86_64"], "aarch64": moved})
        self.assertEqual(bad, [(("libc.a(printf.lo)", ".text.printf"), 0x4100e0, 0x4100f0)])


class Render(unittest.TestCase):
    def setUp(self):
        self.layout = ldscript.plan(first_links())
        self.x = ldscript.render(self.layout, "x86_64")
        self.a = ldscript.render(self.layout, "aarch64")

    def test_same_slots_at_same_offsets(self):
        sx = [(o, f.replace("x86_64", "ISA"), s) for o, f, s in slots_of(self.x)]
        sa = [(o, f.replace("aarch64", "ISA"), s) for o, f, s in slots_of(self.a)]
        self.assertEqual(sx, sa)
        self.assertIn((0, "*libc.a:printf.lo", ".text.printf"),
                      [(0, f, s) for o, f, s in slots_of(self.x)])

    def test_each_isa_names_its_own_objects(self):
        self.assertIn("/tmp/b/x86_64/000-t.o(.text.main)", self.x)
        self.assertIn("/tmp/b/aarch64/000-t.o(.text.main)", self.a)
        self.assertNotIn("aarch64/", self.x)

    def test_addresses_other_than_slots_are_equal(self):
        strip = lambda t: [l for l in t.splitlines()  # noqa: E731
                           if "KEEP(/tmp" not in l and "OUTPUT_ARCH" not in l
                           and "-only" not in l]
        self.assertEqual(strip(self.x), strip(self.a))

    def test_pair_note_and_tls_segment(self):
        self.assertIn("KEEP(*(.note.hetmig))", self.x)
        self.assertIn(":data :tls", self.x)


class Erratum843419(unittest.TestCase):
    """Cortex-A53 erratum 843419: no ADRP of the final aarch64 layout lands
    on the last two words of a 4 KiB page."""

    ADRP_X0 = 0x90000000    # adrp x0, 0
    ADD_X0 = 0x91000000     # add x0, x0, #0

    def test_adrp_encodings_are_found(self):
        import struct
        words = [self.ADD_X0, self.ADRP_X0, 0xd503201f, 0xb0000001 | (1 << 29)]
        data = struct.pack("<4I", *words)
        self.assertEqual(erratum.adrp_offsets(data), (4, 12))

    def test_clear_address_steps_past_the_page_end(self):
        self.assertEqual(erratum.clear_address(0x410ff0, 16, (8,)), 0x411000)
        self.assertEqual(erratum.clear_address(0x410ff0, 4, (8, 12)), 0x410ff8)
        self.assertEqual(erratum.clear_address(0x410ff0, 16, (0,)), 0x410ff0)

    def first_with_adrp(self, name, offsets):
        first = first_links()
        for s in first["aarch64"].sections:
            if s.name == name:
                s.adrp = offsets
        return first

    def test_shared_slot_is_moved_off_the_erratum_words(self):
        plain = ldscript.plan(first_links())
        printf = [s for s in plain.slots[".text"] if s.key[1] == ".text.printf"][0]
        at = plain.bases[".text"] + printf.offset
        # An ADRP that would sit at page offset 0xff8 where printf is now.
        off = (0xff8 - at) % 0x1000
        self.assertTrue(erratum.hits(at, (off,)))
        layout = ldscript.plan(self.first_with_adrp(".text.printf", (off,)))
        moved = [s for s in layout.slots[".text"] if s.key[1] == ".text.printf"][0]
        self.assertFalse(erratum.hits(layout.bases[".text"] + moved.offset, (off,)))
        self.assertGreater(moved.offset, printf.offset)
        # One slot offset, in both scripts.
        sx = [o for o, f, s in slots_of(ldscript.render(layout, "x86_64"))]
        sa = [o for o, f, s in slots_of(ldscript.render(layout, "aarch64"))]
        self.assertEqual(sx, sa)
        self.assertIn(moved.offset, sa)

    def test_isa_only_section_is_placed_by_name_and_cleared(self):
        layout = ldscript.plan(self.first_with_adrp(".text.only_arm", (0, 4)))
        (s, start), = layout.text_only["aarch64"]
        self.assertEqual(s.name, ".text.only_arm")
        self.assertFalse(erratum.hits(layout.bases[".text"] + start, (0, 4)))
        self.assertIn("0x%x; KEEP(*libc.a:arm.lo(.text.only_arm))" % start,
                      ldscript.render(layout, "aarch64"))


X86_ASM = """\t.section\t.rodata
.LC0:
\t.string\t"hello %d\\n"
.LC1:
\t.long\t0
\t.long\t1073741824
.LC2:
\t.string\t"%f\\n"
\t.text
"""
ARM_ASM = """\t.section\t.rodata
\t.align\t3
.LC0:
\t.string\t"hello %d\\n"
\t.align\t3
.LC1:
\t.string\t"%f\\n"
\t.text
"""


class StringSections(unittest.TestCase):
    def sections(self, asm):
        return re.findall(r"pushsection (\.rodata\.hmstr\.[0-9a-f.]+)", asm)

    def test_same_literal_same_section_on_both(self):
        x = asmfix.section_strings(X86_ASM)
        a = asmfix.section_strings(ARM_ASM)
        self.assertEqual(len(self.sections(x)), 2)
        self.assertEqual(self.sections(x), self.sections(a))

    def test_constants_stay(self):
        x = asmfix.section_strings(X86_ASM)
        self.assertRegex(x, r"\.popsection\n\.LC1:\n\t\.long\t0")

    def test_padding_moves_with_the_literal(self):
        asm = ('\t.section\t.rodata\n\t.align\t3\n.LC1:\n\t.string\t"circle"\n'
               '\t.zero\t1\n.LC0:\n\t.word\t1\n\t.word\t2\n')
        out = asmfix.section_strings(asm)
        self.assertRegex(out, r'"circle"\n\t\.zero\t1\n\t\.popsection\n\.LC0:')

    def test_repeated_literal_gets_its_own_section(self):
        asm = '.LC0:\n\t.string "a"\n.LC1:\n\t.string "a"\n'
        s = self.sections(asmfix.section_strings(asm))
        self.assertEqual(len(set(s)), 2)


class SymbolCompare(unittest.TestCase):
    def test_duplicates_and_crt_internals_are_skipped(self):
        x = symcheck.parse_nm("0000000000401000 T main\n0000000000401100 t helper\n"
                              "0000000000401200 t helper\n0000000000402000 t frame_dummy\n"
                              "0000000000000008 D tv\n")
        self.assertEqual(sorted(x), ["main", "tv"])

    def test_compare(self):
        x = symcheck.parse_nm("0000000000401000 T main\n0000000000401100 T f\n0000000000401200 T xonly\n")
        a = symcheck.parse_nm("0000000000401000 T main\n0000000000401104 T f\n")
        self.assertEqual(symcheck.compare(x, a), (2, [("f", 0x401100, 0x401104)]))


if __name__ == "__main__":
    unittest.main()
