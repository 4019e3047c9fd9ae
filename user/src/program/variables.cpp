// SPDX-License-Identifier: GPL-2.0
// The variables in scope at a pc and where each lives there.
#include <cstring>
#include <dwarf.h>

#include <map>
#include <optional>

#include "impl.h"
#include "types.h"

namespace hetmig::program {

namespace {

const char *op_name(unsigned op)
{
	switch (op) {
	case DW_OP_addr: return "DW_OP_addr";
	case DW_OP_deref: return "DW_OP_deref";
	case DW_OP_stack_value: return "DW_OP_stack_value";
	case DW_OP_piece: return "DW_OP_piece";
	case DW_OP_bit_piece: return "DW_OP_bit_piece";
	case DW_OP_entry_value: return "DW_OP_entry_value";
	case DW_OP_GNU_entry_value: return "DW_OP_GNU_entry_value";
	case DW_OP_implicit_value: return "DW_OP_implicit_value";
	case DW_OP_implicit_pointer: return "DW_OP_implicit_pointer";
	case DW_OP_GNU_implicit_pointer: return "DW_OP_GNU_implicit_pointer";
	case DW_OP_constu: return "DW_OP_constu";
	case DW_OP_consts: return "DW_OP_consts";
	case DW_OP_plus_uconst: return "DW_OP_plus_uconst";
	case DW_OP_fbreg: return "DW_OP_fbreg";
	case DW_OP_call_frame_cfa: return "DW_OP_call_frame_cfa";
	case DW_OP_convert: return "DW_OP_convert";
	case DW_OP_GNU_parameter_ref: return "DW_OP_GNU_parameter_ref";
	case DW_OP_const1u: return "DW_OP_const1u";
	case DW_OP_const1s: return "DW_OP_const1s";
	case DW_OP_const2u: return "DW_OP_const2u";
	case DW_OP_const2s: return "DW_OP_const2s";
	case DW_OP_const4u: return "DW_OP_const4u";
	case DW_OP_const4s: return "DW_OP_const4s";
	case DW_OP_const8u: return "DW_OP_const8u";
	case DW_OP_const8s: return "DW_OP_const8s";
	case DW_OP_minus: return "DW_OP_minus";
	case DW_OP_plus: return "DW_OP_plus";
	case DW_OP_mul: return "DW_OP_mul";
	case DW_OP_neg: return "DW_OP_neg";
	case DW_OP_not: return "DW_OP_not";
	case DW_OP_and: return "DW_OP_and";
	case DW_OP_or: return "DW_OP_or";
	case DW_OP_shl: return "DW_OP_shl";
	case DW_OP_shr: return "DW_OP_shr";
	case DW_OP_shra: return "DW_OP_shra";
	case DW_OP_deref_size: return "DW_OP_deref_size";
	case DW_OP_regx: return "DW_OP_regx";
	case DW_OP_bregx: return "DW_OP_bregx";
	}
	static thread_local char buf[32];
	if (op >= DW_OP_lit0 && op <= DW_OP_lit31)
		snprintf(buf, sizeof(buf), "DW_OP_lit%u", op - DW_OP_lit0);
	else if (op >= DW_OP_reg0 && op <= DW_OP_reg31)
		snprintf(buf, sizeof(buf), "DW_OP_reg%u", op - DW_OP_reg0);
	else if (op >= DW_OP_breg0 && op <= DW_OP_breg31)
		snprintf(buf, sizeof(buf), "DW_OP_breg%u", op - DW_OP_breg0);
	else
		snprintf(buf, sizeof(buf), "DW_OP_0x%x", op);
	return buf;
}

struct FrameBase {
	bool cfa = false;       // DW_OP_call_frame_cfa (gcc)
	std::optional<std::pair<unsigned, int64_t>> reg;  // DW_OP_bregN (clang)
	std::string why;
};

FrameBase frame_base(Dwarf_Die *fn, uint64_t pc)
{
	FrameBase fb;
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(fn, DW_AT_frame_base, &a))
		return fb.why = "no DW_AT_frame_base", fb;
	Dwarf_Op *ops[1];
	size_t len[1];
	if (dwarf_getlocation_addr(&a, pc, ops, len, 1) != 1 || len[0] != 1)
		return fb.why = "frame base not a single operation", fb;
	unsigned op = ops[0][0].atom;
	if (op == DW_OP_call_frame_cfa)
		fb.cfa = true;
	else if (op >= DW_OP_breg0 && op <= DW_OP_breg31)
		fb.reg = {{op - DW_OP_breg0, int64_t(ops[0][0].number)}};
	else if (op >= DW_OP_reg0 && op <= DW_OP_reg31)
		fb.reg = {{op - DW_OP_reg0, 0}};
	else
		fb.why = std::string("frame base ") + op_name(op);
	return fb;
}

// The value of a location that is one constant and DW_OP_stack_value
// (gcc -O1 describes `int i = 0` before its loop so); nullopt for any
// other expression.
std::optional<uint64_t> constant_value(const Dwarf_Op *e, size_t len)
{
	if (len != 2 || e[1].atom != DW_OP_stack_value)
		return std::nullopt;
	unsigned op = e[0].atom;
	if (op >= DW_OP_lit0 && op <= DW_OP_lit31)
		return op - DW_OP_lit0;
	switch (op) {
	case DW_OP_const1u: case DW_OP_const2u: case DW_OP_const4u: case DW_OP_const8u:
	case DW_OP_constu:
	case DW_OP_const1s: case DW_OP_const2s: case DW_OP_const4s: case DW_OP_const8s:
	case DW_OP_consts:
		// libdw gives the signed forms sign-extended to 64 bits.
		return e[0].number;
	}
	return std::nullopt;
}

// Whether the expression is a value computed from an entry value
// (`DW_OP_entry_value(DW_OP_reg5); DW_OP_stack_value`: gcc's description of
// a parameter after its last use). The value is held nowhere: code cannot
// read a register's value at entry unless something kept it, and whatever
// kept it (a callee-saved register, a slot) would be its location instead.
// So nothing of it is live at this pc, as if optimized out; a register the
// code still reads is caught by the verifier's liveness rule on its own.
bool entry_value_only(const Dwarf_Op *e, size_t len)
{
	if (len < 2 || e[len - 1].atom != DW_OP_stack_value)
		return false;
	for (size_t i = 0; i < len; i++)
		if (e[i].atom == DW_OP_entry_value || e[i].atom == DW_OP_GNU_entry_value)
			return true;
	return false;
}

// A sum of registers, each added or subtracted, and constants (gcc -O1+
// for `n - 1`, for a loop counter turned into a count down or into the
// distance between two pointers): fills LOC as Kind::affine. The
// expression is evaluated symbolically: bregN/bregx, constants, plus,
// minus, plus_uconst, neg, then DW_OP_stack_value; any other operation, or
// a register whose coefficient ends up other than +1 or -1, is not one.
bool affine_value(const Dwarf_Op *e, size_t len, Location &loc)
{
	struct Linear {
		std::map<unsigned, int64_t> coef;
		uint64_t offset = 0;
	};
	if (len < 2 || e[len - 1].atom != DW_OP_stack_value)
		return false;
	std::vector<Linear> stack;
	for (size_t i = 0; i + 1 < len; i++) {
		const Dwarf_Op &op = e[i];
		Dwarf_Op pair[2] = {op, {}};
		pair[1].atom = DW_OP_stack_value;
		if (op.atom >= DW_OP_breg0 && op.atom <= DW_OP_breg31) {
			Linear l;
			l.coef[op.atom - DW_OP_breg0] = 1;
			l.offset = op.number;
			stack.push_back(l);
		} else if (op.atom == DW_OP_bregx) {
			Linear l;
			l.coef[unsigned(op.number)] = 1;
			l.offset = op.number2;
			stack.push_back(l);
		} else if (auto c = constant_value(pair, 2)) {
			Linear l;
			l.offset = *c;
			stack.push_back(l);
		} else if (op.atom == DW_OP_plus_uconst && !stack.empty()) {
			stack.back().offset += op.number;
		} else if (op.atom == DW_OP_neg && !stack.empty()) {
			for (auto &[r, k] : stack.back().coef)
				k = -k;
			stack.back().offset = -stack.back().offset;
		} else if ((op.atom == DW_OP_plus || op.atom == DW_OP_minus) && stack.size() >= 2) {
			Linear b = stack.back();
			stack.pop_back();
			Linear &a = stack.back();
			int64_t sign = op.atom == DW_OP_plus ? 1 : -1;
			for (const auto &[r, k] : b.coef)
				a.coef[r] += sign * k;
			a.offset += uint64_t(sign) * b.offset;
		} else {
			return false;
		}
	}
	if (stack.size() != 1)
		return false;
	std::vector<std::pair<unsigned, int>> terms;
	for (const auto &[r, k] : stack.back().coef) {
		if (k == 0)
			continue;
		if (k != 1 && k != -1)
			return false;
		terms.push_back({r, int(k)});
	}
	if (terms.empty())
		return false;  // constants only: constant_value() had its chance
	loc.kind = Location::Kind::affine;
	loc.terms = std::move(terms);
	loc.offset = int64_t(stack.back().offset);
	loc.reg = loc.terms.front().first;
	return true;
}

} // namespace

