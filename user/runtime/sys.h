/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw system calls for the runtime: usable before a thread descriptor exists
 * (__hetmig_resume) and async-signal-safe without libc's errno.
 */
#ifndef HETMIG_RUNTIME_SYS_H
#define HETMIG_RUNTIME_SYS_H

__attribute__((no_instrument_function, unused))
static long hetmig_sys3(long n, long a, long b, long c)
{
#if defined(__x86_64__)
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
#else
#error "hetmig runtime: x86_64 and aarch64 only"
#endif
}

#endif
