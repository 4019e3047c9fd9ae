// SPDX-License-Identifier: GPL-2.0
// Program: opens one build with libelf/libdw and answers lookups on it.
#include "program.h"

#include <fcntl.h>
#include <xxhash.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "frame_layout.h"
#include "impl.h"

namespace hetmig::program {

const char *isa_name(Isa isa)
{
	return isa == Isa::x86_64 ? "x86_64" : "aarch64";
}

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Program::~Program() = default;
Program::Program(Program &&) noexcept = default;
Program &Program::operator=(Program &&) noexcept = default;

namespace {

// A parameter a function finds at or above its CFA on entry came on the
// stack, in its caller's outgoing area; a call of such a function passes
// arguments there. Read at the entry: gcc -O1+ on x86_64 ends the location
// list of a stack parameter once the frame pointer is set (measured), and
// the verifier then refuses the function's sites, not its callers'.
void mark_stack_arguments(Program &prog, Program::Impl &p)
{
	for (auto &f : p.functions) {
		if (!f.has_debug_info)
			continue;
		auto vars = prog.variables_at(f.low);
		if (!vars)
			continue;
		for (const auto &v : *vars)
			if (v.parameter && v.location.kind == Location::Kind::cfa_offset &&
			    v.location.offset >= 0)
				f.stack_parameters.push_back({v.name, v.location.offset});
	}
	for (auto &f : p.functions)
		for (auto &c : f.calls) {
			const Function *callee = c.callee.empty() ? nullptr
								  : prog.function_named(c.callee);
			if (callee && !callee->stack_parameters.empty())
				c.stack_arguments = true;
		}
}

} // namespace

namespace {

Result<std::unique_ptr<Program::Impl>> open_tables(const std::string &path)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail(EINVAL, strf("elf_version: %s", elf_errmsg(-1)));
	auto p = std::make_unique<Program::Impl>();
	p->path = path;
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, strf("open %s", path.c_str()));
	p->fd.reset(new int(fd));
	p->elf.reset(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
	if (!p->elf)
		return fail(EINVAL, strf("%s: elf_begin: %s", path.c_str(), elf_errmsg(-1)));
	if (elf_kind(p->elf.get()) != ELF_K_ELF)
		return fail(ENOEXEC, strf("%s: not an ELF file", path.c_str()));
	if (auto r = read_elf_tables(*p); !r)
		return std::unexpected(r.error());
	return p;
}

} // namespace

Result<Program> Program::open_elf(const std::string &path)
{
	auto p = open_tables(path);
	if (!p)
		return std::unexpected(p.error());
	return Program(std::move(*p));
}

Result<Program> Program::open(const std::string &path)
{
	auto opened = open_tables(path);
	if (!opened)
		return std::unexpected(opened.error());
	auto p = std::move(*opened);
	// Without DWARF (a stripped or foreign binary) the program still has
	// symbols and segments; every function is then without debug info.
	p->dwarf.reset(dwarf_begin_elf(p->elf.get(), DWARF_C_READ, nullptr));
	p->cfi.reset(dwarf_getcfi_elf(p->elf.get()));
	if (auto r = read_functions(*p); !r)
		return std::unexpected(r.error());
	Program prog(std::move(p));
	mark_stack_arguments(prog, *prog.impl_);
	return prog;
}

