// SPDX-License-Identifier: GPL-2.0
/*
 * Finding the process a request names, and deciding whether the caller may
 * read it. The rule (see uapi/linux/hetmig.h) leans on ptrace: the caller
 * must be the tracer of every thread, and every thread must be stopped.
 * Whoever got that far passed the kernel's own ptrace checks (credentials,
 * Yama, LSMs), and a stopped thread cannot change its state under us.
 */

#include <linux/pid.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>

#include <net/genetlink.h>
#include <linux/hetmig.h>

#include "target.h"

/*
 * A tracee marks itself stopped just before it schedules out, so its
 * registers may still be live on a CPU for a moment. Wait that out, as
 * ptrace itself does before it touches a tracee.
 */
static bool wait_off_cpu(struct task_struct *t)
{
	unsigned int spins;

	for (spins = 0; spins < 1000000; spins++) {
		if (!READ_ONCE(t->on_cpu))
			return true;
		cpu_relax();
	}
	return false;
}

static int check_threads(struct task_struct *leader,
			 struct netlink_ext_ack *extack)
{
	struct task_struct *t;
	int ret = 0;

	rcu_read_lock();
	for_each_thread(leader, t) {
		if (!(t->ptrace & PT_PTRACED) ||
		    rcu_dereference(t->parent) != current) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a thread of the target is not traced by the caller (PTRACE_SEIZE it first)");
			ret = -EPERM;
			break;
		}
		if (!task_is_traced(t) || !wait_off_cpu(t)) {
			NL_SET_ERR_MSG_MOD(extack,
					   "a thread of the target is not in a ptrace stop");
			ret = -EBUSY;
			break;
		}
	}
	rcu_read_unlock();
	return ret;
}

/*
 * Returns the thread group leader of pid NR (in the caller's pid namespace)
 * with a reference held, or an ERR_PTR with an extack message.
 */
struct task_struct *hetmig_target_get(u32 nr, struct netlink_ext_ack *extack)
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
		ret = check_threads(leader, extack);
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

/* The target a request names by HETMIG_A_PID, checked as above. */
struct task_struct *hetmig_request_target(struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, HETMIG_A_PID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing HETMIG_A_PID");
		return ERR_PTR(-EINVAL);
	}
	return hetmig_target_get(nla_get_u32(info->attrs[HETMIG_A_PID]),
				 info->extack);
}

/*
 * The pid a dump request names, or -EINVAL with a message. Dumps check
 * their request in the first dumpit call rather than in start, because
 * 6.1 reports the extack of that call (in NLMSG_DONE) but not of start.
 */
static int hetmig_dump_pid(struct netlink_callback *cb)
{
	struct nlattr *pid = genl_dumpit_info(cb)->attrs[HETMIG_A_PID];

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
	return hetmig_target_get(*pid, cb->extack);
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
