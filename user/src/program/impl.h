// SPDX-License-Identifier: GPL-2.0
// What an opened Program holds; shared by the program/*.cpp files that fill
// it in (ELF tables, functions and call sites, frames, variables).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "handles.h"
#include "insn.h"
#include "program.h"

namespace hetmig::program {

struct Program::Impl {
	std::string path;
	Isa isa = Isa::x86_64;
	std::string pair_id;
	std::string producer;
	UniqueFd fd;
	UniqueElf elf;
	UniqueDwarf dwarf;  // null when the file has no DWARF
	UniqueCfi cfi;      // .eh_frame; null when absent
	std::vector<Symbol> symbols;
	std::vector<Segment> segments;
	std::optional<TlsInfo> tls;
	std::vector<Function> functions;            // sorted by low
	std::map<uint64_t, const CallSite *> by_return;
	std::map<std::string, const CallSite *> by_key;
	std::map<std::string, size_t> by_name;  // functions[i]; DWARF ones first
	// Offset of each function's DIE (functions[i] <-> die_offsets[i]);
	// ~0 for functions known only from the symbol table.
	std::vector<Dwarf_Off> die_offsets;
	std::vector<Program::Unit> units;
};

// Callee-saved registers live across each call site, and the aarch64
// return-address copy (liveness.cpp).
void compute_liveness(Isa isa, const std::vector<Insn> &insns, Function &f);
// CallSite::dead_slots of F's calls, once its frame layout is known
// (frame_slots.cpp).
void compute_dead_slots(Isa isa, const std::vector<Insn> &insns, const std::vector<uint8_t> &code,
			uint64_t low, Function &f);
// Whether an x86_64 one-byte-map opcode takes a ModRM byte (frame_slots.cpp).
bool has_modrm_x86_64(uint8_t op);
// The same for the 0f map's opcodes (after 0x0f).
bool has_modrm_x86_64_0f(uint8_t op);
// An x86_64 instruction's legacy prefixes (operand size, rep, repne; the
// segment, address-size and lock prefixes skipped) and REX byte; `next`
// is the index of its opcode (frame_slots.cpp).
struct X86Prefixes {
	unsigned next = 0;
	bool opsize = false, rep = false, repne = false;
	uint8_t rex = 0;
};
X86Prefixes x86_prefixes(const uint8_t *p, unsigned len);
// The index of the instruction at ADDRESS in a function's decoded
// instructions (in address order), if one starts there (liveness.cpp).
std::optional<size_t> insn_at(const std::vector<Insn> &insns, uint64_t address);
// Whether straight-line code from instruction I reaches a return (an
// epilogue), with no branch or call on the way (liveness.cpp).
bool straight_to_return(const std::vector<Insn> &insns, size_t i);
// Each instruction's successors in the function (liveness.cpp); a call
// at an address in NO_RETURN has none.
std::vector<std::vector<size_t>> successors(const std::vector<Insn> &insns,
					    const std::set<uint64_t> &no_return = {});
// The calls of F to C library functions that never return (exit, abort...).
std::set<uint64_t> calls_that_do_not_return(const Function &f);
// The SIZE bytes (little endian) at ADDRESS if a segment the program
// cannot write holds them (constants in .rodata), else nullopt.
using ReadOnlyWord = std::function<std::optional<uint64_t>(uint64_t address, unsigned size)>;
// CallSite::constant_registers and frame_registers of F's calls, after
// compute_liveness (constants.cpp). CODE holds the function's bytes from
// LOW.
void compute_constant_registers(Isa isa, const std::vector<Insn> &insns,
				const std::vector<uint8_t> &code, uint64_t low,
				const ReadOnlyWord &read_only, Function &f);
// Insn::targets of the switch jumps in INSNS, from their tables in
// read-only data (jump_tables.cpp). CODE holds the bytes from LOW.
void resolve_jump_tables(Isa isa, std::vector<Insn> &insns, const std::vector<uint8_t> &code,
			 uint64_t low, const ReadOnlyWord &read_only);
// ReadOnlyWord over P's PT_LOAD segments without PF_W (elf_tables.cpp).
std::optional<uint64_t> read_only_word(const Program::Impl &p, uint64_t address,
				       unsigned size);
// Reads symbols, segments, PT_TLS and the pair note (elf_tables.cpp).
Result<void> read_elf_tables(Program::Impl &p);
// Functions from DWARF and the symbol table, with call sites and frame
// layouts (functions.cpp).
Result<void> read_functions(Program::Impl &p);
// The variables of the function's scopes that hold PC (EVERY_SCOPE: of
// all its scopes), located at PC (variables.cpp).
Result<std::vector<Variable>> variables_at_impl(const Program::Impl &p, size_t index,
						uint64_t pc, bool every_scope = false);
// Whether a DWARF location expression is a memory location whose address
// is arithmetic over registers, the frame base, static addresses and
// memory (no register, no piece, no value of its own): Kind::derived_memory
// (variables.cpp).
bool address_arithmetic(const Dwarf_Op *e, size_t len);
// Bytes of the file at [address, address + length) in PT_LOAD; zero-filled
// past p_filesz; empty if any byte is not mapped.
std::vector<uint8_t> load_bytes(const Program::Impl &p, uint64_t address,
				uint64_t length);

} // namespace hetmig::program
