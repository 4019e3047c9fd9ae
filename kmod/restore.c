// SPDX-License-Identifier: GPL-2.0
/*
 * Rebuilding a process from an image (uapi/linux/hetmig.h, "Rebuilding a
 * process"). Three commands, because the work must happen in two contexts:
 *
 * - HETMIG_CMD_RESTORE_MM is sent by the task that is to become the
 *   process. vm_munmap() and vm_mmap(), the exported ways to change an
 *   address space, act on current->mm only. The task's own code is gone
 *   once its mappings are replaced, so the command leaves it stopped
 *   (SIGSTOP, reported to its tracer) instead of returning to user space.
 * - HETMIG_CMD_WRITE_PAGES and HETMIG_CMD_SET_THREAD are sent by that
 *   tracer while the task is stopped, like the GET commands: they fill the
 *   pages and set every thread's registers through the kernel's regsets.
 *   Detaching then resumes each thread exactly where the image says.
 */

#include <linux/compat.h>
#include <linux/elf.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pid.h>
#include <linux/ptrace.h>
#include <linux/regset.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/hetmig.h>

#include <asm/ptrace.h>
#if defined(CONFIG_X86_64)
#include <asm/segment.h>
#include <asm/user.h>
#endif

#include "compat.h"
#include "restore.h"
#include "target.h"
#include "vmas.h"

/* The most a single WRITE_PAGES request may write. */
#define WRITE_PAGES_MAX		SZ_1G
/* The bounce buffer between the caller's memory and the target's. */
#define WRITE_PAGES_CHUNK	(16 * PAGE_SIZE)

#define VMA_FLAGS_ALLOWED	(HETMIG_VMA_F_SHARED | HETMIG_VMA_F_MAYSHARE | \
				 HETMIG_VMA_F_GROWSDOWN | HETMIG_VMA_F_NORESERVE)
#define PROT_ALLOWED		(HETMIG_PROT_READ | HETMIG_PROT_WRITE | \
				 HETMIG_PROT_EXEC)

static const struct nla_policy vma_policy[HETMIG_A_MAX + 1] = {
	[HETMIG_A_VMA_START] = { .type = NLA_U64 },
	[HETMIG_A_VMA_END] = { .type = NLA_U64 },
	[HETMIG_A_VMA_PROT] = NLA_POLICY_MASK(NLA_U32, PROT_ALLOWED),
	[HETMIG_A_VMA_FLAGS] = NLA_POLICY_MASK(NLA_U32, VMA_FLAGS_ALLOWED),
	[HETMIG_A_VMA_PGOFF] = { .type = NLA_U64 },
	[HETMIG_A_VMA_FD] = { .type = NLA_U32 },
};

const struct nla_policy hetmig_restore_mm_policy[HETMIG_A_MAX + 1] = {
	[HETMIG_A_MM_START_CODE] = { .type = NLA_U64 },
	[HETMIG_A_MM_END_CODE] = { .type = NLA_U64 },
	[HETMIG_A_MM_START_DATA] = { .type = NLA_U64 },
	[HETMIG_A_MM_END_DATA] = { .type = NLA_U64 },
	[HETMIG_A_MM_START_BRK] = { .type = NLA_U64 },
	[HETMIG_A_MM_BRK] = { .type = NLA_U64 },
	[HETMIG_A_MM_START_STACK] = { .type = NLA_U64 },
	[HETMIG_A_MM_ARG_START] = { .type = NLA_U64 },
	[HETMIG_A_MM_ARG_END] = { .type = NLA_U64 },
	[HETMIG_A_MM_ENV_START] = { .type = NLA_U64 },
	[HETMIG_A_MM_ENV_END] = { .type = NLA_U64 },
	[HETMIG_A_MM_AUXV] = { .type = NLA_BINARY,
				  .len = AT_VECTOR_SIZE * sizeof(unsigned long) },
	[HETMIG_A_VMA] = NLA_POLICY_NESTED(vma_policy),
	[HETMIG_A_CLOSE_FD] = { .type = NLA_U32 },
};

const struct nla_policy hetmig_write_pages_policy[HETMIG_A_MAX + 1] = {
	[HETMIG_A_PID] = { .type = NLA_U32 },
	[HETMIG_A_PAGES_ADDR] = { .type = NLA_U64 },
	[HETMIG_A_PAGES_BUF] = { .type = NLA_U64 },
	[HETMIG_A_PAGES_LEN] = { .type = NLA_U64 },
};

