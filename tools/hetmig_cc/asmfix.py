# SPDX-License-Identifier: GPL-2.0
"""Give every string literal of a compiled file its own section.

gcc puts a file's string literals and its constant pool into one section
(.rodata with -fno-merge-constants), and the two ISAs differ there: aarch64
aligns every literal to 8 bytes, x86_64 only long ones, and the constant
pools differ. So the same literal would sit at a different offset. Moved
into a section named after its content (.rodata.hmstr.HASH), a literal is
matched by name across the two builds and the linker script gives it one
address, whatever else the file holds.
"""

import hashlib
import re

_LABEL = re.compile(r"^\.LC\d+:\s*$")
_STRDATA = re.compile(r"^\s*\.(string|ascii|asciz)\b")
# At -O1 and above gcc pads a literal with .zero to align what follows: the
# padding belongs to the literal and moves with it, or the next constant in
# the section would lose its alignment.
_PAD = re.compile(r"^\s*\.(zero|space)\s+\d+\s*$")


def section_strings(asm):
    lines = asm.split("\n")
    out = []
    seen = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if _LABEL.match(line) and i + 1 < len(lines) and _STRDATA.match(lines[i + 1]):
            j = i + 1
            while j < len(lines) and _STRDATA.match(lines[j]):
                j += 1
            while j < len(lines) and _PAD.match(lines[j]):
                j += 1
            body = lines[i + 1:j]
            h = hashlib.sha256("\n".join(s.strip() for s in body).encode()).hexdigest()[:16]
            n = seen.get(h, 0)
            seen[h] = n + 1
            name = ".rodata.hmstr.%s%s" % (h, "" if n == 0 else ".%d" % n)
            out.append('\t.pushsection %s,"a"' % name)
            out.append("\t.balign 8")
            out.append(line)
            out.extend(body)
            out.append("\t.popsection")
            i = j
            continue
        out.append(line)
        i += 1
    return "\n".join(out)
