// SPDX-License-Identifier: GPL-2.0
// One frame's variables on both sides of a conversion: matched by name,
// and where each one is while the process is parked (a frame slot, a
// register's save slot in an inner frame, the register itself, or
// nowhere: a constant or a dead value), with its value on the way
// (Documentation/heterogeneous.md, "Conversion", step 4).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "convert/registers.h"
#include "error.h"
#include "program/program.h"

namespace hetmig::convert {

// Variables of one frame on both sides, matched by name and declaration
// line (a name can be declared twice in nested blocks).
struct VariablePair {
	program::Variable src, dst;
};

// Pairs SRC's variables with DST's; refuses a variable of one side only,
// of another size, of a type that cannot be carried, or a computed
// constant of another value. WHERE names the frame in messages.
Result<std::vector<VariablePair>> match_variables(const std::vector<program::Variable> &src,
						  const std::vector<program::Variable> &dst,
						  const std::string &where);

// The variables of a frame stopped at SRC_RA in FROM, to be rebuilt at
// DST_RA in TO, paired (match_variables).
Result<std::vector<VariablePair>> frame_variables(const program::Program &from,
						  const program::Program &to, uint64_t src_ra,
						  uint64_t dst_ra, const std::string &where);

// Where one variable of one frame is while the process is parked.
struct Place {
	enum class Kind {
		memory,         // `address`: a frame slot
		save_slot,      // `address`: a register's 8-byte save slot in an inner frame
		register_file,  // register `reg` itself (parked thread / resume record)
		// A sum of registers, each with its home, plus `offset`
		// (Location::Kind::affine): read by adding them up on the source;
		// on the destination it sets the one register the frame's other
		// values leave unknown (Converter::solve_registers).
		linear,
		constant,       // computed by the code from constants: nothing to carry
		optimized_out,  // dead here: nothing to carry
	};
	struct Term {
		unsigned reg;
		int sign;             // +1 or -1
		bool in_register;     // else in an inner frame's save slot `slot`
		uint64_t slot;
	};
	Kind kind = Kind::memory;
	uint64_t address = 0;
	unsigned reg = 0;
	std::vector<Term> terms;  // linear
	int64_t offset = 0;       // linear
	bool carried() const { return kind != Kind::constant && kind != Kind::optimized_out; }
};

// A variable's value on its way from the source frame to the destination.
struct CarriedValue {
	std::vector<uint8_t> bytes;  // the variable's size
	// When it was read from a register: the whole register. A value
	// narrower than the register keeps the upper bits the source's code
	// left (zero- or sign-extension), which the same statement compiled
	// for the other ISA most likely left too; read from memory it is
	// zero-extended, as a 32-bit load leaves a register on both ISAs.
	std::optional<uint64_t> whole_register;
	uint64_t register_value() const
	{
		uint64_t v = whole_register.value_or(0);
		std::memcpy(&v, bytes.data(), std::min<size_t>(bytes.size(), 8));
		return v;
	}
};

// Where V is in a frame (of ISA) with this CFA and frame pointer, a
// value in a callee-saved register being where HOMES says for it.
Result<Place> place_of(const program::Variable &v, program::Isa isa, uint64_t cfa, uint64_t fp,
		       const RegisterHomes &homes, const std::string &where);

// One frame on one side: its ISA, CFA and frame pointer, and where the
// callee-saved registers of its frame are.
struct FrameAt {
	program::Isa isa;
	uint64_t cfa, fp;
	const RegisterHomes &homes;
};

// Where a pair's variable is on both sides; refuses a value one side
// stores and the other does not (a value the destination needs is never
// made up).
Result<std::pair<Place, Place>> places_of(const VariablePair &vp, const FrameAt &src,
					  const FrameAt &dst, const std::string &where);

} // namespace hetmig::convert
