// SPDX-License-Identifier: GPL-2.0
// The ELF side of a program: symbol table, PT_LOAD segments, PT_TLS and the
// .note.hetmig that ties the two builds of one program together.
#include <sys/mman.h>

#include <cstring>

#include "impl.h"

namespace hetmig::program {

namespace {

constexpr uint32_t kNoteHetmigPair = 1;  // tools/hetmig-cc writes this type

// Segment::prot is in mmap's terms (PF_X is 1, PROT_EXEC 4).
int prot_of(uint32_t p_flags)
{
	return ((p_flags & PF_R) ? PROT_READ : 0) | ((p_flags & PF_W) ? PROT_WRITE : 0) |
	       ((p_flags & PF_X) ? PROT_EXEC : 0);
}

std::string hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	std::string out;
	for (size_t i = 0; i < n; i++) {
		out += digits[p[i] >> 4];
		out += digits[p[i] & 15];
	}
	return out;
}

void read_note(Program::Impl &p, Elf_Data *data)
{
	GElf_Nhdr nhdr;
	size_t off = 0, name_off, desc_off;
	while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
		const char *name = static_cast<const char *>(data->d_buf) + name_off;
		if (nhdr.n_type != kNoteHetmigPair || nhdr.n_namesz != 7 ||
		    std::memcmp(name, "hetmig", 7) != 0 || nhdr.n_descsz < 16)
			continue;
		p.pair_id = hex(static_cast<const uint8_t *>(data->d_buf) + desc_off, 16);
	}
}

Result<void> read_symtab(Program::Impl &p, Elf_Scn *scn, const GElf_Shdr &shdr)
{
	Elf_Data *data = elf_getdata(scn, nullptr);
	if (!data)
		return fail(EINVAL, strf("elf_getdata(.symtab): %s", elf_errmsg(-1)));
	size_t n = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, int(i), &sym))
			return fail(EINVAL, strf("gelf_getsym: %s", elf_errmsg(-1)));
		int type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_OBJECT && type != STT_TLS &&
		    type != STT_NOTYPE)
			continue;
		const char *name = elf_strptr(p.elf.get(), shdr.sh_link, sym.st_name);
		if (!name || !*name || sym.st_shndx == SHN_UNDEF)
			continue;
		Program::Symbol s;
		s.name = name;
		s.value = sym.st_value;
		s.size = sym.st_size;
		s.function = type == STT_FUNC;
		s.tls = type == STT_TLS;
		s.local = GELF_ST_BIND(sym.st_info) == STB_LOCAL;
		p.symbols.push_back(std::move(s));
	}
	return {};
}

} // namespace

Result<void> read_elf_tables(Program::Impl &p)
{
	GElf_Ehdr ehdr;
	if (!gelf_getehdr(p.elf.get(), &ehdr))
		return fail(EINVAL, strf("%s: gelf_getehdr: %s", p.path.c_str(), elf_errmsg(-1)));
	if (ehdr.e_machine == EM_X86_64)
		p.isa = Isa::x86_64;
	else if (ehdr.e_machine == EM_AARCH64)
		p.isa = Isa::aarch64;
	else
		return fail(ENOEXEC, strf("%s: neither x86_64 nor aarch64 (e_machine %u)",
					  p.path.c_str(), ehdr.e_machine));

	size_t phnum;
	if (elf_getphdrnum(p.elf.get(), &phnum) != 0)
		return fail(EINVAL, strf("elf_getphdrnum: %s", elf_errmsg(-1)));
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(p.elf.get(), int(i), &ph))
			return fail(EINVAL, strf("gelf_getphdr: %s", elf_errmsg(-1)));
		if (ph.p_type == PT_LOAD)
			p.segments.push_back({ph.p_vaddr, ph.p_memsz, ph.p_filesz, ph.p_offset,
					      prot_of(ph.p_flags)});
		else if (ph.p_type == PT_TLS)
			p.tls = TlsInfo{ph.p_vaddr, ph.p_filesz, ph.p_memsz, ph.p_align};
	}

	size_t shstrndx;
	if (elf_getshdrstrndx(p.elf.get(), &shstrndx) != 0)
		return fail(EINVAL, strf("elf_getshdrstrndx: %s", elf_errmsg(-1)));
	for (Elf_Scn *scn = nullptr; (scn = elf_nextscn(p.elf.get(), scn));) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr))
			return fail(EINVAL, strf("gelf_getshdr: %s", elf_errmsg(-1)));
		if (shdr.sh_type == SHT_SYMTAB) {
			if (auto r = read_symtab(p, scn, shdr); !r)
				return r;
		} else if (shdr.sh_type == SHT_NOTE) {
			const char *name = elf_strptr(p.elf.get(), shstrndx, shdr.sh_name);
			if (name && std::strcmp(name, ".note.hetmig") == 0)
				if (Elf_Data *d = elf_getdata(scn, nullptr))
					read_note(p, d);
		}
	}
	return {};
}

std::vector<uint8_t> load_bytes(const Program::Impl &p, uint64_t address,
				uint64_t length)
{
	for (const auto &s : p.segments) {
		if (address < s.vaddr || address - s.vaddr > s.memsz ||
		    length > s.memsz - (address - s.vaddr))
			continue;
		std::vector<uint8_t> out(length, 0);
		uint64_t rel = address - s.vaddr;
		if (rel < s.filesz) {
			uint64_t n = std::min(length, s.filesz - rel);
			ssize_t got = ::pread(*p.fd, out.data(), n, off_t(s.offset + rel));
			if (got != ssize_t(n))
				return {};
		}
		return out;
	}
	return {};
}

std::optional<uint64_t> read_only_word(const Program::Impl &p, uint64_t address,
				       unsigned size)
{
	if (size == 0 || size > 8)
		return std::nullopt;
	for (const auto &s : p.segments) {
		if ((s.prot & PROT_WRITE) || address < s.vaddr || address - s.vaddr >= s.filesz ||
		    size > s.filesz - (address - s.vaddr))
			continue;
		auto bytes = load_bytes(p, address, size);
		if (bytes.size() != size)
			return std::nullopt;
		uint64_t v = 0;
		std::memcpy(&v, bytes.data(), size);
		return v;
	}
	return std::nullopt;
}

} // namespace hetmig::program