static const struct nla_policy regset_policy[HETMIG_A_MAX + 1] = {
	[HETMIG_A_REGSET_NOTE] = { .type = NLA_U32 },
	[HETMIG_A_REGSET_DATA] = { .type = NLA_BINARY },
};

const struct nla_policy hetmig_set_thread_policy[HETMIG_A_MAX + 1] = {
	[HETMIG_A_PID] = { .type = NLA_U32 },
	[HETMIG_A_TID] = { .type = NLA_U32 },
	[HETMIG_A_SIGMASK] = { .type = NLA_U64 },
	[HETMIG_A_ALTSTACK_SP] = { .type = NLA_U64 },
	[HETMIG_A_ALTSTACK_SIZE] = { .type = NLA_U64 },
	[HETMIG_A_ALTSTACK_FLAGS] = { .type = NLA_U32 },
	[HETMIG_A_CLEAR_CHILD_TID] = { .type = NLA_U64 },
	[HETMIG_A_ROBUST_LIST] = { .type = NLA_U64 },
	[HETMIG_A_RSEQ] = { .type = NLA_U64 },
	[HETMIG_A_RSEQ_SIG] = { .type = NLA_U32 },
	[HETMIG_A_REGSET] = NLA_POLICY_NESTED(regset_policy),
};

/* One mapping to create, checked. */
struct image_vma {
	unsigned long start, end, pgoff;
	u32 prot, flags;
	struct file *file;	/* a reference, or NULL for anonymous memory */
};

/* The mm_struct fields RESTORE_MM sets, in attribute order. */
static const int mm_field_attrs[] = {
	HETMIG_A_MM_START_CODE, HETMIG_A_MM_END_CODE,
	HETMIG_A_MM_START_DATA, HETMIG_A_MM_END_DATA,
	HETMIG_A_MM_START_BRK, HETMIG_A_MM_BRK, HETMIG_A_MM_START_STACK,
	HETMIG_A_MM_ARG_START, HETMIG_A_MM_ARG_END,
	HETMIG_A_MM_ENV_START, HETMIG_A_MM_ENV_END,
};

/* Pairs of mm_field_attrs indexes that are a range's start and end. */
static const unsigned int mm_field_ranges[][2] = {
	{ 0, 1 },	/* start_code, end_code */
	{ 2, 3 },	/* start_data, end_data */
	{ 4, 5 },	/* start_brk, brk */
	{ 7, 8 },	/* arg_start, arg_end */
	{ 9, 10 },	/* env_start, env_end */
};

struct mm_plan {
	struct image_vma *vmas;
	unsigned int n_vmas;
	unsigned long fields[ARRAY_SIZE(mm_field_attrs)];
	unsigned long auxv[AT_VECTOR_SIZE];
	size_t auxv_len;
};

static void free_plan(struct mm_plan *plan)
{
	unsigned int i;

	for (i = 0; i < plan->n_vmas; i++)
		if (plan->vmas[i].file)
			fput(plan->vmas[i].file);
	kvfree(plan->vmas);
}

static int file_refusal(const struct image_vma *v, struct netlink_ext_ack *extack)
{
	if (!v->file->f_op->mmap) {
		NL_SET_ERR_MSG_MOD(extack, "a mapping's file cannot be mapped");
		return -ENODEV;
	}
	if (!(v->file->f_mode & FMODE_READ) ||
	    ((v->flags & HETMIG_VMA_F_MAYSHARE) && (v->prot & HETMIG_PROT_WRITE) &&
	     !(v->file->f_mode & FMODE_WRITE))) {
		NL_SET_ERR_MSG_MOD(extack,
				   "a mapping's file is not open for its protection");
		return -EACCES;
	}
	return 0;
}

