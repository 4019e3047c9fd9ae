// SPDX-License-Identifier: GPL-2.0
/*
 * The destination side of a move across ISAs. The converter starts the
 * thread at __hetmig_resume with a struct hetmig_resume; there is no thread
 * descriptor and no TLS yet. Here musl builds them (its own __init_tls), the
 * source's TLS bytes and errno are put back, and the thread continues in the
 * caller of __hetmig_park as if that call had returned.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

#include "hetmig.h"
#include "sys.h"

#define NOINST __attribute__((no_instrument_function))

/* musl internals (src/internal/libc.h, 1.2.3); hidden, but linkable from a
 * static program. __init_tls takes the auxv as an array indexed by type. */
#define MUSL_AUX_CNT 38
void __init_tls(size_t *aux);
extern size_t __hwcap, __sysinfo;

void __hetmig_resume_c(struct hetmig_resume *r) __attribute__((noreturn));
void __hetmig_resume_thread_c(struct hetmig_resume *r) __attribute__((noreturn));
void __hetmig_jump(const struct hetmig_resume *r) __attribute__((noreturn));

/*
 * Entry points in assembly, each in its own section so that the linker
 * script gives them one address on both ISAs.
 * __hetmig_resume: a clean frame chain and a 16-byte aligned stack for C.
 * __hetmig_resume_thread: the same, for the other threads of the process.
 * __hetmig_jump: the return from __hetmig_park (x86_64: sp after the ret
 *   popped the return address; aarch64: sp and x30 as after `ret`), with
 *   the callee-saved registers of the record (offsets: hetmig.h), loaded
 *   while the record is still above sp.
 * __hetmig_main_return: main's return address on the destination: main's
 *   `ret` lands here with its value in rax/w0, not by a call, so the
 *   stack is realigned before exit() is called.
 */
#if defined(__x86_64__)
__asm__(
	".pushsection .text.__hetmig_resume,\"axR\"\n"
	".globl __hetmig_resume\n"
	".type __hetmig_resume,@function\n"
	"__hetmig_resume:\n"
	"	xor %ebp, %ebp\n"
	"	and $-16, %rsp\n"
	"	call __hetmig_resume_c\n"
	"	ud2\n"
	".size __hetmig_resume, .-__hetmig_resume\n"
	".popsection\n"
	".pushsection .text.__hetmig_resume_thread,\"axR\"\n"
	".globl __hetmig_resume_thread\n"
	".type __hetmig_resume_thread,@function\n"
	"__hetmig_resume_thread:\n"
	"	xor %ebp, %ebp\n"
	"	and $-16, %rsp\n"
	"	call __hetmig_resume_thread_c\n"
	"	ud2\n"
	".size __hetmig_resume_thread, .-__hetmig_resume_thread\n"
	".popsection\n"
	".pushsection .text.__hetmig_jump,\"ax\"\n"
	".globl __hetmig_jump\n"
	".type __hetmig_jump,@function\n"
	"__hetmig_jump:\n"
	"	mov 56(%rdi), %rbx\n"
	"	mov 64(%rdi), %r12\n"
	"	mov 72(%rdi), %r13\n"
	"	mov 80(%rdi), %r14\n"
	"	mov 88(%rdi), %r15\n"
	"	mov 16(%rdi), %rsp\n"
	"	mov 24(%rdi), %rbp\n"
	"	mov 32(%rdi), %rax\n"
	"	jmp *8(%rdi)\n"
	".size __hetmig_jump, .-__hetmig_jump\n"
	".popsection\n"
	".pushsection .text.__hetmig_main_return,\"axR\"\n"
	".globl __hetmig_main_return\n"
	".type __hetmig_main_return,@function\n"
	"__hetmig_main_return:\n"
	"	mov %eax, %edi\n"
	"	and $-16, %rsp\n"
	"	call exit\n"
	"	ud2\n"
	".size __hetmig_main_return, .-__hetmig_main_return\n"
	".popsection\n");
