// SPDX-License-Identifier: GPL-2.0
// Converting the image of a parked hetmig-cc process from one ISA's build
// to the other's (Documentation/heterogeneous.md, "Conversion").
#pragma once

#include <string>
#include <vector>

#include "error.h"
#include "image.h"
#include "program/program.h"

namespace hetmig::convert {

struct FrameReport {
	std::string function, file;
	int line = 0, column = 0;
	uint64_t source_cfa = 0, dest_cfa = 0;
	size_t variables = 0;
};

struct Report {
	std::vector<FrameReport> frames;  // innermost first
	size_t pointers_in_variables = 0; // stack pointers in converted variables, mapped
	size_t pointers_in_memory = 0;    // stack pointers found in other memory, mapped
	size_t stale_stack_words = 0;     // words pointing at dead stack, left alone
	int64_t stack_moved_by = 0;
	size_t exited_threads = 0;        // descriptors of threads ended, not joined yet
	// On a refusal: true when it is about the stack at this migration
	// point (a frame, a variable, a pointer into the stack), which the
	// same program may not have at its next point; false when it is about
	// the process or the builds, which a later point does not change.
	bool refused_at_this_point = false;
};

// SRC must hold its page data (a loaded image, or one whose pages were
// read). FROM is the build SRC runs, TO the build for the other ISA.
// Nothing is half-done: on error SRC's conversion is abandoned with the
// reason and nothing else changes.
Result<Image> convert_image(const Image &src, const program::Program &from,
			    const program::Program &to, Report *report = nullptr);

// The path of the other ISA's build next to PATH: "prog.x86_64" <->
// "prog.aarch64". Empty when PATH has neither suffix.
std::string sibling_build(const std::string &path, program::Isa to);

} // namespace hetmig::convert
