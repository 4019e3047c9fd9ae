// SPDX-License-Identifier: GPL-2.0
// One build of a hetmig-cc program, as the verifier and the converter see it:
// its functions, call sites, frame layouts and the variables live at each
// call site, read from the ELF symbol table, DWARF and CFI (libelf/libdw).
// Works on either ISA's build from either host.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "error.h"

namespace hetmig::program {

enum class Isa { x86_64, aarch64 };
const char *isa_name(Isa isa);

// DWARF register numbers used below: x86_64 rbp=6 rsp=7 ra=16;
// aarch64 x29=29 x30=30 sp=31.

// Where a variable lives at a call site. At -O0 everything is a frame slot;
// the other kinds come from optimised builds.
struct Location {
	enum class Kind {
		cfa_offset,   // memory at CFA + offset (DW_OP_fbreg, frame base = CFA)
		reg,          // in DWARF register `reg` (callee-saved only is usable)
		reg_offset,   // memory at register `reg` + offset
		// A value computed from constants only (DW_OP_lit3;
		// DW_OP_stack_value): `value`, of which the variable's size is
		// the low bytes. Nothing to carry when the other build computes
		// the same one.
		constant,
		// A value computed from registers or memory (an expression ending
		// in DW_OP_stack_value): stored nowhere, so nothing to carry; the
		// code reads the registers it comes from, which the verifier's
		// liveness rule covers. `why` shows the expression.
		computed,
		// A computed value that is a sum of registers, each added or
		// subtracted, plus `offset` (mod 2^64): `terms`. `DW_OP_breg3
		// -1; DW_OP_stack_value` for `n - 1` while rbx holds n; a loop
		// counter gcc turned into a count down (20000 - x20) or into the
		// distance between two pointers (x19 - x21 + 64). The converter
		// reads the registers on the source and solves for the one
		// register the destination's other values leave unknown.
		affine,
		// Memory at an address computed from other state (`DW_OP_fbreg
		// -256; DW_OP_deref_size 4; ...; DW_OP_plus`: an element of a
		// frame array indexed by another variable). The variable has no
		// storage of its own: the memory is carried by what owns it (the
		// array's variable, a frame slot the verifier checks, the heap),
		// so nothing is carried for it.
		derived_memory,
		optimized_out,
		unsupported,  // anything else; `why` says what
	};
	Kind kind = Kind::unsupported;
	int64_t offset = 0;
	unsigned reg = 0;
	uint64_t value = 0;  // constant
	// affine: (DWARF register, +1 or -1), value = sum + offset
	std::vector<std::pair<unsigned, int>> terms;
	std::string why;
};

struct Type {
	std::string name;           // C spelling, e.g. "struct node *"
	uint64_t size = 0;
	// Byte offsets of every pointer inside an object of this type (arrays
	// and structs expanded; a pointer type gives {0}). The converter maps
	// the ones pointing into the stack.
	std::vector<uint64_t> pointer_offsets;
	// Non-empty when a value of this type cannot be carried between ISAs
	// (long double, va_list, a union holding a pointer...): the reason.
	std::string unsupported;
};

struct Variable {
	std::string name;
	bool parameter = false;
	Location location;
	// At a call: the location holds the value (DWARF says so), but every
	// path after the call overwrites it before reading it (a dead frame
	// slot, CallSite::dead_slots). Carried if the other build needs it,
	// else nothing to carry (check::unneeded_pair).
	bool dead = false;
	Type type;
	std::string decl_file;
	int decl_line = 0;
};

struct CallSite {
	uint64_t call_address = 0;    // first byte of the call instruction
	uint64_t return_address = 0;  // the instruction after it
	std::string callee;           // symbol name; empty for an indirect call
	std::string file;             // from the line table at call_address
	int line = 0;
	int column = 0;
	// Identifies the site across the two builds:
	// "caller|callee|line:column|n" (n counts equal keys in one function).
	std::string key;
	// The callee takes arguments on the stack (more than the argument
	// registers hold, or a large struct by value): its DWARF places
	// parameters at or above its CFA (Function::stack_parameters), which
	// is this caller's outgoing argument area. The callee's frame carries
	// them: converting it rebuilds that area.
	bool stack_arguments = false;
	// Arguments pushed right before the call (x86_64 gcc without
	// -maccumulate-outgoing-args): sp at the call is below the frame's
	// fixed one, and what was pushed belongs to no frame's layout.
	bool pushed_arguments = false;
	// Callee-saved registers (DWARF numbers) holding a value across this
	// call that no variable describes: written before the call in this
	// function and read after it (e.g. the temporary of `f() + g()`).
	std::vector<unsigned> live_registers;
	// Callee-saved registers whose value at the call nothing reads after
	// it (every path overwrites or restores them first): a variable DWARF
	// places in one of them is dead at the call (gcc keeps a parameter's
	// location until the register is reused). Empty when not decoded.
	std::vector<unsigned> dead_registers;
	// Frame slots ([lo, hi) bytes from the frame pointer) whose value at
	// the call nothing reads: every path after it stores all of the slot
	// through fp or sp before reading any of it, or returns
	// (frame_slots.cpp). A variable DWARF places in one is dead there.
	std::vector<std::pair<int64_t, int64_t>> dead_slots;
	// The function's other store targets ([lo, hi) from fp): some path
	// after the call may read them first. Each must be a variable's, a
	// saved register's or the frame record's (Program::undescribed_slots).
	std::vector<std::pair<int64_t, int64_t>> live_slots;
	// Store targets whose address the code takes: live at every call (a
	// pointer, a callee may read or write them), never constant slots.
	std::vector<std::pair<int64_t, int64_t>> taken_slots;
	// Live 8-byte frame slots ([fp + first]) that hold one constant at the
	// call on every path, stored there by the function from a register
	// holding it (gcc -O2 spills the addresses of globals it hoisted out of
	// a loop when the callee-saved registers run out): the converter writes
	// the destination's, like constant_registers. And slots that hold this
	// frame's fp plus a constant (a local's address): the destination's fp
	// plus the destination's offset.
	std::vector<std::pair<int64_t, uint64_t>> constant_slots;
	std::vector<std::pair<int64_t, int64_t>> frame_address_slots;
	// Live callee-saved registers that hold the same constant at the call
	// on every path to it, by what the function's code put there: an
	// immediate or a link-time address (adrp/add, mov $imm, lea sym(%rip)),
	// loop bounds and globals' addresses hoisted out of loops at -O1+. The
	// addresses are the same in both builds; the converter writes the
	// destination's constants, the source's need nothing read.
	std::vector<std::pair<unsigned, uint64_t>> constant_registers;
	// Live callee-saved registers that hold the address of a slot of this
	// frame on every path to the call: the frame pointer plus the offset
	// (a pointer to a local array, hoisted out of a loop). The converter
	// writes the destination's frame pointer plus the destination's offset;
	// the slot's contents are carried with the variable that holds them.
	std::vector<std::pair<unsigned, int64_t>> frame_registers;
	// Live callee-saved registers that hold the thread pointer plus an
	// offset on every path to the call (a thread-local variable's address,
	// mrs tpidr_el0 and add, hoisted out of a loop or kept across calls).
	// The converter has the runtime add the destination's thread pointer,
	// which exists only once it has built the thread's TLS, to the offset
	// (struct hetmig_resume's tp_fixups).
	std::vector<std::pair<unsigned, int64_t>> thread_registers;
	// Registers this function has saved at the call, fp and return address
	// included, each with its slot (CFA + offset): where a caller's value
	// of a callee-saved register is (from the CFI at the call; gcc -O1+
	// saves some registers only on the paths that use them). Empty when
	// the frame layout is unknown.
	std::vector<std::pair<unsigned, int64_t>> saved_registers;
};

// A function's frame at any of its call sites (after the prologue).
struct FrameLayout {
	bool known = false;         // false: prologue or CFI not understood
	std::string why_unknown;
	uint64_t cfa_minus_sp = 0;  // sp at a call site = CFA - cfa_minus_sp
	uint64_t cfa_minus_fp = 0;  // frame pointer = CFA - cfa_minus_fp
	int64_t saved_fp_at = 0;    // caller's fp saved at CFA + saved_fp_at
	int64_t saved_ra_at = 0;    // return address saved at CFA + saved_ra_at
	// Callee-saved registers (DWARF numbers) the function saves besides the
	// frame pointer and link register, at any of its calls: they may hold
	// values DWARF does not describe (CallSite::live_registers says whether
	// one does at a given call).
	std::vector<unsigned> other_saved_registers;
	bool dynamic = false;       // alloca / VLA: sp not fixed
	// gcc -finstrument-functions on aarch64 keeps the function's address
	// and a copy of the return address (mov x19, x30) in callee-saved
	// registers, used only as the arguments of __cyg_profile_func_enter/
	// exit, which the runtime ignores. These registers, proven so from the
	// code, are not counted in CallSite::live_registers: their value at a
	// call does not matter (the converter may still restore them).
	std::vector<unsigned> instrumentation_registers;
	// The one of them that copies the return address, if any.
	std::optional<unsigned> return_address_copy;
	// A function that returns a struct in memory gets the address of its
	// caller's buffer in rdi / x8; gcc -O0 keeps it in a frame slot that
	// DWARF does not describe. Where it is ([fp + N], 8 bytes), when the
	// prologue stores it there and nothing else stores to the slot:
	// Program::variables_at gives it as the variable "<return buffer>".
	std::optional<int64_t> return_buffer_slot;
	// aarch64 gcc -O0 keeps it in a callee-saved register instead (mov
	// x20, x8 before the first call, the register written nowhere else).
	std::optional<unsigned> return_buffer_register;
};

struct Function {
	std::string name;
	uint64_t low = 0, high = 0;  // [low, high)
	std::string file;
	int line = 0;
	bool has_debug_info = false; // false for libc and assembler functions
	// Takes `...` (DW_TAG_unspecified_parameters): what it receives beyond
	// its named parameters (in its caller's outgoing area, or in the
	// register save area of its own frame) is described by no DWARF.
	bool variadic = false;
	// Returns a struct or union of more than 16 bytes: in memory, through
	// a hidden pointer argument, on both ISAs.
	bool returns_in_memory = false;
	// Parameters passed on the stack: at the function's entry its DWARF
	// places them at CFA + offset (offset >= 0), in the caller's outgoing
	// argument area. Name and offset.
	std::vector<std::pair<std::string, int64_t>> stack_parameters;
	// The code was decoded instruction by instruction: `calls` is complete
	// and live_registers are computed. Otherwise `why_not_decoded` says
	// where decoding stopped (calls then come from DW_TAG_call_site only).
	bool decoded = false;
	std::string why_not_decoded;
	FrameLayout frame;
	// The frame memory the function's variables (every scope, inlined ones
	// included) occupy at any point, as [lo, hi) relative to the CFA
	// (DW_OP_fbreg); nullopt when one's extent is unknown (a VLA, a size
	// DWARF does not give). A store indexed into a frame array writes into
	// one of them, never into a slot the compiler spilled to
	// (compute_constant_registers).
	std::optional<std::vector<std::pair<int64_t, int64_t>>> variable_memory;
	std::vector<CallSite> calls;
};

struct TlsInfo {
	uint64_t vaddr = 0, file_size = 0, mem_size = 0, align = 0;  // PT_TLS
};

// A saved value of the plugin at -O1+ (hetmig.s.SITE.HASH[.dup].CALLEE, a
// frame slot the code stores right before one call and reloads right after
// it). Program::variables_at reports those of other calls as optimized
// out; those of a call the optimizer duplicated, or of two values alike,
// as unsupported (the two builds' copies cannot be paired by name).
bool is_saved_value(const std::string &name);

class Program {
public:
	~Program();
	Program(Program &&) noexcept;
	Program &operator=(Program &&) noexcept;