#elif defined(__aarch64__)
__asm__(
	".pushsection .text.__hetmig_resume,\"axR\"\n"
	".globl __hetmig_resume\n"
	".type __hetmig_resume,%function\n"
	"__hetmig_resume:\n"
	"	mov x29, #0\n"
	"	mov x30, #0\n"
	"	mov x9, sp\n"
	"	and x9, x9, #~15\n"
	"	mov sp, x9\n"
	"	bl __hetmig_resume_c\n"
	"	brk #0\n"
	".size __hetmig_resume, .-__hetmig_resume\n"
	".popsection\n"
	".pushsection .text.__hetmig_resume_thread,\"axR\"\n"
	".globl __hetmig_resume_thread\n"
	".type __hetmig_resume_thread,%function\n"
	"__hetmig_resume_thread:\n"
	"	mov x29, #0\n"
	"	mov x30, #0\n"
	"	mov x9, sp\n"
	"	and x9, x9, #~15\n"
	"	mov sp, x9\n"
	"	bl __hetmig_resume_thread_c\n"
	"	brk #0\n"
	".size __hetmig_resume_thread, .-__hetmig_resume_thread\n"
	".popsection\n"
	".pushsection .text.__hetmig_jump,\"ax\"\n"
	".globl __hetmig_jump\n"
	".type __hetmig_jump,%function\n"
	"__hetmig_jump:\n"
	"	ldp x19, x20, [x0, #56]\n"
	"	ldp x21, x22, [x0, #72]\n"
	"	ldp x23, x24, [x0, #88]\n"
	"	ldp x25, x26, [x0, #104]\n"
	"	ldp x27, x28, [x0, #120]\n"
	"	ldp d8, d9, [x0, #136]\n"
	"	ldp d10, d11, [x0, #152]\n"
	"	ldp d12, d13, [x0, #168]\n"
	"	ldp d14, d15, [x0, #184]\n"
	"	ldr x1, [x0, #16]\n"
	"	mov sp, x1\n"
	"	ldr x29, [x0, #24]\n"
	"	ldr x30, [x0, #8]\n"
	"	mov x16, x30\n"
	"	ldr x0, [x0, #32]\n"
	"	br x16\n"
	".size __hetmig_jump, .-__hetmig_jump\n"
	".popsection\n"
	".pushsection .text.__hetmig_main_return,\"axR\"\n"
	".globl __hetmig_main_return\n"
	".type __hetmig_main_return,%function\n"
	"__hetmig_main_return:\n"
	"	mov x9, sp\n"
	"	and x9, x9, #~15\n"
	"	mov sp, x9\n"
	"	bl exit\n"
	"	brk #0\n"
	".size __hetmig_main_return, .-__hetmig_main_return\n"
	".popsection\n");
#endif

/* The kernel's auxv of this process, read with raw calls: no TLS yet. */
/* A move that cannot finish says why on stderr and ends the process: there
 * is no thread descriptor yet for anything gentler. */
NOINST __attribute__((noreturn)) static void resume_fail(const char *why)
{
	long n = 0;

	while (why[n])
		n++;
	hetmig_sys3(SYS_write, 2, (long)why, n);
	hetmig_sys3(SYS_exit_group, 127, 0, 0);
	__builtin_unreachable();
}

NOINST static void read_auxv(size_t *aux)
{
	uint64_t buf[2 * 64];
	long fd, n, i;

	for (i = 0; i < MUSL_AUX_CNT; i++)
		aux[i] = 0;
#ifdef SYS_open
	fd = hetmig_sys3(SYS_open, (long)"/proc/self/auxv", O_RDONLY, 0);
#else
	fd = hetmig_sys3(SYS_openat, AT_FDCWD, (long)"/proc/self/auxv", O_RDONLY);
#endif
	if (fd < 0)
		resume_fail("hetmig: resume: cannot open /proc/self/auxv\n");
	n = hetmig_sys3(SYS_read, fd, (long)buf, sizeof(buf));
	hetmig_sys3(SYS_close, fd, 0, 0);
	for (i = 0; i + 1 < n / 8 && buf[i] != AT_NULL; i += 2)
		if (buf[i] < MUSL_AUX_CNT)
			aux[buf[i]] = buf[i + 1];
}