static int parse_vma(struct nlattr *nest, struct image_vma *v,
		     unsigned long prev_end, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[HETMIG_A_MAX + 1];
	int ret;

	ret = nla_parse_nested(tb, HETMIG_A_MAX, nest, vma_policy, extack);
	if (ret)
		return ret;
	if (!tb[HETMIG_A_VMA_START] || !tb[HETMIG_A_VMA_END] ||
	    !tb[HETMIG_A_VMA_PROT]) {
		NL_SET_ERR_MSG_MOD(extack, "a mapping needs START, END and PROT");
		goto bad;
	}
	v->start = nla_get_u64(tb[HETMIG_A_VMA_START]);
	v->end = nla_get_u64(tb[HETMIG_A_VMA_END]);
	v->prot = nla_get_u32(tb[HETMIG_A_VMA_PROT]);
	v->flags = tb[HETMIG_A_VMA_FLAGS] ? nla_get_u32(tb[HETMIG_A_VMA_FLAGS]) : 0;
	v->pgoff = tb[HETMIG_A_VMA_PGOFF] ? nla_get_u64(tb[HETMIG_A_VMA_PGOFF]) : 0;

	if (!PAGE_ALIGNED(v->start) || !PAGE_ALIGNED(v->end) ||
	    !PAGE_ALIGNED(v->pgoff) || v->start >= v->end ||
	    v->end > TASK_SIZE) {
		NL_SET_ERR_MSG_MOD(extack,
				   "a mapping is not a page-aligned range of user addresses");
		goto bad;
	}
	if (v->start < prev_end) {
		NL_SET_ERR_MSG_MOD(extack, "mappings overlap or are not in address order");
		goto bad;
	}
	if (tb[HETMIG_A_VMA_FD]) {
		v->file = fget(nla_get_u32(tb[HETMIG_A_VMA_FD]));
		if (!v->file) {
			NL_SET_ERR_MSG_MOD(extack, "a mapping's file descriptor is not open");
			NL_SET_BAD_ATTR(extack, tb[HETMIG_A_VMA_FD]);
			return -EBADF;
		}
		/* What mmap(2) would refuse, refused now, while nothing changed. */
		ret = file_refusal(v, extack);
		if (ret) {
			NL_SET_BAD_ATTR(extack, tb[HETMIG_A_VMA_FD]);
			fput(v->file);
			v->file = NULL;
			return ret;
		}
	} else if (v->pgoff) {
		NL_SET_ERR_MSG_MOD(extack, "an anonymous mapping has a file offset");
		goto bad;
	}
	return 0;
bad:
	NL_SET_BAD_ATTR(extack, nest);
	return -EINVAL;
}

static int parse_plan(struct genl_info *info, struct mm_plan *plan)
{
	struct netlink_ext_ack *extack = info->extack;
	unsigned long prev_end = 0;
	unsigned int i, count = 0;
	struct nlattr *a;
	int rem, ret;

	for (i = 0; i < ARRAY_SIZE(mm_field_attrs); i++) {
		a = info->attrs[mm_field_attrs[i]];
		if (!a) {
			NL_SET_ERR_MSG_MOD(extack, "an mm layout field is missing");
			return -EINVAL;
		}
		plan->fields[i] = nla_get_u64(a);
		if (plan->fields[i] > TASK_SIZE) {
			NL_SET_ERR_MSG_MOD(extack, "an mm layout field is not a user address");
			NL_SET_BAD_ATTR(extack, a);
			return -EINVAL;
		}
	}
	/*
	 * The ranges the kernel reads these as (brk(2) grows and shrinks from
	 * them, /proc shows them) must be ranges, as prctl(PR_SET_MM_MAP)
	 * demands of the same fields.
	 */
	for (i = 0; i < ARRAY_SIZE(mm_field_ranges); i++) {
		if (plan->fields[mm_field_ranges[i][0]] >
		    plan->fields[mm_field_ranges[i][1]]) {
			NL_SET_ERR_MSG_MOD(extack,
					   "an mm layout range ends before it starts (code, data, brk, args or environment)");
			return -EINVAL;
		}
	}
	a = info->attrs[HETMIG_A_MM_AUXV];
	if (a) {
		plan->auxv_len = nla_len(a);
		if (plan->auxv_len % (2 * sizeof(unsigned long))) {
			NL_SET_ERR_MSG_MOD(extack, "auxv is not a list of pairs");
			NL_SET_BAD_ATTR(extack, a);
			return -EINVAL;
		}
		memcpy(plan->auxv, nla_data(a), plan->auxv_len);
	}

	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem)
		count += nla_type(a) == HETMIG_A_VMA;
	if (!count) {
		NL_SET_ERR_MSG_MOD(extack, "the image has no mappings");
		return -EINVAL;
	}
	plan->vmas = kvcalloc(count, sizeof(*plan->vmas), GFP_KERNEL);
	if (!plan->vmas)
		return -ENOMEM;

	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(a) != HETMIG_A_VMA)
			continue;
		ret = parse_vma(a, &plan->vmas[plan->n_vmas], prev_end, extack);
		if (ret)
			return ret;
		prev_end = plan->vmas[plan->n_vmas++].end;
	}
	return 0;
}

