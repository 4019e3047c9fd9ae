// SPDX-License-Identifier: GPL-2.0
#include "kernel_vdso.h"

#include <cstdio>
#include <fstream>
#include <sys/utsname.h>
#include <unistd.h>

#include "capture.h"

namespace hetmig {

Result<std::pair<Region, Region>> own_vdso()
{
	std::ifstream maps("/proc/self/maps");
	Region vdso, vvar;
	for (std::string line; std::getline(maps, line);) {
		Region r;
		if (std::sscanf(line.c_str(), "%lx-%lx", &r.start, &r.end) != 2)
			continue;
		if (line.ends_with("[vdso]"))
			vdso = r;
		else if (line.ends_with("[vvar]"))
			vvar = r;
	}
	if (!vdso.start)
		return fail(ENOENT, "this process has no vdso");
	return std::pair{vdso, vvar};
}

Result<KernelVdso> this_kernel_vdso()
{
	auto own = own_vdso();
	if (!own)
		return std::unexpected(own.error());
	auto [vdso, vvar] = *own;
	auto digest = memory_digest(getpid(), vdso.start, vdso.end - vdso.start);
	if (!digest)
		return std::unexpected(digest.error());
	KernelVdso k;
	utsname uts;
	if (uname(&uts) == 0)
		k.release = uts.release;
	k.vdso_size = vdso.end - vdso.start;
	k.vvar_size = vvar.end - vvar.start;
	k.digest = *digest;
	return k;
}

KernelVdso kernel_vdso_of(const Image &img)
{
	return {img.kernel_release, img.vdso_size, img.vvar_size, img.vdso_digest};
}

Result<void> check_same_vdso(const KernelVdso &source, const KernelVdso &here)
{
	if (source.vdso_size == here.vdso_size && source.vvar_size == here.vvar_size &&
	    source.digest == here.digest)
		return {};
	auto name = [](const std::string &r) { return r.empty() ? std::string("unknown") : r; };
	std::string src = name(source.release);
	if (source.release == here.release)
		src += ", the same release but another build";
	return fail(EXDEV, strf("the destination's kernel (%s) has another vdso than the "
				"source's (%s): a process moves only between machines on the "
				"same kernel build", name(here.release).c_str(), src.c_str()));
}

std::string kernel_vdso_text(const KernelVdso &k)
{
	return strf("%s %llu %llu %s", k.digest.c_str(), (unsigned long long)k.vdso_size,
		    (unsigned long long)k.vvar_size, k.release.c_str());
}

Result<KernelVdso> parse_kernel_vdso(const std::string &text)
{
	KernelVdso k;
	char digest[129];
	unsigned long long vdso = 0, vvar = 0;
	int release_at = -1;
	if (std::sscanf(text.c_str(), "%128[0-9a-f] %llu %llu %n", digest, &vdso, &vvar,
			&release_at) != 3 || release_at < 0)
		return fail(EBADMSG, "the sender's description of its kernel is malformed");
	k.digest = digest;
	k.vdso_size = vdso;
	k.vvar_size = vvar;
	k.release = text.substr(size_t(release_at));
	return k;
}

} // namespace hetmig
