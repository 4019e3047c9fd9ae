// SPDX-License-Identifier: GPL-2.0
#include "advice.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include "inject.h"

namespace hetmig {

namespace {

struct Advice {
	uint32_t flag;
	int advice;
	const char *name;
};

// MADV_WIPEONFORK, MADV_HUGEPAGE: in every kernel we load on.
constexpr Advice kAdvice[] = {
	{HETMIG_VMA_F_DONTFORK, MADV_DONTFORK, "MADV_DONTFORK"},
	{HETMIG_VMA_F_SEQ_READ, MADV_SEQUENTIAL, "MADV_SEQUENTIAL"},
	{HETMIG_VMA_F_RAND_READ, MADV_RANDOM, "MADV_RANDOM"},
	{HETMIG_VMA_F_DONTDUMP, MADV_DONTDUMP, "MADV_DONTDUMP"},
	{HETMIG_VMA_F_MERGEABLE, MADV_MERGEABLE, "MADV_MERGEABLE"},
	{HETMIG_VMA_F_HUGEPAGE, MADV_HUGEPAGE, "MADV_HUGEPAGE"},
	{HETMIG_VMA_F_NOHUGEPAGE, MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"},
	{HETMIG_VMA_F_WIPEONFORK, MADV_WIPEONFORK, "MADV_WIPEONFORK"},
};

} // namespace

Result<void> restore_advice(pid_t pid, const Image &img)
{
	std::optional<RemoteSyscalls> calls;
	for (const Mapping &m : img.mappings) {
		// The kernel's own (vdso, vvar) are not the process's to advise.
		if (m.kind == HETMIG_VMA_SPECIAL)
			continue;
		auto call = [&](long nr, uint64_t arg, const char *name) -> Result<void> {
			if (!calls) {
				auto in = RemoteSyscalls::in(pid, pid);
				if (!in)
					return std::unexpected(in.error());
				calls.emplace(std::move(*in));
			}
			std::array<uint64_t, 6> args = {m.start, m.end - m.start, arg};
			auto r = calls->call(nr, args);
			if (!r)
				return std::unexpected(r.error());
			if (*r < 0)
				return fail(int(-*r), strf("%s of process %d's mapping %s", name, pid,
							   maps_line(m).c_str()));
			return {};
		};
		for (const Advice &a : kAdvice)
			if (m.flags & a.flag)
				if (auto r = call(SYS_madvise, uint64_t(a.advice), a.name); !r)
					return r;
		if (m.flags & HETMIG_VMA_F_LOCKED)
			if (auto r = call(SYS_mlock, 0, "mlock"); !r)
				return r;
	}
	return {};
}

} // namespace hetmig