	static Result<Program> open(const std::string &path);
	// Only the ELF side (symbols, segments, TLS, the pair note): no DWARF
	// and no functions, for a look at a build that is not converted here.
	static Result<Program> open_elf(const std::string &path);

	const std::string &path() const;
	Isa isa() const;
	// The .note.hetmig pair id (hex), empty if the file is not a hetmig-cc build.
	const std::string &pair_id() const;
	// The XXH64 and length of the file's bytes (hex), read through the
	// descriptor the program was opened with: the same file the model was
	// read from, whatever its path names now. Stands in for a build id,
	// which hetmig-cc links without (--build-id=none).
	Result<std::string> file_digest() const;
	// The compiler flags recorded in DW_AT_producer of the first CU.
	const std::string &producer() const;
	// Every compilation unit with DWARF, in file order.
	struct Unit {
		std::string name, producer;
	};
	const std::vector<Unit> &units() const;

	const std::vector<Function> &functions() const;
	const Function *function_at(uint64_t pc) const;
	const Function *function_named(const std::string &name) const;
	const CallSite *call_site_returning_to(uint64_t return_address) const;
	const CallSite *call_site_by_key(const std::string &key) const;
	// Callee-saved registers (besides fp and the return address) F saves,
	// and so may change, anywhere in its code, by its CFI; for any
	// function, leaves included (FrameLayout is only known for functions
	// with a frame record).
	Result<std::vector<unsigned>> registers_saved_in(const Function &f) const;

