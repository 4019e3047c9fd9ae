// SPDX-License-Identifier: GPL-2.0
/*
 * __hetmig_resume on one ISA, without a converter: fake_park() records what
 * __hetmig_park records, builds the struct hetmig_resume a converter would
 * write, drops the thread pointer (as on a fresh destination) and starts
 * __hetmig_resume on a scratch stack. main() must continue as if fake_park()
 * had returned the ISA code, with its TLS and errno back, and with the
 * record's callee_saved values in its callee-saved registers.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hetmig.h"

__thread int tcount = 7;
__thread char tname[32];

static unsigned char scratch[65536] __attribute__((aligned(16)));
static struct {
	struct hetmig_resume r;
	unsigned char tls[4096];
} rec;
static uint64_t seen_cfa, seen_fp;
/* What the callee-saved registers hold right after the return (hetmig.h
 * order); the record asks for 0xc0de0000 + i in each. */
static uint64_t regs_after[HETMIG_RESUME_REGS];
#ifdef __x86_64__
#define RESUME_REGS 5
#else
#define RESUME_REGS 18
#endif

#ifdef __x86_64__
#define ISA_CODE HETMIG_ON_X86_64
#else
#define ISA_CODE HETMIG_ON_AARCH64
#endif

/* PT_TLS of this program: the anchor's offset (found by its initial value in
 * the TLS image) and the block's size. */
static void tls_info(uint64_t *anchor_off, uint32_t *len)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long i, n = getauxval(AT_PHNUM);
	uint64_t off;

	for (i = 0; i < n; i++) {
		if (ph[i].p_type != PT_TLS)
			continue;
		*len = ph[i].p_memsz;
		for (off = 0; off + 8 <= ph[i].p_filesz; off += 8)
			if (*(uint64_t *)(ph[i].p_vaddr + off) == 0x434e41534c544d48ull)
				*anchor_off = off;
	}
}

__attribute__((noinline)) static int fake_park(void)
{
	unsigned char *top = scratch + sizeof(scratch);
	unsigned char *block;

	rec.r.magic = HETMIG_RESUME_MAGIC;
	rec.r.pc = (uint64_t)__builtin_return_address(0);
	rec.r.sp = seen_cfa = (uint64_t)__builtin_dwarf_cfa();
	rec.r.fp = seen_fp = *(uint64_t *)__builtin_frame_address(0);
	rec.r.retval = ISA_CODE;
	rec.r.errno_val = errno;
	for (int i = 0; i < HETMIG_RESUME_REGS; i++)
		rec.r.callee_saved[i] = 0xc0de0000u + i;
	tls_info(&rec.r.tls_anchor_off, &rec.r.tls_len);
	block = (unsigned char *)&__hetmig_tls_anchor - rec.r.tls_anchor_off;
	memcpy(rec.tls, block, rec.r.tls_len);
#ifdef __x86_64__
	/* arch_prctl(ARCH_SET_FS, 0), then off to __hetmig_resume. */
	__asm__ volatile("mov $158, %%eax\n\tmov $0x1002, %%edi\n\txor %%esi, %%esi\n\t"
			 "syscall\n\tmov %0, %%rsp\n\tmov %1, %%rdi\n\tjmp __hetmig_resume"
			 : : "r"(top), "r"(&rec.r) : "rax", "rdi", "rsi", "rcx", "r11", "memory");
#else
	__asm__ volatile("msr tpidr_el0, xzr\n\tmov sp, %0\n\tmov x0, %1\n\tb __hetmig_resume"
			 : : "r"(top), "r"(&rec.r) : "x0", "memory");
#endif
	return -1;	/* not reached */
}

int main(void)
{
	uint64_t sp_at_call, fp_here;
	int r, e;

	tcount = 42;
	strcpy(tname, "tls survives");
#ifdef __x86_64__
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp_at_call));
#else
	__asm__ volatile("mov %0, sp" : "=r"(sp_at_call));
#endif
	fp_here = (uint64_t)__builtin_frame_address(0);
	errno = 33;
	r = fake_park();
	/* Before anything else can use them (this is -O0 code: it keeps
	 * nothing in callee-saved registers). */
#ifdef __x86_64__
	__asm__ volatile("mov %%rbx, 0(%0)\n\tmov %%r12, 8(%0)\n\tmov %%r13, 16(%0)\n\t"
			 "mov %%r14, 24(%0)\n\tmov %%r15, 32(%0)"
			 : : "D"(regs_after) : "memory");
#else
	{
		register uint64_t *out __asm__("x9") = regs_after;

		__asm__ volatile("stp x19, x20, [%0]\n\tstp x21, x22, [%0, #16]\n\t"
				 "stp x23, x24, [%0, #32]\n\tstp x25, x26, [%0, #48]\n\t"
				 "stp x27, x28, [%0, #64]\n\tstp d8, d9, [%0, #80]\n\t"
				 "stp d10, d11, [%0, #96]\n\tstp d12, d13, [%0, #112]\n\t"
				 "stp d14, d15, [%0, #128]"
				 : : "r"(out) : "memory");
	}
#endif
	e = errno;
	printf("returned the ISA code: %s\n", r == ISA_CODE ? "yes" : "no");
	printf("park_cfa is the caller's sp at the call: %s\n",
	       seen_cfa == sp_at_call ? "yes" : "no");
	printf("park_fp is the caller's frame pointer: %s\n", seen_fp == fp_here ? "yes" : "no");
	r = 1;
	for (int i = 0; i < RESUME_REGS; i++)
		r &= regs_after[i] == 0xc0de0000u + i;
	printf("the callee-saved registers are the record's: %s\n", r ? "yes" : "no");
	printf("errno %d, tcount %d, tname '%s'\n", e, tcount, tname);
	tcount++;
	errno = 0;
	printf("after: tcount %d, errno %d, pending %u, parked %u\n", tcount, errno,
	       __hetmig_rt.pending, __hetmig_rt.parked);
	return 0;
}
