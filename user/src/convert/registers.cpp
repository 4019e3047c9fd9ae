// SPDX-License-Identifier: GPL-2.0
#include "convert/registers.h"
#include "program/insn.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <elf.h>

#include "hetmig.h"

namespace hetmig::convert {

using program::Isa;

const std::vector<unsigned> &resume_registers(Isa isa)
{
	static const std::vector<unsigned> x86_64 = {3, 12, 13, 14, 15};
	static const std::vector<unsigned> aarch64 = {19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
						      72, 73, 74, 75, 76, 77, 78, 79};
	static_assert(HETMIG_RESUME_REGS == 18);
	return isa == Isa::x86_64 ? x86_64 : aarch64;
}

RegisterHomes::RegisterHomes(Isa isa)
	: fp_reg_(isa == Isa::x86_64 ? 6 : 29), ra_reg_(isa == Isa::x86_64 ? 16 : 30)
{
}

RegisterHome RegisterHomes::home(unsigned reg) const
{
	auto it = slots_.find(reg);
	if (it == slots_.end())
		return {};
	return {false, it->second};
}

void RegisterHomes::saved_by(const program::CallSite &site, uint64_t cfa)
{
	// The frame pointer and return address are rebuilt as the frame chain;
	// a saved register's slot now holds the caller's value, which an
	// outer frame's variable may be.
	for (const auto &[reg, offset] : site.saved_registers)
		if (reg != fp_reg_ && reg != ra_reg_)
			slots_[reg] = cfa + uint64_t(offset);
}

Result<uint64_t> parked_register(Isa isa, const ThreadState &thread, unsigned reg)
{
	auto regset = [&](uint32_t note, size_t offset) -> Result<uint64_t> {
		auto it = thread.regsets.find(note);
		if (it == thread.regsets.end() || it->second.size() < offset + 8)
			return fail(EPROTO, strf("the image has no register set %u with %s",
						 note, program::register_name(isa, reg)));
		uint64_t v;
		std::memcpy(&v, it->second.data() + offset, 8);
		return v;
	};
	if (isa == Isa::x86_64) {
		// struct user_regs_struct: r15 r14 r13 r12 rbp rbx ...
		switch (reg) {
		case 15: return regset(NT_PRSTATUS, 0);
		case 14: return regset(NT_PRSTATUS, 8);
		case 13: return regset(NT_PRSTATUS, 16);
		case 12: return regset(NT_PRSTATUS, 24);
		case 3: return regset(NT_PRSTATUS, 40);
		}
	} else if (reg >= 19 && reg <= 28) {
		return regset(NT_PRSTATUS, 8 * reg);  // struct user_pt_regs: x0..x30
	} else if (reg >= 72 && reg <= 79) {
		// struct user_fpsimd_state: 128-bit v0..v31; d8-d15 are the low
		// halves of v8-v15.
		return regset(NT_PRFPREG, 16 * (reg - 64));
	}
	return fail(ENOTSUP, strf("%s is not a callee-saved register the converter carries",
				  program::register_name(isa, reg)));
}

std::optional<std::string> park_clobbers_registers(const program::Program &build)
{
	const program::Function *park = build.function_named("__hetmig_park");
	if (!park)
		return build.path() + " has no __hetmig_park";
	// __hetmig_park and the runtime functions it calls (the raw nanosleep)
	// are where the thread is when frozen.
	std::vector<const program::Function *> frames = {park};
	for (const auto &c : park->calls)
		if (const program::Function *f = build.function_named(c.callee);
		    f && f->has_debug_info)
			frames.push_back(f);
	for (const auto *f : frames) {
		// The raw nanosleep is a leaf without a frame record on aarch64:
		// its CFI, not its frame layout, says what it saves.
		auto saved = build.registers_saved_in(*f);
		if (!saved)
			return strf("%s: %s", f->name.c_str(), saved.error().describe().c_str());
		if (!saved->empty())
			return strf("%s saves %s: the parked thread's registers are not its "
				    "caller's", f->name.c_str(),
				    program::register_name(build.isa(), saved->front()));
	}
	return std::nullopt;
}

} // namespace hetmig::convert
