// SPDX-License-Identifier: GPL-2.0
// hetmig check's verdict with the converter's own decisions for each frame
// folded in: the verifier proves a site from the rules of Documentation/
// heterogeneous.md ("Verifier"), and the converter then pairs the frame's
// variables and places them (convert/places.h). A site the first proves
// and the second would refuse, in either direction, is refused with the
// converter's reason, so that one decision is what the build reports, what
// the runtime parks at, and what a move converts.
#pragma once

#include "check/verifier.h"
#include "program/program.h"

namespace hetmig::convert {

// Why the converter would refuse a frame stopped at site KEY, moved from
// FROM to TO (empty: it would not). Asks what can be asked without a
// process: the variables' pairing, and each variable's place with the
// frame at a nominal address and no inner frame saving a register.
std::string converter_refuses(const program::Program &from, const program::Program &to,
			      const std::string &key);

// check::verify(A, B), then converter_refuses() both ways for every site it
// proves: such a site becomes a refusal.
check::Report verify_pair(const program::Program &a, const program::Program &b);

} // namespace hetmig::convert
