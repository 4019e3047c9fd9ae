// SPDX-License-Identifier: GPL-2.0
#include "convert/frames.h"

#include <cerrno>

namespace hetmig::convert {

namespace {

// A real stack is far shallower; this bounds a corrupted fp chain.
constexpr size_t kMaxFrames = 100000;

std::string where(const program::Function &fn)
{
	return strf("%s (%s:%d)", fn.name.c_str(), fn.file.c_str(), fn.line);
}

} // namespace

bool in_thread_start(const program::Program &prog, uint64_t pc)
{
	// A thread moved once returns to the runtime's __hetmig_thread_return
	// instead of musl's start: its return address is that entry itself.
	if (auto back = prog.symbol("__hetmig_thread_return"); back && *back == pc)
		return true;
	const program::Function *fn = prog.function_at(pc);
	return fn && !fn->has_debug_info && (fn->name == "start" || fn->name == "start_c11");
}

Result<std::vector<Frame>> parked_frames(const program::Program &prog, const ParkState &park,
					 const WordReader &read_u64, bool thread)
{
	std::vector<Frame> frames;
	uint64_t pc = park.ra, sp = park.cfa, fp = park.fp;
	for (;;) {
		if (frames.size() >= kMaxFrames)
			return fail(ELOOP, "the stack has no end (corrupted frame chain?)");
		const program::Function *fn = prog.function_at(pc);
		if (!fn)
			return fail(ENOENT, strf("no function of %s contains 0x%llx",
						 prog.path().c_str(), (unsigned long long)pc));
		if (!fn->has_debug_info)
			return fail(ENOTSUP, strf("%s has no debug information: a frame of it "
						  "cannot be converted", fn->name.c_str()));
		if (!fn->frame.known)
			return fail(ENOTSUP, strf("frame of %s: %s", where(*fn).c_str(),
						  fn->frame.why_unknown.c_str()));
		if (fn->frame.dynamic)
			return fail(ENOTSUP, strf("frame of %s has a variable size (alloca or "
						  "a VLA)", where(*fn).c_str()));
		const program::CallSite *site = prog.call_site_returning_to(pc);
		if (!site)
			return fail(ENOENT, strf("0x%llx in %s is not after a call",
						 (unsigned long long)pc, where(*fn).c_str()));
		Frame f{fn, site, fp + fn->frame.cfa_minus_fp, fp, sp, pc};
		// The recorded sp and the layout must agree, or the layout (or
		// the stack) is not what we think it is.
		if (f.cfa - fn->frame.cfa_minus_sp != sp)
			return fail(EPROTO, strf("frame of %s: sp 0x%llx, but its layout puts "
						 "it at 0x%llx", where(*fn).c_str(),
						 (unsigned long long)sp,
						 (unsigned long long)(f.cfa - fn->frame.cfa_minus_sp)));
		frames.push_back(f);
		if (fn->name == "main")
			return frames;
		auto ra = read_u64(f.cfa + fn->frame.saved_ra_at);
		auto saved_fp = read_u64(f.cfa + fn->frame.saved_fp_at);
		if (!ra)
			return std::unexpected(ra.error());
		if (!saved_fp)
			return std::unexpected(saved_fp.error());
		if (thread && in_thread_start(prog, *ra))
			return frames;
		// The caller's sp at its call is this frame's CFA, on both ISAs.
		pc = *ra;
		sp = f.cfa;
		fp = *saved_fp;
	}
}

Result<uint64_t> variable_address(const program::Variable &v, uint64_t cfa, uint64_t fp,
				  unsigned fp_reg, const std::string &where)
{
	using K = program::Location::Kind;
	switch (v.location.kind) {
	case K::cfa_offset:
		return cfa + uint64_t(v.location.offset);
	case K::reg_offset:
		if (v.location.reg == fp_reg)
			return fp + uint64_t(v.location.offset);
		break;
	case K::optimized_out:
		return fail(ENOTSUP, strf("%s: %s is optimized out here", where.c_str(),
					  v.name.c_str()));
	default:
		break;
	}
	return fail(ENOTSUP, strf("%s: %s lives where the converter cannot follow it (%s)",
				  where.c_str(), v.name.c_str(),
				  v.location.why.empty() ? "a register" : v.location.why.c_str()));
}

} // namespace hetmig::convert
