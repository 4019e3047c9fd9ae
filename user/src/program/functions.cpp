// SPDX-License-Identifier: GPL-2.0
// Functions (DWARF subprograms, and symbol-table functions without DWARF)
// and their call sites. gcc emits DW_TAG_call_site only at -O1 and above, so
// call sites come from decoding the code; DW_TAG_call_site is the fallback
// for code the decoder does not understand.
#include <algorithm>
#include <map>

#include "frame_layout.h"
#include "impl.h"

namespace hetmig::program {

namespace {

struct DwarfFunction {
	Function f;
	bool split = false;  // DW_AT_ranges with several ranges (a .cold part)
	Dwarf_Off die = 0, cu = 0;
	std::vector<uint64_t> dwarf_return_pcs;  // DW_TAG_call_site
};

void collect_call_sites(Dwarf_Die *parent, std::vector<uint64_t> &out)
{
	Dwarf_Die child;
	if (dwarf_child(parent, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_call_site || tag == DW_TAG_GNU_call_site) {
			Dwarf_Attribute a;
			Dwarf_Addr ret;
			if ((dwarf_attr(&child, DW_AT_call_return_pc, &a) ||
			     dwarf_attr(&child, DW_AT_low_pc, &a)) &&
			    dwarf_formaddr(&a, &ret) == 0)
				out.push_back(ret);
		} else if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) {
			collect_call_sites(&child, out);
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

// Adds to OUT the CFA-relative memory of PARENT's variables and
// parameters (nested scopes too) whose locations start with DW_OP_fbreg,
// in any range of a location list; false when one's size is unknown.
bool collect_variable_memory(Dwarf_Die *parent, std::vector<std::pair<int64_t, int64_t>> &out)
{
	Dwarf_Die child;
	if (dwarf_child(parent, &child) != 0)
		return true;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) {
			if (!collect_variable_memory(&child, out))
				return false;
			continue;
		}
		if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter)
			continue;
		Dwarf_Attribute loc;
		if (!dwarf_attr_integrate(&child, DW_AT_location, &loc))
			continue;
		Dwarf_Addr base, start, end;
		Dwarf_Op *expr;
		size_t len;
		std::optional<Dwarf_Word> size;
		for (ptrdiff_t off = 0;
		     (off = dwarf_getlocations(&loc, off, &base, &start, &end, &expr, &len)) > 0;) {
			if (len == 0 || expr[0].atom != DW_OP_fbreg)
				continue;
			if (!size) {
				Dwarf_Attribute ta;
				Dwarf_Die type;
				Dwarf_Word n;
				if (!dwarf_attr_integrate(&child, DW_AT_type, &ta)) {
					// gcc gives the plugin's values in an inlined
					// body no type and no origin: scalars.
					n = 16;
				} else if (!dwarf_formref_die(&ta, &type) ||
					   dwarf_aggregate_size(&type, &n) != 0) {
					return false;  // a VLA
				}
				size = n;
			}
			// A piece or a deref after the fbreg: the slot holds part of
			// the value or a pointer; at least 8 bytes either way.
			int64_t at = int64_t(expr[0].number);
			out.push_back({at, at + int64_t(std::max<Dwarf_Word>(*size, 8))});
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return true;
}

bool takes_varargs(Dwarf_Die *subprogram)
{
	Dwarf_Die child;
	if (dwarf_child(subprogram, &child) != 0)
		return false;
	do
		if (dwarf_tag(&child) == DW_TAG_unspecified_parameters)
			return true;
	while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

void collect_subprograms(Dwarf_Die *parent, Dwarf_Off cu, std::vector<DwarfFunction> &out)
{
	Dwarf_Die child;
	if (dwarf_child(parent, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
		    tag == DW_TAG_structure_type) {
			collect_subprograms(&child, cu, out);
			continue;
		}
		if (tag != DW_TAG_subprogram)
			continue;
		Dwarf_Addr low, high;
		bool split = false;
		if (dwarf_lowpc(&child, &low) != 0 || dwarf_highpc(&child, &high) != 0) {
			// Several ranges: keep the first (the entry), flag the rest.
			Dwarf_Addr base, start, end;
			ptrdiff_t off = dwarf_ranges(&child, 0, &base, &start, &end);
			if (off <= 0)
				continue;  // a declaration or an inline-only instance
			low = start;
			high = end;
			split = dwarf_ranges(&child, off, &base, &start, &end) > 0;
		}
		DwarfFunction d;
		d.split = split;
		const char *name = dwarf_diename(&child);
		d.f.name = name ? name : "";
		d.f.low = low;
		d.f.high = high;
		d.f.has_debug_info = true;
		d.f.variadic = takes_varargs(&child);
		{
			// The return type, typedefs and qualifiers peeled off.
			Dwarf_Attribute a;
			Dwarf_Die type, t;
			Dwarf_Word size;
			if (dwarf_attr_integrate(&child, DW_AT_type, &a) &&
			    dwarf_formref_die(&a, &type) && dwarf_peel_type(&type, &t) == 0 &&
			    (dwarf_tag(&t) == DW_TAG_structure_type ||
			     dwarf_tag(&t) == DW_TAG_union_type) &&
			    dwarf_aggregate_size(&t, &size) == 0)
				d.f.returns_in_memory = size > 16;
		}
		const char *file = dwarf_decl_file(&child);
		d.f.file = file ? file : "";
		dwarf_decl_line(&child, &d.f.line);
		d.die = dwarf_dieoffset(&child);
		d.cu = cu;
		collect_call_sites(&child, d.dwarf_return_pcs);
		std::vector<std::pair<int64_t, int64_t>> memory;
		if (collect_variable_memory(&child, memory))
			d.f.variable_memory = std::move(memory);
		out.push_back(std::move(d));
	} while (dwarf_siblingof(&child, &child) == 0);
}

Result<std::vector<DwarfFunction>> read_dwarf(Program::Impl &p)
{
	std::vector<DwarfFunction> out;
	Dwarf_CU *cu = nullptr;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	while (dwarf_get_units(p.dwarf.get(), cu, &cu, &version, &unit_type, &cudie,
			       &subdie) == 0) {
		if (dwarf_tag(&cudie) != DW_TAG_compile_unit)
			continue;
		Program::Unit u;
		const char *name = dwarf_diename(&cudie);
		u.name = name ? name : "";
		Dwarf_Attribute a;
		if (dwarf_attr(&cudie, DW_AT_producer, &a))
			if (const char *s = dwarf_formstring(&a))
				u.producer = s;
		if (p.producer.empty())
			p.producer = u.producer;
		p.units.push_back(std::move(u));
		collect_subprograms(&cudie, dwarf_dieoffset(&cudie), out);
	}
	return out;
}

// Function symbols by address; a global name is preferred to a local alias.
std::map<uint64_t, std::string> function_symbols(const Program::Impl &p)
{
	std::map<uint64_t, std::pair<std::string, bool>> best;  // name, local
	for (const auto &s : p.symbols) {
		if (!s.function)
			continue;
		auto it = best.find(s.value);
		if (it == best.end() || (it->second.second && !s.local))
			best[s.value] = {s.name, s.local};
	}
	std::map<uint64_t, std::string> out;
	for (auto &[addr, v] : best)
		out[addr] = v.first;
	return out;
}

void line_of(Dwarf *dw, Dwarf_Off cu, uint64_t addr, CallSite &site)
{
	Dwarf_Die cudie;
	if (!dwarf_offdie(dw, cu, &cudie))
		return;
	Dwarf_Line *line = dwarf_getsrc_die(&cudie, addr);
	if (!line)
		return;
	if (const char *src = dwarf_linesrc(line, nullptr, nullptr))
		site.file = src;
	dwarf_lineno(line, &site.line);
	dwarf_linecol(line, &site.column);
}

// Calls of one decoded function; the address of the call whose return
// address DWARF gives otherwise.
// x86_64 gcc without -maccumulate-outgoing-args pushes stack arguments
// right before the call.
void add_calls(const Program::Impl &p, const std::map<uint64_t, std::string> &names,
	       DwarfFunction &d, const std::vector<Insn> *insns, uint64_t prologue_end)
{
	std::vector<std::pair<uint64_t, uint64_t>> calls;  // call, return
	std::map<uint64_t, std::string> callees;
	std::map<uint64_t, bool> pushed;
	if (insns) {
		bool pushes = false;
		for (const auto &in : *insns) {
			if (in.push && in.address >= prologue_end)
				pushes = true;
			if (in.flow != Insn::Flow::call && in.flow != Insn::Flow::call_indirect)
				continue;
			pushed[in.address] = pushes;
			pushes = false;
			calls.push_back({in.address, in.address + in.length});
			if (in.flow == Insn::Flow::call) {
				auto it = names.find(in.target);
				callees[in.address] = it == names.end() ? "" : it->second;
			}
		}
	} else {
		// Without decoding, the call instruction's length is the ISA's
		// usual one: 5 (call rel32) on x86_64, 4 on aarch64.
		unsigned len = p.isa == Isa::x86_64 ? 5 : 4;
		for (uint64_t ret : d.dwarf_return_pcs)
			calls.push_back({ret - len, ret});
	}
	std::map<std::string, int> seen;
	for (auto [call, ret] : calls) {
		CallSite s;
		s.call_address = call;
		s.return_address = ret;
		s.callee = callees.count(call) ? callees[call] : "";
		s.pushed_arguments = pushed[call];
		line_of(p.dwarf.get(), d.cu, call, s);
		// The entry hook is called once, in the prologue, whatever line
		// the scheduler leaves it on (at -O2 the two ISAs' line tables
		// give it different lines): its key is the function's entry.
		std::string base = s.callee == "__cyg_profile_func_enter"
					   ? strf("%s|%s|entry", d.f.name.c_str(), s.callee.c_str())
					   : strf("%s|%s|%d:%d", d.f.name.c_str(), s.callee.c_str(),
						  s.line, s.column);
		s.key = strf("%s|%d", base.c_str(), seen[base]++);
		d.f.calls.push_back(std::move(s));
	}
}

} // namespace

Result<void> read_functions(Program::Impl &p)
{
	std::vector<DwarfFunction> dfs;
	if (p.dwarf) {
		auto r = read_dwarf(p);
		if (!r)
			return std::unexpected(r.error());
		dfs = std::move(*r);
	}
	// ld --gc-sections drops unreferenced functions but keeps their DWARF,
	// with the address of the dropped section as 0 (the linker's
	// tombstone): a function that starts below every loaded segment is
	// not in the program at all.
	uint64_t lowest = UINT64_MAX;
	for (const auto &s : p.segments)
		lowest = std::min(lowest, s.vaddr);
	std::erase_if(dfs, [lowest](const DwarfFunction &d) { return d.f.low < lowest; });
	std::sort(dfs.begin(), dfs.end(),
		  [](const auto &a, const auto &b) { return a.f.low < b.f.low; });

	auto names = function_symbols(p);
	for (auto &d : dfs) {
		auto code = load_bytes(p, d.f.low, d.f.high - d.f.low);
		uint64_t bad = 0;
		std::optional<std::vector<Insn>> insns;
		if (d.split)
			d.f.why_not_decoded = "function in several pieces (hot/cold split)";
		else if (code.empty())
			d.f.why_not_decoded = "code not in a PT_LOAD segment";
		else if (!(insns = decode_function(p.isa, code, d.f.low, &bad)))
			d.f.why_not_decoded = strf("instruction at %#lx not understood",
						   (unsigned long)bad);
		d.f.decoded = insns.has_value();
		if (insns)
			resolve_jump_tables(p.isa, *insns, code, d.f.low, [&p](uint64_t a, unsigned n) {
				return read_only_word(p, a, n);
			});
		uint64_t prologue_end = insns ? decode_prologue(p.isa, *insns, code, d.f.low).end : 0;
		add_calls(p, names, d, insns ? &*insns : nullptr, prologue_end);
		std::vector<uint64_t> call_addrs;
		for (const auto &c : d.f.calls)
			call_addrs.push_back(c.call_address);
		if (insns) {
			std::vector<std::vector<std::pair<unsigned, int64_t>>> saved;
			d.f.frame = frame_layout(p.isa, p.cfi.get(), *insns, code, d.f.low,
						 call_addrs, &saved);
			if (saved.size() == d.f.calls.size())
				for (size_t i = 0; i < saved.size(); i++)
					d.f.calls[i].saved_registers = std::move(saved[i]);
			compute_liveness(p.isa, *insns, d.f);
			compute_dead_slots(p.isa, *insns, code, d.f.low, d.f);
			compute_constant_registers(
				p.isa, *insns, code, d.f.low,
				[&p](uint64_t a, unsigned n) { return read_only_word(p, a, n); },
				d.f);
		} else {
			d.f.frame.why_unknown = d.f.why_not_decoded;
		}
	}

	// Symbol-table functions DWARF does not describe (libc, assembler).
	std::vector<Function> plain;
	for (const auto &s : p.symbols) {
		if (!s.function || s.size == 0)
			continue;
		bool covered = std::any_of(dfs.begin(), dfs.end(), [&](const auto &d) {
			return s.value >= d.f.low && s.value < d.f.high;
		});
		bool dup = std::any_of(plain.begin(), plain.end(),
				       [&](const auto &f) { return f.low == s.value; });
		if (covered || dup)
			continue;
		Function f;
		f.name = s.name;
		f.low = s.value;
		f.high = s.value + s.size;
		f.frame.why_unknown = "no debug info";
		plain.push_back(std::move(f));
	}

	for (auto &d : dfs) {
		p.functions.push_back(std::move(d.f));
		p.die_offsets.push_back(d.die);
	}
	for (auto &f : plain) {
		p.functions.push_back(std::move(f));
		p.die_offsets.push_back(~Dwarf_Off(0));
	}
	// Sort both together by address.
	std::vector<size_t> order(p.functions.size());
	for (size_t i = 0; i < order.size(); i++)
		order[i] = i;
	std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
		return p.functions[a].low < p.functions[b].low;
	});
	std::vector<Function> fs;
	std::vector<Dwarf_Off> offs;
	for (size_t i : order) {
		fs.push_back(std::move(p.functions[i]));
		offs.push_back(p.die_offsets[i]);
	}
	p.functions = std::move(fs);
	p.die_offsets = std::move(offs);
	for (size_t i = 0; i < p.functions.size(); i++) {
		const Function &f = p.functions[i];
		auto it = p.by_name.find(f.name);
		if (it == p.by_name.end() ||
		    (f.has_debug_info && !p.functions[it->second].has_debug_info))
			p.by_name[f.name] = i;
	}
	for (const auto &f : p.functions)
		for (const auto &c : f.calls) {
			p.by_return[c.return_address] = &c;
			p.by_key[c.key] = &c;
		}
	return {};
}

} // namespace hetmig::program
