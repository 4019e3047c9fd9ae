// SPDX-License-Identifier: GPL-2.0
/*
 * Freezes: a record of who holds a ptrace-stopped process, with events for
 * listeners. The stop itself is ptrace's (see uapi/linux/hetmig.h): that
 * keeps SIGCONT from resuming the process, lets SIGKILL kill it, and
 * releases it when the holder dies, all by the kernel's own rules.
 *
 * Lifetime: a freeze lives in freeze_list under freeze_lock. It ends by
 * THAW, by its holder's socket closing (netlink notifier), by the
 * process's exit, or by module unload.
 *
 * The exit: a waiter on every thread's pidfd wait queue, which the kernel
 * wakes as that thread exits. 6.1 also wakes the leader's when a traced
 * leader exits before its other threads; 6.12 only once they are gone,
 * which for threads the holder traces is when the holder reaps them. So
 * any thread's exit starts a check of the leader, repeated until the
 * leader is exiting (a frozen thread exits only when the whole process
 * is killed).
 */

#include <linux/cred.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include "freeze.h"
#include "hetmig.h"
#include "netlink.h"
#include "target.h"

struct freeze;

/* A waiter on one thread's pidfd wait queue. */
struct exit_waiter {
	struct wait_queue_entry wait;
	struct pid *pid;
	struct freeze *freeze;
};

struct freeze {
	struct list_head node;		/* in freeze_list; empty once ended */
	struct pid *pid;		/* the thread group's leader */
	u32 nr;				/* the pid in the holder's namespace */
	struct net *net;		/* the holder's socket */
	u32 portid;
	kuid_t holder_euid;
	struct exit_waiter *waiters;	/* one per thread at the freeze */
	unsigned int nr_waiters;
	bool waiting;			/* the waiters are on their queues */
	bool lost_thread;		/* one had exited before its waiter */
	struct delayed_work exit_work;
};

static struct workqueue_struct *exit_wq;
static LIST_HEAD(freeze_list);
static DEFINE_MUTEX(freeze_lock);
static bool shutting_down;

static void notify(struct net *net, u8 cmd, u32 nr, u32 reason)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &hetmig_genl_family, 0, cmd);
	if (!hdr || nla_put_u32(skb, HETMIG_A_PID, nr) ||
	    (reason && nla_put_u32(skb, HETMIG_A_THAW_REASON, reason))) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&hetmig_genl_family, net, skb, 0,
				HETMIG_MCGRP_EVENTS_ID, GFP_KERNEL);
}

static void free_freeze(struct freeze *f)
{
	unsigned int i;

	for (i = 0; i < f->nr_waiters; i++)
		put_pid(f->waiters[i].pid);
	kfree(f->waiters);
	put_pid(f->pid);
	put_net(f->net);
	kfree(f);
}

/*
 * Ends a freeze that was taken off the list by the caller: no wakeup can
 * reach it afterwards, and no exit work is left running.
 */
static void remove_waiters(struct freeze *f)
{
	unsigned int i;

	if (!f->waiting)
		return;
	for (i = 0; i < f->nr_waiters; i++)
		remove_wait_queue(&f->waiters[i].pid->wait_pidfd, &f->waiters[i].wait);
	f->waiting = false;
}

static void end_freeze(struct freeze *f, u8 event, u32 reason)
{
	remove_waiters(f);
	cancel_delayed_work_sync(&f->exit_work);
	notify(f->net, event, f->nr, reason);
	free_freeze(f);
}

static bool leader_exiting(struct freeze *f)
{
	struct task_struct *leader;
	bool exiting;

	rcu_read_lock();
	leader = pid_task(f->pid, PIDTYPE_PID);
	exiting = !leader || leader->exit_state || (leader->flags & PF_EXITING);
	rcu_read_unlock();
	return exiting;
}

static void exit_work_fn(struct work_struct *work)
{
	struct freeze *f = container_of(to_delayed_work(work), struct freeze, exit_work);
	bool mine;

	/* Another thread went first: the leader follows, soon. */
	if (!leader_exiting(f)) {
		queue_delayed_work(exit_wq, &f->exit_work, msecs_to_jiffies(10));
		return;
	}
	mutex_lock(&freeze_lock);
	mine = !list_empty(&f->node);
	list_del_init(&f->node);
	mutex_unlock(&freeze_lock);
	/* Whoever took it off the list ends it; here that is only us. */
	if (!mine)
		return;
	remove_waiters(f);
	/*
	 * A wakeup between this work's start and remove_waiters() queued it
	 * again: a traced leader's pidfd queue is woken at its exit and again
	 * when a tracer that is not its parent reaps it (and, with threads,
	 * when the last one is released). No wakeup can come now; drop that
	 * one, else it runs on the freeze freed below. Not the _sync
	 * variant: that would wait for this very run.
	 */
	cancel_delayed_work(&f->exit_work);
	notify(f->net, HETMIG_CMD_EXITED, f->nr, 0);
	free_freeze(f);
}