bool address_arithmetic(const Dwarf_Op *e, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned op = e[i].atom;
		if ((op >= DW_OP_breg0 && op <= DW_OP_breg31) || (op >= DW_OP_lit0 && op <= DW_OP_lit31))
			continue;
		switch (op) {
		case DW_OP_fbreg: case DW_OP_bregx: case DW_OP_addr: case DW_OP_deref:
		case DW_OP_deref_size:
		case DW_OP_const1u: case DW_OP_const1s: case DW_OP_const2u: case DW_OP_const2s:
		case DW_OP_const4u: case DW_OP_const4s: case DW_OP_const8u: case DW_OP_const8s:
		case DW_OP_constu: case DW_OP_consts: case DW_OP_plus: case DW_OP_plus_uconst:
		case DW_OP_minus: case DW_OP_mul: case DW_OP_shl: case DW_OP_shr: case DW_OP_shra:
		case DW_OP_and: case DW_OP_or: case DW_OP_xor: case DW_OP_neg: case DW_OP_not:
			continue;
		default:
			return false;
		}
	}
	return true;
}

namespace {

Location locate(Dwarf_Die *var, uint64_t pc, const FrameBase &fb)
{
	Location loc;
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(var, DW_AT_location, &a)) {
		loc.kind = Location::Kind::optimized_out;
		return loc;
	}
	Dwarf_Op *exprs[2];
	size_t lens[2];
	int n = dwarf_getlocation_addr(&a, pc, exprs, lens, 2);
	if (n < 0) {
		loc.why = strf("location: %s", dwarf_errmsg(-1));
		return loc;
	}
	if (n == 0 || lens[0] == 0) {
		loc.kind = Location::Kind::optimized_out;
		return loc;
	}
	if (n > 1) {
		loc.why = "several locations at this pc";
		return loc;
	}
	Dwarf_Op *e = exprs[0];
	if (auto value = constant_value(e, lens[0])) {
		loc.kind = Location::Kind::constant;
		loc.value = *value;
		return loc;
	}
	// A value spelled out in the expression (gcc's `double pi = 3.14...`
	// kept in no register): a constant like DW_OP_constu's.
	Dwarf_Block block;
	if (lens[0] == 1 && e[0].atom == DW_OP_implicit_value && e[0].number <= 8 &&
	    dwarf_getlocation_implicit_value(&a, e, &block) == 0 && block.length <= 8) {
		uint64_t v = 0;
		std::memcpy(&v, block.data, block.length);
		loc.kind = Location::Kind::constant;
		loc.value = v;
		return loc;
	}
	if (entry_value_only(e, lens[0])) {
		loc.kind = Location::Kind::optimized_out;
		loc.why = "only its value at function entry";
		return loc;
	}
	if (affine_value(e, lens[0], loc))
		return loc;
	if (lens[0] > 1 && e[lens[0] - 1].atom == DW_OP_stack_value) {
		loc.kind = Location::Kind::computed;
		for (size_t i = 0; i < lens[0]; i++)
			loc.why += (i ? "; " : "") + std::string(op_name(e[i].atom));
		return loc;
	}
	if (lens[0] != 1) {
		if (address_arithmetic(e, lens[0])) {
			loc.kind = Location::Kind::derived_memory;
			for (size_t i = 0; i < lens[0]; i++)
				loc.why += (i ? "; " : "") + std::string(op_name(e[i].atom));
			return loc;
		}
		for (size_t i = 0; i < lens[0]; i++)
			if (e[i].atom != DW_OP_fbreg && !(e[i].atom >= DW_OP_breg0 &&
							  e[i].atom <= DW_OP_breg31))
				return loc.why = op_name(e[i].atom), loc;
		loc.why = "location with several operations";
		return loc;
	}
	unsigned op = e[0].atom;
	if (op == DW_OP_fbreg) {
		if (fb.cfa) {
			loc.kind = Location::Kind::cfa_offset;
			loc.offset = int64_t(e[0].number);
		} else if (fb.reg) {
			loc.kind = Location::Kind::reg_offset;
			loc.reg = fb.reg->first;
			loc.offset = fb.reg->second + int64_t(e[0].number);
		} else {
			loc.why = fb.why;
		}
	} else if (op >= DW_OP_breg0 && op <= DW_OP_breg31) {
		loc.kind = Location::Kind::reg_offset;
		loc.reg = op - DW_OP_breg0;
		loc.offset = int64_t(e[0].number);
	} else if (op == DW_OP_bregx) {
		loc.kind = Location::Kind::reg_offset;
		loc.reg = unsigned(e[0].number);
		loc.offset = int64_t(e[0].number2);
	} else if (op >= DW_OP_reg0 && op <= DW_OP_reg31) {
		loc.kind = Location::Kind::reg;
		loc.reg = op - DW_OP_reg0;
	} else if (op == DW_OP_regx) {
		loc.kind = Location::Kind::reg;
		loc.reg = unsigned(e[0].number);
	} else {
		loc.why = op_name(op);
	}
	return loc;
}

