# SPDX-License-Identifier: GPL-2.0
"""Compare the symbol tables of the two builds of a pair.

Used by hetmig-cc after linking and by tools/test/cc-test: every symbol
present in both builds (by name; a name defined more than once in one build,
such as a static function in two files, is compared only when it is unique
in both) must have the same address, and TLS symbols the same offset.
"""

import subprocess

# Symbols that are per-ISA by nature: linker stubs and labels inside
# assembly functions, whose offsets follow the ISA's own code.
IGNORE_PREFIXES = ("$x", "$d", ".L")
# gcc's crtbeginT.o/crtend.o internals: local functions and objects inside one
# unsplit .text/.bss/.eh_frame whose offsets follow the ISA's code. They are
# reached only through .init_array/.fini_array (ISA-specific), never through
# a pointer in memory that moves between the ISAs.
CRT_LOCALS = {"frame_dummy", "__do_global_dtors_aux", "deregister_tm_clones",
              "register_tm_clones", "completed.0", "object.0", "__FRAME_END__",
              "__do_global_dtors_aux_fini_array_entry",
              "__frame_dummy_init_array_entry", "__TMC_END__",
              "__EH_FRAME_BEGIN__"}
# musl's signal return trampolines: x86_64's restore.s puts a nop before
# __restore_rt (unwinders look up the return address minus one), aarch64's
# does not, so it sits one byte further on x86_64. The kernel keeps it as a
# handler's sa_restorer, which the converter sets from the destination
# build's symbol (Converter::signals_and_threads); nothing in memory
# points at it.
PER_ISA = {"__restore_rt", "__restore"}


def read_symbols(path, nm="nm"):
    """{name: (type letter, value)} of the unique names of a build."""
    text = subprocess.run([nm, "--defined-only", path], check=True,
                          capture_output=True, text=True).stdout
    return parse_nm(text)


def parse_nm(text):
    syms, dup = {}, set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        value, kind, name = parts
        if (name.startswith(IGNORE_PREFIXES) or kind in "aAN" or name in CRT_LOCALS or
                name in PER_ISA):
            continue
        if name in syms:
            dup.add(name)
        syms[name] = (kind, int(value, 16))
    for name in dup:
        del syms[name]
    return syms


def compare(x, a):
    """(number of shared symbols, [(name, x value, a value)] that differ)."""
    shared = sorted(set(x) & set(a))
    bad = [(n, x[n][1], a[n][1]) for n in shared if x[n][1] != a[n][1]]
    return len(shared), bad
