// SPDX-License-Identifier: GPL-2.0
// Which call sites can be on the stack at a migration point: those whose
// callee can reach __hetmig_park (directly, through __cyg_profile_func_enter,
// or through any indirect call, which is assumed to reach everything).
#pragma once

#include <set>
#include <string>

#include "program/program.h"

namespace hetmig::check {

class Reach {
public:
	explicit Reach(const program::Program &p);
	// The call can be on the stack when the program is parked.
	bool on_stack(const program::Function &caller, const program::CallSite &site) const;
	// A libc function that calls back into the program (qsort...): why its
	// frame would be a problem, or empty.
	static std::string libc_callback(const std::string &name);

private:
	bool reaches(const std::string &callee) const;
	const program::Program &p_;
	std::set<std::string> reaching_;  // functions that can reach a point
	bool any_ = false;                // some function reaches a point
};

// The functions where a thread is parked, whose own frames are not
// converted: a site inside them is never checked.
bool is_park_function(const std::string &name);

} // namespace hetmig::check