// A static or extern variable: it lives in .data/.bss, not in the frame.
bool is_static(Dwarf_Die *var)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(var, DW_AT_location, &a))
		return dwarf_hasattr(var, DW_AT_declaration);
	Dwarf_Op *ops;
	size_t len;
	if (dwarf_getlocation(&a, &ops, &len) == 0 && len >= 1 &&
	    (ops[0].atom == DW_OP_addr || ops[0].atom == DW_OP_form_tls_address ||
	     ops[0].atom == DW_OP_GNU_push_tls_address))
		return true;
	return false;
}

// The non-static variables of SCOPE and of the scopes inside it that hold
// PC (EVERY_SCOPE: all of them), located at PC. A variable with one
// location for its whole life is located so at any pc.
void collect(Dwarf_Die *scope, uint64_t pc, const FrameBase &fb, std::vector<Variable> &out,
	     bool every_scope = false)
{
	Dwarf_Die child;
	if (dwarf_child(scope, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) {
			if (every_scope || dwarf_haspc(&child, pc) == 1)
				collect(&child, pc, fb, out, every_scope);
			continue;
		}
		if (tag != DW_TAG_formal_parameter && tag != DW_TAG_variable)
			continue;
		if (is_static(&child))
			continue;
		Variable v;
		const char *name = dwarf_diename(&child);
		v.name = name ? name : "";
		v.parameter = tag == DW_TAG_formal_parameter;
		v.location = locate(&child, pc, fb);
		Dwarf_Attribute a;
		Dwarf_Die type;
		if (dwarf_attr_integrate(&child, DW_AT_type, &a) && dwarf_formref_die(&a, &type))
			v.type = describe_type(&type);
		else
			v.type.unsupported = "no type";
		const char *file = dwarf_decl_file(&child);
		v.decl_file = file ? file : "";
		dwarf_decl_line(&child, &v.decl_line);
		out.push_back(std::move(v));
	} while (dwarf_siblingof(&child, &child) == 0);
}

} // namespace

Result<std::vector<Variable>> variables_at_impl(const Program::Impl &p, size_t index,
						uint64_t pc, bool every_scope)
{
	Dwarf_Die fn;
	if (!p.dwarf || !dwarf_offdie(p.dwarf.get(), p.die_offsets[index], &fn))
		return fail(ENOENT, strf("%s: no DWARF for %s", p.path.c_str(),
					 p.functions[index].name.c_str()));
	FrameBase fb = frame_base(&fn, pc);
	std::vector<Variable> out;
	collect(&fn, pc, fb, out, every_scope);
	return out;
}

} // namespace hetmig::program
