// SPDX-License-Identifier: GPL-2.0
// The verifier's report as text (one line per refused site) or JSON.
#pragma once

#include <cstdio>
#include <string>

#include "check/verifier.h"

namespace hetmig::check {

void print_text(FILE *out, const Report &r);
std::string to_json(const Report &r);

} // namespace hetmig::check
