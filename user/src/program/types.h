// SPDX-License-Identifier: GPL-2.0
// A variable's type as the converter needs it: C name, size, where its
// pointers are, and whether it can be carried between ISAs at all.
#pragma once

#include <elfutils/libdw.h>

#include "program.h"

namespace hetmig::program {

Type describe_type(Dwarf_Die *type);

// Pointer offsets of one array beyond this many are not listed; the type is
// then unsupported (the converter could not map them anyway).
constexpr size_t kMaxPointerOffsets = 1 << 16;

} // namespace hetmig::program