/*
 * musl finds the vdso (and getauxval its answers) in the auxv array on the
 * initial stack, which came from the source machine: this machine's values
 * go in, key by key. libc.auxv is the second word of musl 1.2.3's struct
 * __libc on both ISAs (four chars and an int before it).
 */
extern char __libc[];

NOINST static void patch_libc_auxv(const size_t *aux)
{
	size_t *v = *(size_t **)(__libc + 8);
	size_t i;

	for (i = 0; v && v[i] != AT_NULL; i += 2)
		if (v[i] < MUSL_AUX_CNT && aux[v[i]])
			v[i + 1] = aux[v[i]];
}

/* This thread's pointer, as the code reads it (mrs tpidr_el0; %fs:0, musl's
 * thread descriptor pointing to itself). */
NOINST static uint64_t thread_pointer(void)
{
#ifdef __aarch64__
	return (uint64_t)(uintptr_t)__builtin_thread_pointer();
#else
	uint64_t tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
#endif
}

NOINST void __hetmig_resume_c(struct hetmig_resume *r)
{
	size_t aux[MUSL_AUX_CNT];
	const uint64_t *fixup;
	unsigned char *tls;
	uint32_t i;

	if (r->magic != HETMIG_RESUME_MAGIC)
		resume_fail("hetmig: resume: no resume record where the converter put it\n");
	read_auxv(aux);
	__hwcap = aux[AT_HWCAP];
	if (aux[AT_SYSINFO])
		__sysinfo = aux[AT_SYSINFO];
	/* A fresh thread descriptor and TLS block, as at process start. */
	__init_tls(aux);
	patch_libc_auxv(aux);
	tls = (unsigned char *)&__hetmig_tls_anchor - r->tls_anchor_off;
	for (i = 0; i < r->tls_len; i++)
		tls[i] = r->tls[i];
	fixup = (const uint64_t *)(((uintptr_t)r->tls + r->tls_len + 7) & ~(uintptr_t)7);
	for (i = 0; i < (r->flags & 0xffff); i++)
		*(uint64_t *)(uintptr_t)fixup[i] += thread_pointer();
	/* Then the main thread's descriptor, musl's own now, gets what the
	 * source's had of the other threads: its links in the thread list. */
	fixup += r->flags & 0xffff;
	for (i = 0; i < r->flags >> 16; i++, fixup += 2)
		*(uint64_t *)(uintptr_t)(thread_pointer() + fixup[0]) = fixup[1];
	errno = r->errno_val;
	__hetmig_rt.result = (int32_t)r->retval;
	__atomic_store_n(&__hetmig_rt.pending, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&__hetmig_rt.parked, 0, __ATOMIC_SEQ_CST);
	__hetmig_jump(r);
}

/*
 * Every other thread of a process moved between ISAs starts here, its
 * descriptor, TLS block and thread pointer already in place (the
 * converter rebuilt them). The main thread is still building its own, and
 * linking it to theirs, until it clears `pending`: nothing of libc is
 * safe before that, so wait for it, with raw calls, then return from
 * __hetmig_park like the main thread.
 */
NOINST void __hetmig_resume_thread_c(struct hetmig_resume *r)
{
	struct timespec ms = { 0, 1000000 };

	if (r->magic != HETMIG_RESUME_MAGIC)
		resume_fail("hetmig: resume: no resume record for a thread\n");
	while (__atomic_load_n(&__hetmig_rt.pending, __ATOMIC_SEQ_CST))
		hetmig_sys3(SYS_nanosleep, (long)&ms, 0, 0);
	__hetmig_jump(r);
}