/*
 * The caller keeps its own vdso and vvar (the destination kernel's), moved
 * beforehand to where the image had them; nothing may be mapped over them.
 */
static int check_specials(struct mm_struct *mm, const struct mm_plan *plan,
			  struct netlink_ext_ack *extack)
{
	struct vm_area_struct *vma;
	unsigned int i;
	int ret = 0;

	mmap_read_lock(mm);
	for (i = 0; i < plan->n_vmas && !ret; i++) {
		vma = find_vma_intersection(mm, plan->vmas[i].start,
					    plan->vmas[i].end);
		if (vma && hetmig_vma_is_special(vma)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "an image mapping overlaps the caller's vdso or vvar");
			ret = -EEXIST;
		}
	}
	mmap_read_unlock(mm);
	return ret;
}

/* The caller must be traced, and its other threads stopped. */
static int check_restorer(struct netlink_ext_ack *extack)
{
	struct task_struct *t;
	int ret = 0;

	if (!current->mm) {
		NL_SET_ERR_MSG_MOD(extack, "the caller has no address space");
		return -EINVAL;
	}
	rcu_read_lock();
	if (!(current->ptrace & PT_PTRACED)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the caller is not traced: its tracer must finish the rebuild");
		ret = -EPERM;
	}
	for_each_thread(current, t) {
		if (ret)
			break;
		if (t != current && !task_is_traced(t)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "another thread of the caller is not in a ptrace stop");
			ret = -EBUSY;
		}
	}
	rcu_read_unlock();
	return ret;
}

/* Unmaps everything of current's but the kernel's own special mappings. */
static int unmap_all(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	unsigned long *ranges;
	unsigned int i, n = 0, cap;
	int ret = 0;

	mmap_read_lock(mm);
	cap = mm->map_count;
	ranges = kvmalloc_array(cap, 2 * sizeof(*ranges), GFP_KERNEL);
	if (ranges) {
		VMA_ITERATOR(vmi, mm, 0);

		for_each_vma(vmi, vma) {
			if (hetmig_vma_is_special(vma) || n == cap)
				continue;
			ranges[2 * n] = vma->vm_start;
			ranges[2 * n + 1] = vma->vm_end;
			n++;
		}
	}
	mmap_read_unlock(mm);
	if (!ranges)
		return -ENOMEM;

	for (i = 0; i < n && !ret; i++)
		ret = vm_munmap(ranges[2 * i], ranges[2 * i + 1] - ranges[2 * i]);
	kvfree(ranges);
	return ret;
}

static int map_one(const struct image_vma *v)
{
	unsigned long flags = MAP_FIXED_NOREPLACE, prot = 0, addr;

	flags |= v->flags & HETMIG_VMA_F_MAYSHARE ? MAP_SHARED : MAP_PRIVATE;
	if (!v->file)
		flags |= MAP_ANONYMOUS;
	if (v->flags & HETMIG_VMA_F_GROWSDOWN)
		flags |= MAP_GROWSDOWN;
	if (v->flags & HETMIG_VMA_F_NORESERVE)
		flags |= MAP_NORESERVE;
	if (v->prot & HETMIG_PROT_READ)
		prot |= PROT_READ;
	if (v->prot & HETMIG_PROT_WRITE)
		prot |= PROT_WRITE;
	if (v->prot & HETMIG_PROT_EXEC)
		prot |= PROT_EXEC;

	addr = vm_mmap(v->file, v->start, v->end - v->start, prot, flags,
		       v->pgoff);
	if (IS_ERR_VALUE(addr))
		return (int)addr;
	return addr == v->start ? 0 : -EEXIST;
}