const std::string &Program::path() const { return impl_->path; }
Isa Program::isa() const { return impl_->isa; }
const std::string &Program::pair_id() const { return impl_->pair_id; }
Result<std::string> Program::file_digest() const
{
	// XXH64, not a vector hash: under TCG (the test bed's guests) BLAKE2b
	// and XXH3 run their SIMD code 10 to 100 times slower, and digesting a
	// large build with BLAKE2b cost more than the check it stands for.
	using State = std::unique_ptr<XXH64_state_t, decltype(&XXH64_freeState)>;
	State st(XXH64_createState(), XXH64_freeState);
	if (!st || XXH64_reset(st.get(), 0) == XXH_ERROR)
		return fail(ENOMEM, "XXH64_createState");
	std::vector<unsigned char> buf(1 << 16);
	off_t at = 0;
	for (;;) {
		ssize_t n = pread(*impl_->fd, buf.data(), buf.size(), at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(errno, strf("reading %s", impl_->path.c_str()));
		if (n == 0)
			break;
		XXH64_update(st.get(), buf.data(), size_t(n));
		at += n;
	}
	return strf("%016llx-%llx", (unsigned long long)XXH64_digest(st.get()),
		    (unsigned long long)at);
}

const std::string &Program::producer() const { return impl_->producer; }
const std::vector<Program::Unit> &Program::units() const { return impl_->units; }
const std::vector<Function> &Program::functions() const { return impl_->functions; }
const std::vector<Program::Symbol> &Program::symbols() const { return impl_->symbols; }
std::optional<TlsInfo> Program::tls() const { return impl_->tls; }
const std::vector<Program::Segment> &Program::segments() const { return impl_->segments; }

const Function *Program::function_at(uint64_t pc) const
{
	const auto &fs = impl_->functions;
	auto it = std::upper_bound(fs.begin(), fs.end(), pc,
				   [](uint64_t v, const Function &f) { return v < f.low; });
	if (it == fs.begin())
		return nullptr;
	--it;
	return pc < it->high ? &*it : nullptr;
}

const Function *Program::function_named(const std::string &name) const
{
	auto it = impl_->by_name.find(name);
	return it == impl_->by_name.end() ? nullptr : &impl_->functions[it->second];
}

const CallSite *Program::call_site_returning_to(uint64_t return_address) const
{
	auto it = impl_->by_return.find(return_address);
	return it == impl_->by_return.end() ? nullptr : it->second;
}

const CallSite *Program::call_site_by_key(const std::string &key) const
{
	auto it = impl_->by_key.find(key);
	return it == impl_->by_key.end() ? nullptr : it->second;
}

Result<std::vector<unsigned>> Program::registers_saved_in(const Function &f) const
{
	if (!impl_->cfi)
		return fail(ENOENT, impl_->path + " has no .eh_frame");
	return callee_saved_anywhere(impl_->isa, impl_->cfi.get(), f.low, f.high);
}

namespace {

// hetmig.s.SITE.HASH[.dup].CALLEE, the plugin's saved values at -O1+
// (tools/hetmig_cc/plugin, "Saved values"): SITE is LINE.COL of the call,
// or "entry" for the entry hook.
struct SavedValue {
	std::string site, callee;
	bool dup = false;
};

std::optional<SavedValue> saved_value(const std::string &name)
{
	static const std::string prefix = "hetmig.s.";
	if (name.rfind(prefix, 0) != 0)
		return std::nullopt;
	std::string rest = name.substr(prefix.size());
	SavedValue out;
	size_t hash_at;
	if (rest.rfind("entry.", 0) == 0) {
		out.site = "entry";
		hash_at = 6;
	} else {
		size_t a = rest.find('.'), b = a == std::string::npos ? a : rest.find('.', a + 1);
		if (b == std::string::npos)
			return std::nullopt;
		out.site = rest.substr(0, b);
		hash_at = b + 1;
	}
	if (rest.size() < hash_at + 9 || rest[hash_at + 8] != '.')
		return std::nullopt;
	size_t callee_at = hash_at + 9;
	if (rest.compare(callee_at, 4, "dup.") == 0) {
		out.dup = true;
		callee_at += 4;
	}
	out.callee = rest.substr(callee_at);
	return out;
}

} // namespace

bool is_saved_value(const std::string &name)
{
	return saved_value(name).has_value();
}

namespace {

std::string site_name(const CallSite &c)
{
	if (c.callee == "__cyg_profile_func_enter")
		return "entry";
	return std::to_string(c.line) + "." + std::to_string(c.column);
}

// [low, high) relative to the CFA of a variable's memory, if it is in the
// frame.
std::optional<std::pair<int64_t, int64_t>> frame_bytes(const Variable &v, const Function &f,
						       Isa isa)
{
	const Location &l = v.location;
	unsigned fp = isa == Isa::x86_64 ? 6 : 29;
	if (l.kind == Location::Kind::cfa_offset)
		return std::make_pair(l.offset, l.offset + int64_t(v.type.size));
	if (l.kind == Location::Kind::reg_offset && l.reg == fp && f.frame.known) {
		int64_t at = l.offset - int64_t(f.frame.cfa_minus_fp);
		return std::make_pair(at, at + int64_t(v.type.size));
	}
	return std::nullopt;
}

// At a call site of an -O1+ build: a saved value of another call is stale
// here (nothing reads it after this call); one of a call the optimizer
// duplicated cannot be paired with the other build's; a variable whose
// memory is a saved value's slot is carried by that saved value.
void apply_saved_values(std::vector<Variable> &vars, const CallSite &site, const Function &f,
			Isa isa)
{
	std::string here = site_name(site);
	// The plugin names the callee as the source calls it; a call hetmig-cc
	// links to a wrapper of the runtime (pthread_cond_wait ->
	// __wrap_pthread_cond_wait, user/runtime/threads.c) is the same call.
	std::string callee = site.callee;
	if (callee.rfind("__wrap_", 0) == 0)
		callee.erase(0, 7);
	std::vector<std::pair<int64_t, int64_t>> slots;
	for (auto &v : vars) {
		auto sv = saved_value(v.name);
		if (!sv)
			continue;
		if (auto b = frame_bytes(v, f, isa))
			slots.push_back(*b);
		if (sv->site != here || sv->callee != callee) {
			v.location.kind = Location::Kind::optimized_out;
			v.location.why = "saved for another call";
		} else if (sv->dup) {
			v.location.kind = Location::Kind::unsupported;
			v.location.why = "saved at a call the optimizer duplicated, or with "
					 "another value alike";
		}
	}
	for (auto &v : vars) {
		if (saved_value(v.name))
			continue;
		auto b = frame_bytes(v, f, isa);
		if (!b)
			continue;
		for (const auto &[lo, hi] : slots)
			if (b->first < hi && lo < b->second) {
				v.location.kind = Location::Kind::optimized_out;
				v.location.why = "a copy of a saved value";
				break;
			}
	}
}

// A variable whose frame memory lies inside another's is that memory, and
// the other carries it: gcc -O2 describes the plugin's value of
// `size_of[b]` (b a constant there) as the array's element in FT's
// fft_dimension. Of two with the same bytes, the first carries them.
void mark_aliases(std::vector<Variable> &vars, const Function &f, Isa isa)
{
	std::vector<std::optional<std::pair<int64_t, int64_t>>> bytes;
	for (const auto &v : vars)
		bytes.push_back(frame_bytes(v, f, isa));
	for (size_t i = 0; i < vars.size(); i++) {
		if (!bytes[i] || bytes[i]->first == bytes[i]->second)
			continue;
		for (size_t k = 0; k < vars.size(); k++) {
			if (k == i || !bytes[k] || vars[k].dead ||
			    vars[k].location.kind == Location::Kind::derived_memory)
				continue;
			auto [lo, hi] = *bytes[k];
			bool inside = lo <= bytes[i]->first && bytes[i]->second <= hi;
			bool same = lo == bytes[i]->first && hi == bytes[i]->second;
			if (inside && (!same || k < i)) {
				vars[i].location.kind = Location::Kind::derived_memory;
				vars[i].location.why = "inside the memory of " + vars[k].name;
				break;
			}
		}
	}
}

} // namespace

namespace {

// What REG holds at SITE when the function's code sets it to the same
// value on every path (CallSite::constant_registers, frame_registers,
// thread_registers), or nullptr.
const char *site_set_register(const CallSite &site, unsigned reg)
{
	for (const auto &[r, value] : site.constant_registers)
		if (r == reg)
			return "a constant";
	for (const auto &[r, offset] : site.frame_registers)
		if (r == reg)
			return "an address in the frame";
	for (const auto &[r, offset] : site.thread_registers)
		if (r == reg)
			return "an address in the thread's area";
	return nullptr;
}

} // namespace

Result<std::vector<Variable>> Program::variables_at(uint64_t pc) const
{
	const Function *f = function_at(pc);
	if (!f || !f->has_debug_info)
		return fail(ENOENT, strf("%s: no function with debug info at %#lx",
					 impl_->path.c_str(), (unsigned long)pc));
	size_t index = size_t(f - impl_->functions.data());
	const CallSite *site = call_site_returning_to(pc);
	auto vars = variables_at_impl(*impl_, index, site ? pc - 1 : pc);
	if (!vars || !site)
		return vars;
	if (f->frame.return_buffer_slot || f->frame.return_buffer_register) {
		Variable r;
		r.name = "<return buffer>";
		r.parameter = true;
		if (f->frame.return_buffer_slot) {
			r.location.kind = Location::Kind::cfa_offset;
			r.location.offset = *f->frame.return_buffer_slot -
					    int64_t(f->frame.cfa_minus_fp);
		} else {
			r.location.kind = Location::Kind::reg;
			r.location.reg = *f->frame.return_buffer_register;
		}
		r.type.name = "void *";
		r.type.size = 8;
		r.type.pointer_offsets = {0};
		vars->push_back(std::move(r));
	}
	apply_saved_values(*vars, *site, *f, impl_->isa);
	if (!f->decoded)
		return vars;
	// At a call: a variable left in a register the code never reads again
	// is dead, whatever its location list still says.
	auto dead = [&](unsigned reg) {
		return std::find(site->dead_registers.begin(), site->dead_registers.end(), reg) !=
		       site->dead_registers.end();
	};
	// A register the call clobbers cannot be read after it either: the
	// code gets such a value from elsewhere if it needs it (gcc -O1+
	// leaves a variable's location in rdx or x1 up to the call).
	auto clobbered = [&](unsigned reg) { return !preserved_across_calls(impl_->isa, reg); };
	for (auto &v : *vars) {
		std::optional<unsigned> gone;
		bool by_call = false;
		auto check = [&](unsigned reg) {
			if (dead(reg))
				gone = reg;
			else if (clobbered(reg))
				gone = reg, by_call = true;
		};
		if (v.location.kind == Location::Kind::reg)
			check(v.location.reg);
		if (v.location.kind == Location::Kind::affine)
			for (const auto &[reg, sign] : v.location.terms)
				check(reg);
		if (!gone && !is_saved_value(v.name) && f->frame.known)
			if (auto b = frame_bytes(v, *f, impl_->isa)) {
				// frame_bytes is CFA-relative; dead_slots fp-relative.
				int64_t lo = b->first + int64_t(f->frame.cfa_minus_fp),
					hi = b->second + int64_t(f->frame.cfa_minus_fp);
				for (const auto &[slo, shi] : site->dead_slots)
					if (slo <= lo && hi <= shi) {
						v.dead = true;
						break;
					}
			}
		if (gone) {
			v.location.kind = Location::Kind::optimized_out;
			v.location.why = strf(by_call ? "%s is clobbered by the call"
						      : "%s is not read after the call",
					      register_name(impl_->isa, *gone));
		} else if (v.location.kind == Location::Kind::reg && v.type.size <= 8) {
			// A register the code sets to one value on every path here
			// (a constant, fp + N, tp + N) is written by the converter
			// from this site's own description: the variable in it is
			// computed, as if DWARF said so. gcc keeps `char *wp = word`
			// in x25 on aarch64 and says fbreg - 298 on x86_64.
			if (auto what = site_set_register(*site, v.location.reg)) {
				v.location.kind = Location::Kind::computed;
				v.location.why = strf("%s holds %s at the call",
						      register_name(impl_->isa, v.location.reg),
						      what);
			}
		}
	}
	mark_aliases(*vars, *f, impl_->isa);
	return vars;
}

std::vector<std::pair<int64_t, int64_t>> Program::undescribed_slots(uint64_t return_address) const
{
	std::vector<std::pair<int64_t, int64_t>> out;
	const CallSite *site = call_site_returning_to(return_address);
	const Function *f = function_at(return_address);
	if (!site || !f || !f->frame.known ||
	    (site->live_slots.empty() && site->taken_slots.empty()))
		return out;
	auto vars = variables_at(return_address);
	if (!vars)
		return out;
	int64_t to_fp = int64_t(f->frame.cfa_minus_fp);  // CFA + N is fp + N + this
	std::vector<std::pair<int64_t, int64_t>> known;
	for (const auto &v : *vars)
		if (auto b = frame_bytes(v, *f, impl_->isa))
			known.push_back({b->first + to_fp, b->second + to_fp});
	for (const auto &[reg, at] : site->saved_registers)
		known.push_back({at + to_fp, at + to_fp + 8});
	for (const auto &[at, value] : site->constant_slots)
		known.push_back({at, at + 8});
	for (const auto &[at, offset] : site->frame_address_slots)
		known.push_back({at, at + 8});
	known.push_back({f->frame.saved_fp_at + to_fp, f->frame.saved_fp_at + to_fp + 8});
	known.push_back({f->frame.saved_ra_at + to_fp, f->frame.saved_ra_at + to_fp + 8});
	// Objects of scopes the call is not in: their lifetime has ended or
	// not begun, and code entering their scope initialises them (C gives
	// a pointer into them no meaning outside it). The compiler's own
	// slots are never among them.
	std::vector<std::pair<int64_t, int64_t>> elsewhere;
	size_t index = size_t(f - impl_->functions.data());
	if (auto all = variables_at_impl(*impl_, index, return_address - 1, true))
		for (const auto &v : *all)
			if (auto b = frame_bytes(v, *f, impl_->isa))
				elsewhere.push_back({b->first + to_fp, b->second + to_fp});
	std::vector<std::pair<int64_t, int64_t>> slots = site->live_slots;
	slots.insert(slots.end(), site->taken_slots.begin(), site->taken_slots.end());
	for (const auto &[lo, hi] : slots) {
		if (std::any_of(elsewhere.begin(), elsewhere.end(), [&, lo = lo, hi = hi](const auto &k) {
			    return k.first <= lo && hi <= k.second;
		    }))
			continue;
		// Covered byte by byte (a pair store may span two saved registers).
		bool all = true;
		for (int64_t b = lo; b < hi && all; b++)
			all = std::any_of(known.begin(), known.end(), [&](const auto &k) {
				return k.first <= b && b < k.second;
			});
		if (!all)
			out.push_back({lo, hi});
	}
	return out;
}

std::optional<uint64_t> Program::symbol(const std::string &name) const
{
	for (const auto &s : impl_->symbols)
		if (s.name == name && !s.local)
			return s.value;
	for (const auto &s : impl_->symbols)
		if (s.name == name)
			return s.value;
	return std::nullopt;
}

std::vector<uint8_t> Program::initial_bytes(uint64_t address, uint64_t length) const
{
	return load_bytes(*impl_, address, length);
}

} // namespace hetmig::program
