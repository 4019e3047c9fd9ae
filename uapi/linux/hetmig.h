/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * hetmig: process migration between Linux machines, across x86_64 and aarch64.
 *
 * This header is the specification of the "hetmig" generic netlink family
 * that hetmig.ko registers. Kernel and user space both include it.
 *
 * Conventions
 * -----------
 * - The family name is HETMIG_GENL_NAME; resolve its id through the generic
 *   netlink controller. HETMIG_GENL_VERSION is put in genlmsghdr.version of
 *   every message; the kernel answers with the same value.
 * - Attribute numbering starts at 1 and numbers are never reused; a new
 *   attribute is appended before __HETMIG_A_LAST.
 * - Requests are strictly validated: an attribute the command does not take,
 *   an attribute of the wrong length, or an unknown attribute type makes the
 *   request fail with -EINVAL. The extended ACK (NLMSGERR_ATTR_MSG, and
 *   NLMSGERR_ATTR_OFFS for the attribute at fault) says what was wrong; ask
 *   for it with NETLINK_EXT_ACK.
 * - A dump that fails ends with NLMSG_DONE whose payload is the negative
 *   errno, followed by the extended ACK attributes when NLM_F_ACK_TLVS is
 *   set (Linux 6.1 reports a dump's errors there, not in NLMSG_ERROR).
 * - Integers are in host byte order: a message never leaves the machine.
 *
 * Commands
 * --------
 * HETMIG_CMD_GET_VERSION: what module answers and on which kernel.
 *   Permission: none; any user may ask.
 *   Request:
 *     [HETMIG_A_PROTO_VERSION]     u32, optional: the protocol version the
 *                                  caller speaks. If present and not equal
 *                                  to HETMIG_PROTO_VERSION the request fails
 *                                  with -EPROTO and an extack message.
 *   Reply (a HETMIG_CMD_GET_VERSION message):
 *     HETMIG_A_PROTO_VERSION       u32: HETMIG_PROTO_VERSION of the module
 *     HETMIG_A_MODULE_VERSION      string: the module's release, e.g. "0.1.0"
 *     HETMIG_A_ARCH                u32: enum hetmig_arch of the kernel
 *     HETMIG_A_KERNEL_RELEASE      string: utsname release, e.g. "6.1.0-56-arm64"
 *     HETMIG_A_PAGE_SIZE           u32: the kernel's page size in bytes
 *
 * Reading a process: GET_REGS, GET_MM, GET_SIGNALS, GET_VMAS
 * ----------------------------------------------------------
 * These export the state of a stopped thread group. The target is named by
 * HETMIG_A_PID, a pid or tid in the caller's pid namespace; the whole
 * thread group is meant.
 *
 *   Permission: the caller (the very thread that sends the request) must be
 *   the ptrace tracer of every thread of the target, and every thread must
 *   be in a ptrace stop (PTRACE_SEIZE + PTRACE_INTERRUPT, then wait). The
 *   kernel's own ptrace rules (credentials, Yama, LSMs) so decide who may
 *   read whom, and a thread cannot run while its state is exported.
 *   A process frozen by another caller (HETMIG_CMD_FREEZE) may be read too,
 *   by a caller with the holder's effective uid or CAP_SYS_PTRACE, as long
 *   as every thread is still in its ptrace stop: the holder passed ptrace's
 *   rules for it, and a caller of its uid could read the holder itself. A
 *   thaw while such a reader reads may leave its snapshot torn: read the
 *   freeze's events, or ask again, to know.
 *   Errors: EINVAL HETMIG_A_PID missing, 0 or above PID_MAX_LIMIT, a
 *   kernel thread, or the caller's own thread group; ESRCH no such
 *   process, or it is exiting or a zombie; EPERM a thread not traced by
 *   the caller; EBUSY a thread not stopped. Every error carries an extack
 *   message.
 *
 * HETMIG_CMD_GET_REGS (dump): the threads and their register sets.
 *   Request: HETMIG_A_PID u32, required.
 *   For each thread, in the order of the thread list, first one message
 *   describing the thread:
 *     HETMIG_A_TID                 u32: the thread's id in the caller's pid ns
 *     HETMIG_A_ARCH                u32: enum hetmig_arch of the register layouts
 *     HETMIG_A_SIGMASK             u64: blocked signals, bit N-1 for signal N
 *     HETMIG_A_THREAD_POINTER      u64: fs_base on x86_64, tpidr_el0 on aarch64
 *     HETMIG_A_ALTSTACK_SP         u64: sigaltstack base (0 if none)
 *     HETMIG_A_ALTSTACK_SIZE       u64
 *     HETMIG_A_ALTSTACK_FLAGS      u32: SS_* flags as sigaltstack(2) gives them
 *     HETMIG_A_CLEAR_CHILD_TID     u64: set_tid_address(2) pointer (0 if none)
 *     HETMIG_A_ROBUST_LIST         u64: set_robust_list(2) head (0 if none)
 *     [HETMIG_A_RSEQ]              u64: the registered rseq(2) area (0 if none)
 *     [HETMIG_A_RSEQ_SIG]          u32: its signature
 *   then one message per register set the thread has:
 *     HETMIG_A_TID                 u32
 *     HETMIG_A_REGSET_NOTE         u32: ELF note type (NT_PRSTATUS, NT_PRFPREG,
 *                                  NT_X86_XSTATE, NT_ARM_TLS, ...)
 *     HETMIG_A_REGSET_DATA         binary: the set, in the layout that
 *                                  PTRACE_GETREGSET and core files use
 *   A thread exiting during the dump sets NLM_F_DUMP_INTR.
 *
 * HETMIG_CMD_GET_MM: the address space's layout fields.
 *   Request: HETMIG_A_PID u32, required.
 *   Reply: HETMIG_A_MM_START_CODE, _END_CODE, _START_DATA, _END_DATA,
 *   _START_BRK, _BRK, _START_STACK, _ARG_START, _ARG_END, _ENV_START,
 *   _ENV_END (u64 each, as in struct mm_struct); HETMIG_A_MM_MAP_COUNT u32;
 *   HETMIG_A_MM_AUXV binary: the saved auxiliary vector, native-word pairs up
 *   to and including AT_NULL.
 *
 * HETMIG_CMD_GET_SIGNALS: the process's signal dispositions.
 *   Request: HETMIG_A_PID u32, required.
 *   Reply: one HETMIG_A_SIGACTION nest per signal whose disposition is not
 *   the default (a handler, SIG_IGN, flags or a mask), in signal order:
 *     HETMIG_SA_SIGNAL             u32: the signal number, 1.._NSIG
 *     HETMIG_SA_HANDLER            u64: handler address, or SIG_DFL (0) / SIG_IGN (1)
 *     HETMIG_SA_FLAGS              u64: SA_* flags
 *     HETMIG_SA_MASK               u64: signals blocked in the handler, bit N-1 for N
 *     HETMIG_SA_RESTORER           u64: sa_restorer (x86_64; 0 on aarch64)
 *
 * HETMIG_CMD_GET_VMAS (dump): one message per mapping, in address order:
 *   Request: HETMIG_A_PID u32, required.
 *     HETMIG_A_VMA_START, HETMIG_A_VMA_END   u64: [start, end)
 *     HETMIG_A_VMA_PROT            u32: HETMIG_PROT_* bits
 *     HETMIG_A_VMA_FLAGS           u32: HETMIG_VMA_F_* bits
 *     HETMIG_A_VMA_KIND            u32: enum hetmig_vma_kind
 *     HETMIG_A_VMA_PGOFF           u64: file offset in bytes (0 if anonymous)
 *     [HETMIG_A_VMA_PATH]          string: the backing file's path
 *     [HETMIG_A_VMA_DEV_MAJOR], [HETMIG_A_VMA_DEV_MINOR]  u32
 *     [HETMIG_A_VMA_INODE]         u64
 *     [HETMIG_A_VMA_NAME]          string: a special mapping's name ("[vdso]")
 *   A map that changes between two parts of the dump sets NLM_F_DUMP_INTR;
 *   the caller should start again.
 *
 * Freezing: FREEZE, THAW and the "events" multicast group
 * -------------------------------------------------------
 * The threads of a process stop through ptrace; FREEZE makes that stop a
 * freeze the module knows of: one holder, announced to listeners, released
 * when the holder's socket closes, reported when the process dies.
 *
 * HETMIG_CMD_FREEZE: record a freeze of a ptrace-stopped process.
 *   Permission and errors: as for GET_REGS (the caller is the tracer of
 *   every thread, every thread is stopped); EBUSY if it is frozen already;
 *   ESHUTDOWN while the module unloads.
 *   Request: HETMIG_A_PID u32, required. Reply: an ACK.
 *   The holder is the socket (netlink port) that sent the request. When it
 *   is closed (the holder exited), the freeze ends with reason
 *   HETMIG_THAW_HOLDER_GONE; ptrace detaches the threads at the same time.
 *
 * HETMIG_CMD_THAW: end a freeze.
 *   Permission: the holder's socket, a caller with the holder's effective
 *   uid, or CAP_SYS_PTRACE. EPERM otherwise, ENOENT if not frozen.
 *   Request: HETMIG_A_PID u32, required. Reply: an ACK.
 *   The holder, told by the HETMIG_CMD_THAWED event, detaches its threads
 *   with PTRACE_DETACH, and the process runs on exactly as it was.
 *
 * Events, on multicast group HETMIG_MCGRP_EVENTS (any user may listen):
 *   HETMIG_CMD_FROZEN   HETMIG_A_PID
 *   HETMIG_CMD_THAWED   HETMIG_A_PID, HETMIG_A_THAW_REASON u32
 *   HETMIG_CMD_EXITED   HETMIG_A_PID: a frozen process's leader exited
 *                       (SIGKILL still kills a frozen process at once)
 *   Pids are in the pid namespace of the freeze's holder.
 *
 * Rebuilding a process: RESTORE_MM, WRITE_PAGES, SET_THREAD
 * ---------------------------------------------------------
 * A process is rebuilt from an image in a task that becomes it. The
 * restorer (the companion) forks that task and traces it (PTRACE_SEIZE
 * with PTRACE_O_TRACECLONE); the task sets up what user space can (open
 * files at their numbers, working directory, signal handlers, its vdso and
 * vvar moved with mremap(2) to the image's addresses), creates the other
 * threads, which stop at once under ptrace, and then sends RESTORE_MM.
 * The tracer then writes the pages and every thread's state, and detaches:
 * each thread resumes where the image stopped it. An interrupted system
 * call restarts as the kernel's own restart rules say, from the registers.
 *
 * HETMIG_CMD_RESTORE_MM: replace the caller's address space.
 *   Sent by the task being rebuilt, about itself.
 *   Permission: the caller must be ptrace-traced (EPERM otherwise: only
 *   the tracer can finish the rebuild) and every other thread of its group
 *   must be in a ptrace stop (EBUSY). The caller maps only files it has
 *   open, with its own credentials; nothing is granted beyond mmap(2).
 *   Request:
 *     HETMIG_A_MM_START_CODE ... HETMIG_A_MM_ENV_END   u64 each, required:
 *                                  the mm layout fields, as GET_MM gives them
 *     [HETMIG_A_MM_AUXV]           binary: the saved auxv, native-word pairs
 *     HETMIG_A_VMA                 nest, one per mapping, in address order:
 *       HETMIG_A_VMA_START, _END   u64: page-aligned [start, end)
 *       HETMIG_A_VMA_PROT          u32: HETMIG_PROT_* bits
 *       [HETMIG_A_VMA_FLAGS]       u32: HETMIG_VMA_F_MAYSHARE (MAP_SHARED),
 *                                  HETMIG_VMA_F_GROWSDOWN,
 *                                  HETMIG_VMA_F_NORESERVE; others refused
 *                                  (the madvise(2) and mlock(2) ones are
 *                                  the caller's to set again, with those
 *                                  calls, once the mappings exist)
 *       [HETMIG_A_VMA_FD]          u32: the caller's descriptor of the
 *                                  backing file; anonymous memory if absent
 *       [HETMIG_A_VMA_PGOFF]       u64: file offset in bytes
 *     [HETMIG_A_CLOSE_FD]          u32, repeated: descriptors of the caller
 *                                  to close once the mappings are in place
 *   All is checked before anything changes (EINVAL, EBADF for a closed
 *   descriptor, EEXIST for a mapping over the caller's vdso or vvar, which
 *   stay). Then every other mapping of the caller is removed and the
 *   image's are created, empty; the mm fields and auxv are set and the
 *   caller's rseq registration is dropped. On success the caller is sent
 *   SIGSTOP, so it stops in the kernel, before any user code, for its
 *   tracer; the ACK is still sent. A failure after the old mappings are
 *   gone kills the caller (SIGKILL) and is logged: its tracer sees it die.
 *
 * HETMIG_CMD_WRITE_PAGES: copy memory of the caller into a stopped target.
 *   Permission and errors: as for GET_REGS (tracer of every thread, every
 *   thread stopped). Request: HETMIG_A_PID u32, HETMIG_A_PAGES_ADDR u64
 *   (the target address), HETMIG_A_PAGES_BUF u64 (the caller's buffer),
 *   HETMIG_A_PAGES_LEN u64 (at most 1 GiB), all required. The pages are
 *   written as ptrace's POKE would write them, read-only ones included.
 *   EFAULT: the buffer is not readable or the range is not mapped.
 *
 * HETMIG_CMD_SET_THREAD: set one stopped thread's state.
 *   Permission and errors: as for GET_REGS, and ESRCH if HETMIG_A_TID is
 *   not a thread of HETMIG_A_PID's group.
 *   Request:
 *     HETMIG_A_PID, HETMIG_A_TID   u32, required
 *     HETMIG_A_REGSET              nest, repeated, applied in order:
 *       HETMIG_A_REGSET_NOTE       u32: ELF note type
 *       HETMIG_A_REGSET_DATA       binary: as GET_REGS gave it
 *     [HETMIG_A_SIGMASK]           u64 (SIGKILL and SIGSTOP stay unblocked)
 *     [HETMIG_A_ALTSTACK_SP], [HETMIG_A_ALTSTACK_SIZE], [HETMIG_A_ALTSTACK_FLAGS]
 *     [HETMIG_A_CLEAR_CHILD_TID], [HETMIG_A_ROBUST_LIST]   u64
 *     [HETMIG_A_RSEQ] u64, [HETMIG_A_RSEQ_SIG] u32
 *   Every register set is checked (known to this kernel, writable, of a
 *   whole number of registers) before any is written; EINVAL otherwise.
 *   If the kernel refuses a set while writing, the thread is left half
 *   set: the tracer must then kill the process it was rebuilding.
 *
 * HETMIG_CMD_SAVE_PAGES (dump): copy memory of a stopped target into a
 *   file of the caller, once, and sum it. What a dump to a file uses
 *   instead of reading the memory into its own buffers and writing them.
 *   Permission and errors: as for GET_REGS (a reader: the tracer, or a
 *   caller the freeze's holder allows).
 *   Request (required but UNSUMMED):
 *     HETMIG_A_PID                 u32
 *     HETMIG_A_PAGES_ADDR          u64: the target address, page-aligned
 *     HETMIG_A_PAGES_LEN           u64: bytes, page-aligned, 1 to 64 MiB
 *     HETMIG_A_PAGES_FD            u32: the caller's descriptor of a
 *                                  regular file open for writing, not
 *                                  O_APPEND
 *     HETMIG_A_PAGES_FILE_OFFSET   u64: where in the file the bytes go
 *     [HETMIG_A_PAGES_UNSUMMED]    flag: no sum (the caller sums the file
 *                                  on another CPU while the next are written)
 *   Reply (a HETMIG_CMD_SAVE_PAGES message):
 *     [HETMIG_A_PAGES_SUM]         u64: XXH64, seed 0, of the bytes; absent
 *                                  with UNSUMMED
 *   The pages are read as ptrace's PEEK reads them (read-protected ones
 *   too; absent ones are faulted in). EFAULT: the range is not mapped or
 *   is device memory. EBADF: PAGES_FD is not open for writing. EINVAL:
 *   not a regular file, O_APPEND, or a range out of bounds. A failed
 *   write (ENOSPC, EIO, ...) leaves part of the range written.
 */
#ifndef _UAPI_LINUX_HETMIG_H
#define _UAPI_LINUX_HETMIG_H

#define HETMIG_GENL_NAME	"hetmig"
#define HETMIG_GENL_VERSION	1
#define HETMIG_MCGRP_EVENTS	"events"

/*
 * The protocol spoken over the family. It changes only when a command's
 * meaning changes incompatibly; new commands and attributes do not change it.
 */
#define HETMIG_PROTO_VERSION	1

/*
 * Instruction set architectures. The values appear in netlink replies and in
 * migration images, so they are fixed forever.
 */
enum hetmig_arch {
	HETMIG_ARCH_X86_64 = 1,
	HETMIG_ARCH_AARCH64 = 2,
};

/* What a mapping is; a file mapping of the heap or stack is still FILE. */
enum hetmig_vma_kind {
	HETMIG_VMA_ANON = 1,
	HETMIG_VMA_FILE = 2,
	HETMIG_VMA_HEAP = 3,		/* the brk area */
	HETMIG_VMA_STACK = 4,		/* the main thread's stack */
	HETMIG_VMA_SPECIAL = 5,		/* vdso, vvar, ...: see HETMIG_A_VMA_NAME */
};

#define HETMIG_PROT_READ	0x1
#define HETMIG_PROT_WRITE	0x2
#define HETMIG_PROT_EXEC	0x4

#define HETMIG_VMA_F_SHARED	0x1	/* MAP_SHARED */
#define HETMIG_VMA_F_GROWSDOWN	0x2
#define HETMIG_VMA_F_LOCKED	0x4	/* mlock()ed */
#define HETMIG_VMA_F_DONTFORK	0x8	/* MADV_DONTFORK */
#define HETMIG_VMA_F_HUGETLB	0x10
#define HETMIG_VMA_F_IO		0x20	/* device memory: cannot be read */
#define HETMIG_VMA_F_MAYSHARE	0x40
#define HETMIG_VMA_F_NORESERVE	0x80	/* MAP_NORESERVE */
#define HETMIG_VMA_F_SEQ_READ	0x100	/* MADV_SEQUENTIAL */
#define HETMIG_VMA_F_RAND_READ	0x200	/* MADV_RANDOM */
#define HETMIG_VMA_F_DONTDUMP	0x400	/* MADV_DONTDUMP */
#define HETMIG_VMA_F_MERGEABLE	0x800	/* MADV_MERGEABLE (KSM) */
#define HETMIG_VMA_F_HUGEPAGE	0x1000	/* MADV_HUGEPAGE */
#define HETMIG_VMA_F_NOHUGEPAGE	0x2000	/* MADV_NOHUGEPAGE */
#define HETMIG_VMA_F_WIPEONFORK	0x4000	/* MADV_WIPEONFORK */

/* Why a freeze ended (HETMIG_A_THAW_REASON). */
enum hetmig_thaw_reason {
	HETMIG_THAW_REQUESTED = 1,	/* HETMIG_CMD_THAW */
	HETMIG_THAW_HOLDER_GONE = 2,	/* the holder's socket closed */
	HETMIG_THAW_UNLOAD = 3,		/* hetmig.ko is being removed */
};

enum hetmig_cmd {
	HETMIG_CMD_GET_VERSION = 1,
	HETMIG_CMD_GET_REGS,
	HETMIG_CMD_GET_MM,
	HETMIG_CMD_GET_VMAS,
	HETMIG_CMD_FREEZE,
	HETMIG_CMD_THAW,
	HETMIG_CMD_FROZEN,		/* event */
	HETMIG_CMD_THAWED,		/* event */
	HETMIG_CMD_EXITED,		/* event */
	HETMIG_CMD_GET_SIGNALS,
	HETMIG_CMD_RESTORE_MM,
	HETMIG_CMD_WRITE_PAGES,
	HETMIG_CMD_SET_THREAD,
	HETMIG_CMD_SAVE_PAGES,

	__HETMIG_CMD_LAST
};

#define HETMIG_CMD_MAX (__HETMIG_CMD_LAST - 1)

enum hetmig_attr {
	HETMIG_A_PROTO_VERSION = 1,	/* u32 */
	HETMIG_A_MODULE_VERSION,	/* NUL-terminated string */
	HETMIG_A_ARCH,			/* u32, enum hetmig_arch */
	HETMIG_A_KERNEL_RELEASE,	/* NUL-terminated string */
	HETMIG_A_PAGE_SIZE,		/* u32 */
	HETMIG_A_PID,			/* u32 */
	HETMIG_A_TID,			/* u32 */
	HETMIG_A_SIGMASK,		/* u64 */
	HETMIG_A_THREAD_POINTER,	/* u64 */
	HETMIG_A_ALTSTACK_SP,		/* u64 */
	HETMIG_A_ALTSTACK_SIZE,		/* u64 */
	HETMIG_A_ALTSTACK_FLAGS,	/* u32 */
	HETMIG_A_REGSET_NOTE,		/* u32 */
	HETMIG_A_REGSET_DATA,		/* binary */
	HETMIG_A_MM_START_CODE,		/* u64 */
	HETMIG_A_MM_END_CODE,		/* u64 */
	HETMIG_A_MM_START_DATA,		/* u64 */
	HETMIG_A_MM_END_DATA,		/* u64 */
	HETMIG_A_MM_START_BRK,		/* u64 */
	HETMIG_A_MM_BRK,		/* u64 */
	HETMIG_A_MM_START_STACK,	/* u64 */
	HETMIG_A_MM_ARG_START,		/* u64 */
	HETMIG_A_MM_ARG_END,		/* u64 */
	HETMIG_A_MM_ENV_START,		/* u64 */
	HETMIG_A_MM_ENV_END,		/* u64 */
	HETMIG_A_MM_MAP_COUNT,		/* u32 */
	HETMIG_A_MM_AUXV,		/* binary */
	HETMIG_A_VMA_START,		/* u64 */
	HETMIG_A_VMA_END,		/* u64 */
	HETMIG_A_VMA_PROT,		/* u32 */
	HETMIG_A_VMA_FLAGS,		/* u32 */
	HETMIG_A_VMA_KIND,		/* u32 */
	HETMIG_A_VMA_PGOFF,		/* u64 */
	HETMIG_A_VMA_PATH,		/* string */
	HETMIG_A_VMA_DEV_MAJOR,		/* u32 */
	HETMIG_A_VMA_DEV_MINOR,		/* u32 */
	HETMIG_A_VMA_INODE,		/* u64 */
	HETMIG_A_VMA_NAME,		/* string */
	HETMIG_A_THAW_REASON,		/* u32, enum hetmig_thaw_reason */
	HETMIG_A_CLEAR_CHILD_TID,	/* u64 */
	HETMIG_A_ROBUST_LIST,		/* u64 */
	HETMIG_A_SIGACTION,		/* nest, enum hetmig_sa_attr */
	HETMIG_A_RSEQ,			/* u64 */
	HETMIG_A_RSEQ_SIG,		/* u32 */
	HETMIG_A_VMA,			/* nest of HETMIG_A_VMA_* */
	HETMIG_A_VMA_FD,		/* u32 */
	HETMIG_A_CLOSE_FD,		/* u32 */
	HETMIG_A_PAGES_ADDR,		/* u64 */
	HETMIG_A_PAGES_BUF,		/* u64 */
	HETMIG_A_PAGES_LEN,		/* u64 */
	HETMIG_A_REGSET,		/* nest of REGSET_NOTE, REGSET_DATA */
	HETMIG_A_PAGES_FD,		/* u32 */
	HETMIG_A_PAGES_FILE_OFFSET,	/* u64 */
	HETMIG_A_PAGES_SUM,		/* u64 */
	HETMIG_A_PAGES_UNSUMMED,	/* flag */

	__HETMIG_A_LAST
};

#define HETMIG_A_MAX (__HETMIG_A_LAST - 1)

/* Inside HETMIG_A_SIGACTION. */
enum hetmig_sa_attr {
	HETMIG_SA_SIGNAL = 1,		/* u32 */
	HETMIG_SA_HANDLER,		/* u64 */
	HETMIG_SA_FLAGS,		/* u64 */
	HETMIG_SA_MASK,			/* u64 */
	HETMIG_SA_RESTORER,		/* u64 */

	__HETMIG_SA_LAST
};

#define HETMIG_SA_MAX (__HETMIG_SA_LAST - 1)

#endif /* _UAPI_LINUX_HETMIG_H */