	// Variables (parameters and locals of every lexical block containing
	// pc) of the function containing pc, located at pc. A pc that is the
	// return address of a call site is looked up at pc - 1 (still inside the
	// call's statement, as debuggers do). Static locals are not included
	// (they live in .data/.bss).
	Result<std::vector<Variable>> variables_at(uint64_t pc) const;
	// Frame slots ([lo, hi) from the frame pointer) that the code stores to
	// and may read after the call at RETURN_ADDRESS, but that no variable
	// in memory there, no saved register and no frame record covers: a
	// value gcc spilled across the call that nothing describes.
	std::vector<std::pair<int64_t, int64_t>> undescribed_slots(uint64_t return_address) const;

	// Symbol table: value of a symbol (functions, objects, TLS offsets).
	std::optional<uint64_t> symbol(const std::string &name) const;
	struct Symbol {
		std::string name;
		uint64_t value = 0, size = 0;
		bool function = false, tls = false, local = false;
	};
	const std::vector<Symbol> &symbols() const;

	std::optional<TlsInfo> tls() const;
	// Initial bytes of the file at a virtual address (from PT_LOAD; zero
	// for bss). Empty if not mapped by the file.
	std::vector<uint8_t> initial_bytes(uint64_t address, uint64_t length) const;

	struct Segment { uint64_t vaddr, memsz, filesz, offset; int prot; };  // PROT_*
	const std::vector<Segment> &segments() const;

	// Opaque; public only so that program/*.cpp can fill it in.
	struct Impl;

private:
	explicit Program(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

} // namespace hetmig::program
