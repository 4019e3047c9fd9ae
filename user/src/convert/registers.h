// SPDX-License-Identifier: GPL-2.0
// Where a frame's value in a callee-saved register is while the process is
// parked, on the source (to read it) and on the destination (to write it
// where the destination's code restores the register from): the save slot
// of the nearest inner frame that saved the register at its call, else the
// register itself, i.e. the parked thread's registers on the source and the
// resume record's on the destination (Documentation/heterogeneous.md,
// "Registers").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "error.h"
#include "process_state.h"
#include "program/program.h"

namespace hetmig::convert {

// Callee-saved registers the resume record carries (DWARF numbers), in
// the order of struct hetmig_resume's `callee_saved` (hetmig.h): x86_64
// rbx, r12-r15; aarch64 x19-x28, d8-d15. The frame pointer is carried on
// its own.
const std::vector<unsigned> &resume_registers(program::Isa isa);

// Where a register's value is, seen from one frame.
struct RegisterHome {
	bool in_register = true;  // no inner frame saved it: the register file
	uint64_t slot = 0;        // else its save slot (8 bytes)
};

// Walks a stack from the innermost frame outwards: home() is where the
// frame being looked at finds its value of REG; saved_by() then records
// the saves of that frame, for its callers.
class RegisterHomes {
public:
	explicit RegisterHomes(program::Isa isa);
	RegisterHome home(unsigned reg) const;
	// FRAME (with this CFA) is stopped at SITE: the registers it saved
	// there hold its caller's values.
	void saved_by(const program::CallSite &site, uint64_t cfa);

private:
	unsigned fp_reg_, ra_reg_;
	std::map<unsigned, uint64_t> slots_;
};

// The value of callee-saved register REG (DWARF number) in a parked
// thread's register sets (for a vector register, its low 64 bits).
Result<uint64_t> parked_register(program::Isa isa, const ThreadState &thread, unsigned reg);

// Why the register file of a thread parked in __hetmig_park may not hold
// its caller's callee-saved registers (the runtime's frames saved and used
// some), or nothing.
std::optional<std::string> park_clobbers_registers(const program::Program &build);

} // namespace hetmig::convert
