// SPDX-License-Identifier: GPL-2.0
// Types from DWARF: spelling, size, pointer offsets and the values that
// differ between x86_64 and aarch64 (long double, va_list).
#include "types.h"

#include <dwarf.h>

#include <cstring>

#include "error.h"

namespace hetmig::program {

namespace {

constexpr int kMaxDepth = 32;

bool type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	return dwarf_attr_integrate(die, DW_AT_type, &a) && dwarf_formref_die(&a, out);
}

std::string name_of(Dwarf_Die *die, int depth)
{
	if (depth > kMaxDepth)
		return "?";
	const char *n = dwarf_diename(die);
	std::string name = n ? n : "";
	Dwarf_Die inner;
	bool has_inner = type_of(die, &inner);
	auto of_inner = [&] { return has_inner ? name_of(&inner, depth + 1) : std::string("void"); };
	switch (dwarf_tag(die)) {
	case DW_TAG_base_type:
	case DW_TAG_typedef:
		return name;
	case DW_TAG_structure_type:
		return "struct " + (name.empty() ? "<anonymous>" : name);
	case DW_TAG_union_type:
		return "union " + (name.empty() ? "<anonymous>" : name);
	case DW_TAG_enumeration_type:
		return "enum " + (name.empty() ? "<anonymous>" : name);
	case DW_TAG_pointer_type:
		if (has_inner && dwarf_tag(&inner) == DW_TAG_subroutine_type)
			return name_of(&inner, depth + 1) + " (*)()";
		return of_inner() + " *";
	case DW_TAG_const_type:
		return "const " + of_inner();
	case DW_TAG_volatile_type:
		return "volatile " + of_inner();
	case DW_TAG_restrict_type:
		return of_inner() + " restrict";
	case DW_TAG_atomic_type:
		return "_Atomic " + of_inner();
	case DW_TAG_subroutine_type:
		return of_inner();
	case DW_TAG_array_type: {
		std::string dims;
		Dwarf_Die sub;
		if (dwarf_child(die, &sub) == 0) {
			do {
				Dwarf_Word count;
				Dwarf_Attribute a;
				if (dwarf_attr(&sub, DW_AT_count, &a) && dwarf_formudata(&a, &count) == 0)
					dims += strf("[%lu]", (unsigned long)count);
				else if (dwarf_attr(&sub, DW_AT_upper_bound, &a) &&
					 dwarf_formudata(&a, &count) == 0)
					dims += strf("[%lu]", (unsigned long)count + 1);
				else
					dims += "[]";
			} while (dwarf_siblingof(&sub, &sub) == 0);
		}
		return of_inner() + dims;
	}
	}
	return name.empty() ? "?" : name;
}

bool is_va_list_name(const std::string &n)
{
	return n == "va_list" || n == "__builtin_va_list" || n == "__gnuc_va_list" ||
	       n == "__isoc_va_list" || n == "__va_list_tag" || n == "__va_list";
}

struct Walk {
	std::vector<uint64_t> offsets;
	std::string unsupported;
};

// Adds the pointer offsets of an object of type `die` at `base`.
void walk(Dwarf_Die *die, uint64_t base, int depth, Walk &w)
{
	if (!w.unsupported.empty())
		return;
	if (depth > kMaxDepth) {
		w.unsupported = "type nested too deeply";
		return;
	}
	const char *n = dwarf_diename(die);
	std::string name = n ? n : "";
	Dwarf_Die inner;
	switch (dwarf_tag(die)) {
	case DW_TAG_typedef:
		if (is_va_list_name(name)) {
			w.unsupported = "va_list (24 bytes on x86_64, 32 on aarch64)";
			return;
		}
		[[fallthrough]];
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		if (type_of(die, &inner))
			walk(&inner, base, depth + 1, w);
		return;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		// A va_list parameter on x86_64 is a pointer to __va_list_tag.
		if (type_of(die, &inner) && dwarf_diename(&inner) &&
		    is_va_list_name(dwarf_diename(&inner))) {
			w.unsupported = "va_list (24 bytes on x86_64, 32 on aarch64)";
			return;
		}
		w.offsets.push_back(base);
		return;
	case DW_TAG_base_type: {
		Dwarf_Attribute a;
		Dwarf_Word enc = 0, size = 0;
		if (dwarf_attr(die, DW_AT_encoding, &a))
			dwarf_formudata(&a, &enc);
		if (dwarf_attr(die, DW_AT_byte_size, &a))
			dwarf_formudata(&a, &size);
		if (name.find("long double") != std::string::npos)
			w.unsupported = "long double (80-bit x87 on x86_64, binary128 on aarch64)";
		else if ((enc == DW_ATE_float && size > 8 && name != "_Float128" &&
			  name != "__float128") ||
			 (enc == DW_ATE_complex_float && size > 16))
			w.unsupported = name + " (representation differs between ISAs)";
		return;
	}
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type: {
		bool is_union = dwarf_tag(die) == DW_TAG_union_type;
		if (is_va_list_name(name)) {
			w.unsupported = "va_list (24 bytes on x86_64, 32 on aarch64)";
			return;
		}
		Dwarf_Die m;
		if (dwarf_child(die, &m) != 0)
			return;
		do {
			if (dwarf_tag(&m) != DW_TAG_member || !type_of(&m, &inner))
				continue;
			Dwarf_Attribute a;
			Dwarf_Word off = 0;
			if (dwarf_attr(&m, DW_AT_bit_size, &a))
				continue;  // a bit-field holds no pointer
			if (dwarf_attr(&m, DW_AT_data_member_location, &a) &&
			    dwarf_formudata(&a, &off) != 0) {
				w.unsupported = "member at a computed offset in " + name_of(die, 0);
				return;
			}
			Walk sub;
			walk(&inner, base + off, depth + 1, sub);
			if (!sub.unsupported.empty()) {
				w.unsupported = sub.unsupported;
				return;
			}
			if (is_union && !sub.offsets.empty()) {
				w.unsupported = name_of(die, 0) + " holds a pointer in a union";
				return;
			}
			w.offsets.insert(w.offsets.end(), sub.offsets.begin(), sub.offsets.end());
		} while (dwarf_siblingof(&m, &m) == 0);
		return;
	}
	case DW_TAG_array_type: {
		if (!type_of(die, &inner))
			return;
		Dwarf_Word esize = 0;
		Walk elem;
		walk(&inner, 0, depth + 1, elem);
		if (!elem.unsupported.empty()) {
			w.unsupported = elem.unsupported;
			return;
		}
		if (elem.offsets.empty())
			return;
		Dwarf_Word total = 0;
		if (dwarf_aggregate_size(&inner, &esize) != 0 || esize == 0 ||
		    dwarf_aggregate_size(die, &total) != 0) {
			w.unsupported = "array of pointers of unknown size";
			return;
		}
		uint64_t count = total / esize;
		if (count * elem.offsets.size() + w.offsets.size() > kMaxPointerOffsets) {
			w.unsupported = strf("array with %lu pointers (more than %zu)",
					     (unsigned long)(count * elem.offsets.size()),
					     kMaxPointerOffsets);
			return;
		}
		for (uint64_t i = 0; i < count; i++)
			for (uint64_t o : elem.offsets)
				w.offsets.push_back(base + i * esize + o);
		return;
	}
	}
	// enums, subroutine types: no pointers
}

} // namespace

Type describe_type(Dwarf_Die *die)
{
	Type t;
	t.name = name_of(die, 0);
	Dwarf_Word size = 0;
	if (dwarf_aggregate_size(die, &size) == 0)
		t.size = size;
	else
		t.unsupported = "size unknown (variable-length array?)";
	Walk w;
	walk(die, 0, 0, w);
	t.pointer_offsets = std::move(w.offsets);
	if (t.unsupported.empty())
		t.unsupported = w.unsupported;
	return t;
}

} // namespace hetmig::program