/* Past the point of no return: current's old mappings go. */
static int rebuild(struct mm_struct *mm, const struct mm_plan *plan)
{
	unsigned long *field[] = {
		&mm->start_code, &mm->end_code, &mm->start_data, &mm->end_data,
		&mm->start_brk, &mm->brk, &mm->start_stack,
		&mm->arg_start, &mm->arg_end, &mm->env_start, &mm->env_end,
	};
	unsigned int i;
	int ret;

	BUILD_BUG_ON(ARRAY_SIZE(field) != ARRAY_SIZE(mm_field_attrs));
	ret = unmap_all(mm);
	for (i = 0; i < plan->n_vmas && !ret; i++)
		ret = map_one(&plan->vmas[i]);
	if (ret)
		return ret;

	mmap_write_lock(mm);
	for (i = 0; i < ARRAY_SIZE(field); i++)
		*field[i] = plan->fields[i];
	if (plan->auxv_len) {
		memset(mm->saved_auxv, 0, sizeof(mm->saved_auxv));
		memcpy(mm->saved_auxv, plan->auxv, plan->auxv_len);
	}
	mmap_write_unlock(mm);

#ifdef CONFIG_RSEQ
	/* The caller's rseq area was in the memory just replaced. */
	current->rseq = NULL;
	current->rseq_sig = 0;
#endif
	return 0;
}

int hetmig_restore_mm_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mm_plan *plan;
	struct nlattr *a;
	int rem, ret;

	ret = check_restorer(info->extack);
	if (ret)
		return ret;
	plan = kvzalloc(sizeof(*plan), GFP_KERNEL);
	if (!plan)
		return -ENOMEM;
	ret = parse_plan(info, plan);
	if (!ret)
		ret = check_specials(current->mm, plan, info->extack);
	if (ret)
		goto out;

	ret = rebuild(current->mm, plan);
	if (ret) {
		/* Half an address space: nothing can run here any more. */
		pr_warn_ratelimited("hetmig: rebuilding the address space of %d failed (%d); killed\n",
				    task_pid_nr(current), ret);
		force_sig(SIGKILL);
		goto out;
	}
	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem)
		if (nla_type(a) == HETMIG_A_CLOSE_FD)
			close_fd(nla_get_u32(a));
	/* Stop before user space: the tracer sets the registers next. */
	send_sig_info(SIGSTOP, SEND_SIG_PRIV, current);
out:
	free_plan(plan);
	kvfree(plan);
	return ret;
}

int hetmig_write_pages_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	unsigned long addr, len, off;
	struct task_struct *target;
	const char __user *ubuf;
	void *chunk;
	int ret = 0;

	if (GENL_REQ_ATTR_CHECK(info, HETMIG_A_PAGES_ADDR) ||
	    GENL_REQ_ATTR_CHECK(info, HETMIG_A_PAGES_BUF) ||
	    GENL_REQ_ATTR_CHECK(info, HETMIG_A_PAGES_LEN)) {
		NL_SET_ERR_MSG_MOD(extack, "PAGES_ADDR, PAGES_BUF and PAGES_LEN are required");
		return -EINVAL;
	}
	addr = nla_get_u64(info->attrs[HETMIG_A_PAGES_ADDR]);
	ubuf = u64_to_user_ptr(nla_get_u64(info->attrs[HETMIG_A_PAGES_BUF]));
	len = nla_get_u64(info->attrs[HETMIG_A_PAGES_LEN]);
	if (len > WRITE_PAGES_MAX || addr > TASK_SIZE || len > TASK_SIZE - addr) {
		NL_SET_ERR_MSG_MOD(extack, "the range is too long or not in user space");
		return -EINVAL;
	}

	target = hetmig_request_target(info);
	if (IS_ERR(target))
		return PTR_ERR(target);
	chunk = kvmalloc(WRITE_PAGES_CHUNK, GFP_KERNEL);
	if (!chunk) {
		ret = -ENOMEM;
		goto out;
	}
	for (off = 0; off < len && !ret; off += WRITE_PAGES_CHUNK) {
		unsigned int n = min_t(unsigned long, len - off, WRITE_PAGES_CHUNK);

		if (copy_from_user(chunk, ubuf + off, n)) {
			NL_SET_ERR_MSG_MOD(extack, "the caller's buffer is not readable");
			ret = -EFAULT;
		} else if (access_process_vm(target, addr + off, chunk, n,
					     FOLL_FORCE | FOLL_WRITE) != n) {
			NL_SET_ERR_MSG_MOD(extack, "the range is not mapped in the target");
			ret = -EFAULT;
		} else if (fatal_signal_pending(current)) {
			ret = -EINTR;
		}
		cond_resched();
	}
	kvfree(chunk);
out:
	put_task_struct(target);
	return ret;
}

/* The thread TID of LEADER's group, with a reference, or NULL. */
static struct task_struct *group_thread(struct task_struct *leader, u32 tid)
{
	struct task_struct *t;