/* Runs in the exiting task's context with a spinlock held: defer. */
static int exit_wake_fn(struct wait_queue_entry *wait, unsigned int mode,
			int sync, void *key)
{
	struct exit_waiter *w = container_of(wait, struct exit_waiter, wait);

	queue_delayed_work(exit_wq, &w->freeze->exit_work, 0);
	return 0;
}

/*
 * Whether a thread of the freeze is gone or on its way: a frozen thread
 * exits only when its whole process is killed.
 */
static bool thread_exiting(struct freeze *f)
{
	struct task_struct *t;
	bool exiting = f->lost_thread;
	unsigned int i;

	rcu_read_lock();
	for (i = 0; i < f->nr_waiters && !exiting; i++) {
		t = pid_task(f->waiters[i].pid, PIDTYPE_PID);
		exiting = !t || t->exit_state || (t->flags & PF_EXITING);
	}
	rcu_read_unlock();
	return exiting;
}

/*
 * One waiter per thread of LEADER's process. Its threads are all stopped
 * (FREEZE checks), so none is created meanwhile.
 */
static int add_thread_waiters(struct freeze *f, struct task_struct *leader)
{
	struct task_struct *t;
	unsigned int n, i = 0;

	n = get_nr_threads(leader);
	f->waiters = kcalloc(n, sizeof(*f->waiters), GFP_KERNEL);
	if (!f->waiters)
		return -ENOMEM;
	rcu_read_lock();
	for_each_thread(leader, t) {
		if (i == n)
			break;
		f->waiters[i].pid = get_task_pid(t, PIDTYPE_PID);
		if (!f->waiters[i].pid) {
			f->lost_thread = true;	/* released already */
			continue;
		}
		f->waiters[i].freeze = f;
		init_waitqueue_func_entry(&f->waiters[i].wait, exit_wake_fn);
		i++;
	}
	rcu_read_unlock();
	f->nr_waiters = i;
	return 0;
}

static struct freeze *find_locked(struct pid *pid)
{
	struct freeze *f;

	lockdep_assert_held(&freeze_lock);
	list_for_each_entry(f, &freeze_list, node)
		if (f->pid == pid)
			return f;
	return NULL;
}

int hetmig_freeze_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct task_struct *leader;
	struct freeze *f;
	unsigned int i;
	int ret = 0;

	leader = hetmig_request_target(info);
	if (IS_ERR(leader))
		return PTR_ERR(leader);

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f) {
		put_task_struct(leader);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&f->node);
	f->pid = get_task_pid(leader, PIDTYPE_PID);
	f->nr = task_tgid_vnr(leader);
	f->net = get_net(genl_info_net(info));
	f->portid = info->snd_portid;
	f->holder_euid = current_euid();
	INIT_DELAYED_WORK(&f->exit_work, exit_work_fn);
	ret = add_thread_waiters(f, leader);
	put_task_struct(leader);
	if (ret) {
		free_freeze(f);
		return ret;
	}

	mutex_lock(&freeze_lock);
	if (shutting_down) {
		NL_SET_ERR_MSG_MOD(info->extack, "hetmig.ko is being removed");
		ret = -ESHUTDOWN;
	} else if (find_locked(f->pid)) {
		NL_SET_ERR_MSG_MOD(info->extack, "the process is frozen already");
		ret = -EBUSY;
	} else {
		list_add(&f->node, &freeze_list);
		for (i = 0; i < f->nr_waiters; i++)
			add_wait_queue(&f->waiters[i].pid->wait_pidfd, &f->waiters[i].wait);
		f->waiting = true;
		/*
		 * Under the lock: from here the exit work may end the freeze
		 * (it takes the lock to), and FROZEN goes out before EXITED.
		 */
		notify(f->net, HETMIG_CMD_FROZEN, f->nr, 0);
		/*
		 * A thread that began to exit after the target check woke its
		 * queue before our waiter was on it: that wakeup is lost, so
		 * look. A later one finds the waiter (add_wait_queue and the
		 * wakeup take the queue's lock; PF_EXITING is set before it).
		 */
		if (thread_exiting(f))
			queue_delayed_work(exit_wq, &f->exit_work, 0);
	}
	mutex_unlock(&freeze_lock);
	if (ret)
		free_freeze(f);
	return ret;
}

