// SPDX-License-Identifier: GPL-2.0
/*
 * Finding the process a request names, and deciding whether the caller may
 * read it. The rule (see uapi/linux/hetmig.h) leans on ptrace: the caller
 * must be the tracer of every thread, and every thread must be stopped.
 * Whoever got that far passed the kernel's own ptrace checks (credentials,
 * Yama, LSMs), and a stopped thread cannot change its state under us.
 * A reader may also read a process another caller holds frozen, with the
 * holder's uid or CAP_SYS_PTRACE (freeze.c); writers never.
 */

#include <linux/delay.h>
#include <linux/pid.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>

#include <net/genetlink.h>
#include <linux/hetmig.h>

#include "compat.h"
#include "freeze.h"
#include "target.h"

/*
 * A tracee marks itself stopped just before it schedules out, so its
 * registers may still be live on a CPU for a moment: ptrace waits that out
 * (wait_task_inactive, not exported) before it touches a tracee. So do we,
 * polling: a short spin under RCU, then a sleep outside it. A bound in
 * spins alone was too short where CPUs are slow to make progress (an
 * aarch64 guest under TCG beside another guest on 2 host cores answered
 * EBUSY to a stopped tracee in 2 tests of one run).
 */
#define OFF_CPU_SPINS		1000
#define OFF_CPU_TRIES		1000	/* sleeps of 1-2 ms: 1-2 s in all */

static bool off_cpu(struct task_struct *t)
{
	unsigned int spins;

	for (spins = 0; spins < OFF_CPU_SPINS; spins++) {
		if (!READ_ONCE(t->on_cpu))
			return true;
		cpu_relax();
	}
	return false;
}

/*
 * One look at the threads. HELD: the caller may read a process another
 * caller holds frozen. *ON_CPU is set when the only problem is a stopped
 * thread still on a CPU: worth another look.
 */
static int check_threads_once(struct task_struct *leader, bool held, bool *on_cpu,
			      struct netlink_ext_ack *extack)
{
	struct task_struct *t;
	int ret = 0;

	*on_cpu = false;
	rcu_read_lock();
	for_each_thread(leader, t) {
		if (!(t->ptrace & PT_PTRACED) ||
		    (!held && rcu_dereference(t->parent) != current)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a thread of the target is not traced by the caller (PTRACE_SEIZE it first)");
			ret = -EPERM;
			break;
		}
		if (!task_is_traced(t) || !off_cpu(t)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a thread of the target is not in a ptrace stop");
			*on_cpu = task_is_traced(t);
			ret = -EBUSY;
			break;
		}
	}
	rcu_read_unlock();
	return ret;
}

static int check_threads(struct task_struct *leader, bool held,
			 struct netlink_ext_ack *extack)
{
	unsigned int tries;
	bool on_cpu;
	int ret;

	for (tries = 0; ; tries++) {
		ret = check_threads_once(leader, held, &on_cpu, extack);
		if (ret != -EBUSY || !on_cpu || tries == OFF_CPU_TRIES)
			return ret;
		usleep_range(1000, 2000);
	}
}

/*
 * Returns the thread group leader of pid NR (in the caller's pid namespace)
 * with a reference held, or an ERR_PTR with an extack message. READER is
 * the request of a caller that only reads (NULL for one that writes): it
 * may read a process frozen by another caller it may act for.
 */
static struct task_struct *target_get(u32 nr, const struct sk_buff *reader,
				      struct netlink_ext_ack *extack)
{
	struct task_struct *task, *leader;
	struct pid *pid;
	int ret;

	if (!nr || nr > PID_MAX_LIMIT) {
		NL_SET_ERR_MSG_MOD(extack, "pid out of range");
		return ERR_PTR(-EINVAL);
	}
	pid = find_get_pid(nr);
	task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (!task) {
		NL_SET_ERR_MSG_MOD(extack, "no such process");
		return ERR_PTR(-ESRCH);
	}

	rcu_read_lock();
	leader = get_task_struct(rcu_dereference(task->group_leader));
	rcu_read_unlock();
	put_task_struct(task);

	if (leader->flags & PF_KTHREAD) {
		NL_SET_ERR_MSG_MOD(extack, "the target is a kernel thread");
		ret = -EINVAL;
	} else if (same_thread_group(leader, current)) {
		NL_SET_ERR_MSG_MOD(extack, "the target is the caller itself");
		ret = -EINVAL;
	} else if (leader->exit_state || (leader->flags & PF_EXITING)) {
		NL_SET_ERR_MSG_MOD(extack, "the target is exiting or a zombie");
		ret = -ESRCH;
	} else {
		ret = check_threads(leader, reader && hetmig_frozen_for_reader(leader, reader),
				    extack);
	}
	if (ret) {
		put_task_struct(leader);
		return ERR_PTR(ret);
	}
	return leader;
}

/* Changes when a thread joins or leaves the group: for NLM_F_DUMP_INTR. */
u32 hetmig_threads_generation(struct task_struct *leader)
{
	struct task_struct *t;
	u32 gen = 1;

	rcu_read_lock();
	for_each_thread(leader, t)
		gen = gen * 31 + t->pid;
	rcu_read_unlock();
	return gen ? gen : 1;
}

static struct task_struct *request_target(const struct sk_buff *reader,
					  struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, HETMIG_A_PID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing HETMIG_A_PID");
		return ERR_PTR(-EINVAL);
	}
	return target_get(nla_get_u32(info->attrs[HETMIG_A_PID]), reader,
			  info->extack);
}

/* The target a request names by HETMIG_A_PID, checked as above. */
struct task_struct *hetmig_request_target(struct genl_info *info)
{
	return request_target(NULL, info);
}

/* The same for a request SKB that only reads the target. */
struct task_struct *hetmig_read_target(const struct sk_buff *skb, struct genl_info *info)
{
	return request_target(skb, info);
}

/*
 * The pid a dump request names, or -EINVAL with a message. Dumps check
 * their request in the first dumpit call rather than in start, because
 * 6.1 reports the extack of that call (in NLMSG_DONE) but not of start.
 */
static int hetmig_dump_pid(struct netlink_callback *cb)
{
	struct nlattr *pid = hetmig_dump_attr(cb, HETMIG_A_PID);

	if (!pid) {
		NL_SET_ERR_MSG_MOD(cb->extack, "missing HETMIG_A_PID");
		return -EINVAL;
	}
	if (!nla_get_u32(pid) || nla_get_u32(pid) > PID_MAX_LIMIT) {
		NL_SET_ERR_MSG_MOD(cb->extack, "pid out of range");
		return -EINVAL;
	}
	return nla_get_u32(pid);
}

/*
 * The target of a dump: named by the request on the first call and
 * remembered in *PID for the next ones, checked again on every call.
 */
struct task_struct *hetmig_dump_target(struct netlink_callback *cb, long *pid)
{
	if (!*pid) {
		int nr = hetmig_dump_pid(cb);

		if (nr < 0)
			return ERR_PTR(nr);
		*pid = nr;
	}
	/* Dumps only read: cb->skb is the request. */
	return target_get(*pid, cb->skb, cb->extack);
}

/*
 * What a dumpit returns after filling SKB with result RET: a full skb is a
 * pause (the next call goes on), not an error, unless nothing fit at all.
 */
int hetmig_dump_result(struct sk_buff *skb, int ret)
{
	if (ret < 0 && (ret != -EMSGSIZE || !skb->len))
		return ret;
	return skb->len;
}
