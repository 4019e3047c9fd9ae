// SPDX-License-Identifier: GPL-2.0
/*
 * HETMIG_CMD_GET_REGS: every thread of a stopped process with its register
 * sets, read through the kernel's regsets so the layouts are those of
 * PTRACE_GETREGSET and core files.
 */

#include <linux/elf.h>
#include <linux/regset.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/hetmig.h>

#include "hetmig.h"
#include "netlink.h"
#include "regs.h"
#include "target.h"

#if defined(CONFIG_X86_64)
#include <asm/user.h>
/* fs_base is a field of NT_PRSTATUS (struct user_regs_struct). */
#define TP_NOTE		NT_PRSTATUS
#define TP_OFFSET	offsetof(struct user_regs_struct, fs_base)
#elif defined(CONFIG_ARM64)
/* NT_ARM_TLS starts with tpidr_el0. */
#define TP_NOTE		NT_ARM_TLS
#define TP_OFFSET	0
#endif

/* Where a dump stands, kept in cb->args between calls. */
struct regs_cursor {
	long pid;	/* the request's pid */
	long tid;	/* global tid of the thread being sent, 0 before any */
	long step;	/* 0: the thread's own message; k: regset k - 1 */
	long done;
};

static struct regs_cursor *cursor(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct regs_cursor) > sizeof(cb->args));
	return (struct regs_cursor *)cb->args;
}

/*
 * The thread after global tid TID in LEADER's group (the first if TID is 0),
 * with a reference, or NULL at the end or when TID has gone.
 */
static struct task_struct *next_thread_after(struct task_struct *leader,
					     long tid)
{
	struct task_struct *t, *found = NULL;
	bool take = !tid;

	rcu_read_lock();
	for_each_thread(leader, t) {
		if (take) {
			found = get_task_struct(t);
			break;
		}
		if (t->pid == tid)
			take = true;
	}
	rcu_read_unlock();
	return found;
}

static struct task_struct *find_thread(struct task_struct *leader, long tid)
{
	struct task_struct *t, *found = NULL;

