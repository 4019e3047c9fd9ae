// SPDX-License-Identifier: GPL-2.0
// Compiler flags recorded in DW_AT_producer, compared across the two ISAs.
#pragma once

#include <string>
#include <vector>

#include "program/program.h"

namespace hetmig::check {

// The producer without the options that are necessarily different per ISA
// (-march, -mtune, -mabi, -mno-outline-atomics...), and with only the file
// name of a -fplugin= path (each compiler loads its own build of a plugin).
std::string portable_flags(const std::string &producer);

// One message per compilation unit whose flags differ or that exists in one
// build only.
std::vector<std::string> compare_flags(const program::Program &a, const program::Program &b);

} // namespace hetmig::check