/* The holder's user, or CAP_SYS_PTRACE: who may act for a holder. */
static bool may_act_for_holder(const struct sk_buff *skb, const struct freeze *f)
{
	if (uid_eq(f->holder_euid, current_euid()))
		return true;
	return netlink_capable(skb, CAP_SYS_PTRACE);
}

static bool may_thaw(struct sk_buff *skb, struct genl_info *info,
		     const struct freeze *f)
{
	if (f->portid == info->snd_portid && net_eq(f->net, genl_info_net(info)))
		return true;
	return may_act_for_holder(skb, f);
}

/*
 * Whether the sender of SKB may read LEADER's state while another caller
 * holds it frozen (uapi/linux/hetmig.h, "Reading a process").
 */
bool hetmig_frozen_for_reader(struct task_struct *leader, const struct sk_buff *skb)
{
	struct freeze *f;
	bool ok;

	mutex_lock(&freeze_lock);
	f = find_locked(task_pid(leader));
	ok = f && may_act_for_holder(skb, f);
	mutex_unlock(&freeze_lock);
	return ok;
}

int hetmig_thaw_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct freeze *f = NULL;
	struct pid *pid;
	int ret = 0;

	if (GENL_REQ_ATTR_CHECK(info, HETMIG_A_PID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "missing HETMIG_A_PID");
		return -EINVAL;
	}
	pid = find_get_pid(nla_get_u32(info->attrs[HETMIG_A_PID]));
	if (!pid) {
		NL_SET_ERR_MSG_MOD(info->extack, "no such process");
		return -ESRCH;
	}

	mutex_lock(&freeze_lock);
	f = find_locked(pid);
	if (!f) {
		NL_SET_ERR_MSG_MOD(info->extack, "the process is not frozen");
		ret = -ENOENT;
	} else if (!may_thaw(skb, info, f)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "only the holder, its user or CAP_SYS_PTRACE may thaw");
		ret = -EPERM;
	} else {
		list_del_init(&f->node);
	}
	mutex_unlock(&freeze_lock);
	put_pid(pid);

	if (!ret)
		end_freeze(f, HETMIG_CMD_THAWED, HETMIG_THAW_REQUESTED);
	return ret;
}

/* Ends every freeze matching NET/PORTID (all of them if NET is NULL). */
static void end_freezes_of(struct net *net, u32 portid, u32 reason)
{
	struct freeze *f, *tmp;
	LIST_HEAD(ended);

	mutex_lock(&freeze_lock);
	list_for_each_entry_safe(f, tmp, &freeze_list, node)
		if (!net || (net_eq(f->net, net) && f->portid == portid))
			list_move(&f->node, &ended);
	mutex_unlock(&freeze_lock);

	list_for_each_entry_safe(f, tmp, &ended, node) {
		list_del_init(&f->node);
		end_freeze(f, HETMIG_CMD_THAWED, reason);
	}
}

static int netlink_release(struct notifier_block *nb, unsigned long event,
			   void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC)
		end_freezes_of(n->net, n->portid, HETMIG_THAW_HOLDER_GONE);
	return NOTIFY_DONE;
}

static struct notifier_block release_notifier = {
	.notifier_call = netlink_release,
};

int __init hetmig_freeze_init(void)
{
	int ret;

	exit_wq = alloc_workqueue("hetmig_exit", 0, 0);
	if (!exit_wq)
		return -ENOMEM;
	ret = netlink_register_notifier(&release_notifier);
	if (ret)
		destroy_workqueue(exit_wq);
	return ret;
}

/* Called while the family is still registered, so listeners hear of it. */
void hetmig_freeze_uninit(void)
{
	mutex_lock(&freeze_lock);
	shutting_down = true;
	mutex_unlock(&freeze_lock);
	netlink_unregister_notifier(&release_notifier);
	end_freezes_of(NULL, 0, HETMIG_THAW_UNLOAD);
	/* Drains exit work that took its freeze off the list before us. */
	destroy_workqueue(exit_wq);
}