	rcu_read_lock();
	for_each_thread(leader, t) {
		if (t->pid == tid) {
			found = get_task_struct(t);
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static const struct user_regset *find_regset(const struct user_regset_view *view,
					     unsigned int note)
{
	unsigned int i;

	for (i = 0; i < view->n; i++)
		if (view->regsets[i].core_note_type == note)
			return &view->regsets[i];
	return NULL;
}

static int thread_pointer(struct task_struct *t, u64 *tp)
{
	const struct user_regset *rs;
	u8 buf[TP_OFFSET + sizeof(u64)];
	int ret;

	rs = find_regset(task_user_regset_view(t), TP_NOTE);
	if (!rs)
		return -ENODEV;
	ret = regset_get(t, rs, sizeof(buf), buf);
	if (ret < 0)
		return ret;
	memcpy(tp, buf + TP_OFFSET, sizeof(*tp));
	return 0;
}

static int put_thread(struct sk_buff *skb, struct task_struct *t)
{
	unsigned long sp = user_stack_pointer(task_pt_regs(t));
	u32 ss_flags;
	u64 tp;
	int ret;

	ret = thread_pointer(t, &tp);
	if (ret)
		return ret;

	if (!t->sas_ss_size)
		ss_flags = SS_DISABLE;
	else if (sp - t->sas_ss_sp < t->sas_ss_size)
		ss_flags = SS_ONSTACK | t->sas_ss_flags;
	else
		ss_flags = t->sas_ss_flags;

	if (nla_put_u32(skb, HETMIG_A_TID, task_pid_vnr(t)) ||
	    nla_put_u32(skb, HETMIG_A_ARCH, HETMIG_THIS_ARCH) ||
	    nla_put_u64_64bit(skb, HETMIG_A_SIGMASK, t->blocked.sig[0], 0) ||
	    nla_put_u64_64bit(skb, HETMIG_A_THREAD_POINTER, tp, 0) ||
	    nla_put_u64_64bit(skb, HETMIG_A_ALTSTACK_SP, t->sas_ss_sp, 0) ||
	    nla_put_u64_64bit(skb, HETMIG_A_ALTSTACK_SIZE, t->sas_ss_size, 0) ||
	    nla_put_u32(skb, HETMIG_A_ALTSTACK_FLAGS, ss_flags) ||
	    nla_put_u64_64bit(skb, HETMIG_A_CLEAR_CHILD_TID,
			      (unsigned long)t->clear_child_tid, 0) ||
	    nla_put_u64_64bit(skb, HETMIG_A_ROBUST_LIST,
			      (unsigned long)t->robust_list, 0))
		return -EMSGSIZE;
#ifdef CONFIG_RSEQ
	if (t->rseq &&
	    (nla_put_u64_64bit(skb, HETMIG_A_RSEQ, (unsigned long)t->rseq, 0) ||
	     nla_put_u32(skb, HETMIG_A_RSEQ_SIG, t->rseq_sig)))
		return -EMSGSIZE;
#endif
	return 0;
}

/* 1 if the regset was put, 0 if the thread does not have it, or -errno. */
static int put_regset(struct sk_buff *skb, struct task_struct *t,
		      const struct user_regset *rs)
{
	void *data = NULL;
	int len, ret = 0;

	if (!rs->core_note_type)
		return 0;
	if (rs->active && rs->active(t, rs) <= 0)
		return 0;
	len = regset_get_alloc(t, rs, rs->n * rs->size, &data);
	if (len == -ENODEV || len == -EINVAL)
		return 0;	/* not available on this CPU or in this mode */
	if (len < 0)
		return len;
	if (nla_put_u32(skb, HETMIG_A_TID, task_pid_vnr(t)) ||
	    nla_put_u32(skb, HETMIG_A_REGSET_NOTE, rs->core_note_type) ||
	    nla_put(skb, HETMIG_A_REGSET_DATA, len, data))
		ret = -EMSGSIZE;
	kfree(data);
	return ret ? ret : 1;
}

/* Emits the message for step STEP of thread T: 1 sent, 0 nothing to send. */
static int put_step(struct sk_buff *skb, struct netlink_callback *cb,
		    struct task_struct *t, const struct user_regset_view *view,
		    long step)
{
	void *hdr;
	int ret;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &hetmig_genl_family, NLM_F_MULTI, HETMIG_CMD_GET_REGS);
	if (!hdr)
		return -EMSGSIZE;
	genl_dump_check_consistent(cb, hdr);

	if (step == 0)
		ret = put_thread(skb, t) ? : 1;
	else
		ret = put_regset(skb, t, &view->regsets[step - 1]);

	if (ret <= 0) {
		genlmsg_cancel(skb, hdr);
		return ret;
	}
	genlmsg_end(skb, hdr);
	return 1;
}

/*
 * 6.1 drops the extack of a dump's start callback; errors found in the
 * first dumpit call reach the caller in NLMSG_DONE with their message. So
 * start only sizes the buffer: one regset per message, make room for the
 * largest one this architecture has.
 */
int hetmig_get_regs_start(struct netlink_callback *cb)
{
	const struct user_regset_view *view = task_user_regset_view(current);
	unsigned int i, largest = 0;

	for (i = 0; i < view->n; i++)
		largest = max(largest, view->regsets[i].n * view->regsets[i].size);
	cb->min_dump_alloc = max_t(u32, NLMSG_GOODSIZE, largest + 512);
	return 0;
}

int hetmig_get_regs_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct regs_cursor *c = cursor(cb);
	const struct user_regset_view *view;
	struct task_struct *leader, *t, *next;
	int ret = 0;

	if (c->done)
		return 0;
	leader = hetmig_dump_target(cb, &c->pid);
	if (IS_ERR(leader))
		return PTR_ERR(leader);
	cb->seq = hetmig_threads_generation(leader);
	view = task_user_regset_view(leader);

	/*
	 * Resume on the thread we were in. If it has gone, the generation
	 * changed and the reader is told (NLM_F_DUMP_INTR); stop there.
	 */
	t = c->tid ? find_thread(leader, c->tid) : next_thread_after(leader, 0);
	while (t) {
		c->tid = t->pid;
		for (; c->step <= view->n; c->step++) {
			ret = put_step(skb, cb, t, view, c->step);
			if (ret < 0)
				goto out;
		}
		c->step = 0;
		next = next_thread_after(leader, t->pid);
		put_task_struct(t);
		t = next;
	}
	c->done = 1;
out:
	if (t)
		put_task_struct(t);
	put_task_struct(leader);
	return hetmig_dump_result(skb, ret);
}