	rcu_read_lock();
	t = pid_task(find_vpid(tid), PIDTYPE_PID);
	if (t && same_thread_group(t, leader))
		get_task_struct(t);
	else
		t = NULL;
	rcu_read_unlock();
	return t;
}

/*
 * A register set may change what the thread is, not only where it is: on
 * x86_64 the view of a task (64-bit or ia32) follows its code segment, so a
 * written CS of 0x23 would switch the next lookup to another view. Only the
 * 64-bit user mode the thread is in now may be written; see regset_keeps_mode().
 */
static bool thread_is_native(struct task_struct *t)
{
#if defined(CONFIG_X86_64)
	return user_64bit_mode(task_pt_regs(t));
#elif defined(CONFIG_ARM64)
	return !is_compat_thread(task_thread_info(t));
#endif
}

/* The u64 at OFFSET of a set's data, if the data reaches that far. */
static bool regset_field(const struct nlattr *data, size_t offset, u64 *value)
{
	if (nla_len(data) < offset + sizeof(*value))
		return false;
	memcpy(value, (const u8 *)nla_data(data) + offset, sizeof(*value));
	return true;
}

static bool regset_keeps_mode(unsigned int note, const struct nlattr *data)
{
	u64 v;

	if (note != NT_PRSTATUS)
		return true;
#if defined(CONFIG_X86_64)
	if (regset_field(data, offsetof(struct user_regs_struct, cs), &v) &&
	    v != __USER_CS)
		return false;
	if (regset_field(data, offsetof(struct user_regs_struct, ss), &v) &&
	    v != __USER_DS)
		return false;
#elif defined(CONFIG_ARM64)
	if (regset_field(data, offsetof(struct user_pt_regs, pstate), &v) &&
	    (v & (PSR_MODE32_BIT | PSR_MODE_MASK)) != PSR_MODE_EL0t)
		return false;
#endif
	return true;
}

/*
 * The set NEST asks to write, looked up in VIEW (taken once per request, so
 * both passes see the same sets), with its data in *DATA; NULL and an
 * extack message if it cannot be written as given.
 */
static const struct user_regset *settable_regset(const struct user_regset_view *view,
						 struct nlattr *nest,
						 struct nlattr **data,
						 struct netlink_ext_ack *extack)
{
	struct nlattr *tb[HETMIG_A_MAX + 1];
	unsigned int i, note;

	if (nla_parse_nested(tb, HETMIG_A_MAX, nest, regset_policy, extack))
		return NULL;
	if (!tb[HETMIG_A_REGSET_NOTE] || !tb[HETMIG_A_REGSET_DATA]) {
		NL_SET_ERR_MSG_MOD(extack, "a regset needs REGSET_NOTE and REGSET_DATA");
		NL_SET_BAD_ATTR(extack, nest);
		return NULL;
	}
	note = nla_get_u32(tb[HETMIG_A_REGSET_NOTE]);
	*data = tb[HETMIG_A_REGSET_DATA];
	for (i = 0; i < view->n; i++) {
		const struct user_regset *rs = &view->regsets[i];

		if (rs->core_note_type != note)
			continue;
		if (!rs->set) {
			NL_SET_ERR_MSG_MOD(extack, "this register set cannot be written");
			break;
		}
		if (nla_len(*data) > rs->n * rs->size ||
		    nla_len(*data) % rs->size) {
			NL_SET_ERR_MSG_MOD(extack, "register set data of the wrong size");
			break;
		}
		if (!regset_keeps_mode(note, *data)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "register values would leave 64-bit user mode (code/stack segment or PSTATE mode)");
			break;
		}
		return rs;
	}
	if (i == view->n)
		NL_SET_ERR_MSG_MOD(extack, "this kernel has no such register set");
	NL_SET_BAD_ATTR(extack, nest);
	return NULL;
}

static int set_sigmask(struct task_struct *t, u64 bits)
{
	struct sighand_struct *sighand;
	sigset_t mask = { .sig = { bits } };
	int ret = -ESRCH;

	BUILD_BUG_ON(_NSIG_WORDS != 1);
	sigdelsetmask(&mask, sigmask(SIGKILL) | sigmask(SIGSTOP));
	rcu_read_lock();
	sighand = rcu_dereference(t->sighand);
	if (sighand) {
		spin_lock_irq(&sighand->siglock);
		if (t->sighand == sighand) {
			t->blocked = mask;
			ret = 0;
		}
		spin_unlock_irq(&sighand->siglock);
	}
	rcu_read_unlock();
	return ret;
}

static int set_thread_fields(struct task_struct *t, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	int ret = 0;

	if (attrs[HETMIG_A_ALTSTACK_SIZE]) {
		u64 sp = attrs[HETMIG_A_ALTSTACK_SP] ?
			 nla_get_u64(attrs[HETMIG_A_ALTSTACK_SP]) : 0;
		u64 size = nla_get_u64(attrs[HETMIG_A_ALTSTACK_SIZE]);
		u32 flags = attrs[HETMIG_A_ALTSTACK_FLAGS] ?
			    nla_get_u32(attrs[HETMIG_A_ALTSTACK_FLAGS]) : 0;

		bool off = (flags & SS_DISABLE) || !size;

		if (!off && (size < MINSIGSTKSZ || sp > TASK_SIZE)) {
			NL_SET_ERR_MSG_MOD(info->extack, "the alternate signal stack is not valid");
			return -EINVAL;
		}
		if (off) {
			sp = 0;
			size = 0;
			flags = SS_DISABLE;
		} else {
			flags &= SS_FLAG_BITS;
		}
		t->sas_ss_sp = sp;
		t->sas_ss_size = size;
		t->sas_ss_flags = flags;
	}
	if (attrs[HETMIG_A_CLEAR_CHILD_TID])
		t->clear_child_tid =
			u64_to_user_ptr(nla_get_u64(attrs[HETMIG_A_CLEAR_CHILD_TID]));
	if (attrs[HETMIG_A_ROBUST_LIST])
		t->robust_list =
			u64_to_user_ptr(nla_get_u64(attrs[HETMIG_A_ROBUST_LIST]));
#ifdef CONFIG_RSEQ
	if (attrs[HETMIG_A_RSEQ]) {
		t->rseq = u64_to_user_ptr(nla_get_u64(attrs[HETMIG_A_RSEQ]));
		t->rseq_sig = attrs[HETMIG_A_RSEQ_SIG] ?
			      nla_get_u32(attrs[HETMIG_A_RSEQ_SIG]) : 0;
		/* Let the kernel fill the area in before user code runs. */
		rseq_set_notify_resume(t);
	}
#endif
	if (attrs[HETMIG_A_SIGMASK])
		ret = set_sigmask(t, nla_get_u64(attrs[HETMIG_A_SIGMASK]));
	return ret;
}

int hetmig_set_thread_doit(struct sk_buff *skb, struct genl_info *info)
{
	const struct user_regset_view *view;
	struct task_struct *leader, *t;
	struct nlattr *a, *data;
	int rem, ret = 0;

	if (GENL_REQ_ATTR_CHECK(info, HETMIG_A_TID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing HETMIG_A_TID");
		return -EINVAL;
	}
	leader = hetmig_request_target(info);
	if (IS_ERR(leader))
		return PTR_ERR(leader);
	t = group_thread(leader, nla_get_u32(info->attrs[HETMIG_A_TID]));
	put_task_struct(leader);
	if (!t) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such thread in the target");
		NL_SET_BAD_ATTR(info->extack, info->attrs[HETMIG_A_TID]);
		return -ESRCH;
	}

	if (!thread_is_native(t)) {
		NL_SET_ERR_MSG_MOD(info->extack, "the thread is not in 64-bit user mode");
		ret = -EINVAL;
		goto out;
	}
	view = task_user_regset_view(t);

	/* Check every set before writing any. */
	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(a) == HETMIG_A_REGSET &&
		    !settable_regset(view, a, &data, info->extack)) {
			ret = -EINVAL;
			goto out;
		}
	}
	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		const struct user_regset *rs;

		if (nla_type(a) != HETMIG_A_REGSET)
			continue;
		/* Checked above; checked again rather than trusted. */
		rs = settable_regset(view, a, &data, info->extack);
		if (WARN_ON_ONCE(!rs)) {
			ret = -EINVAL;
			goto out;
		}
		ret = rs->set(t, rs, 0, nla_len(data), nla_data(data), NULL);
		if (ret) {
			NL_SET_ERR_MSG_MOD(info->extack, "the kernel refused a register set");
			NL_SET_BAD_ATTR(info->extack, a);
			goto out;
		}
	}
	ret = set_thread_fields(t, info);
out:
	put_task_struct(t);
	return ret;
}
