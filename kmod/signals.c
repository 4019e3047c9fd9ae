// SPDX-License-Identifier: GPL-2.0
/*
 * HETMIG_CMD_GET_SIGNALS: the signal dispositions of a stopped process,
 * which a restore must install again.
 */

#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/build_bug.h>
#include <linux/hetmig.h>

#include "netlink.h"
#include "signals.h"
#include "target.h"

static_assert(_NSIG_WORDS == 1);

static bool is_default(const struct k_sigaction *ka)
{
	/* 64-bit only: one word holds the whole signal set */
	return ka->sa.sa_handler == SIG_DFL && !ka->sa.sa_flags &&
	       !ka->sa.sa_mask.sig[0];
}

static int put_sigaction(struct sk_buff *skb, int sig,
			 const struct k_sigaction *ka)
{
	unsigned long restorer = 0;
	struct nlattr *nest;

#ifdef __ARCH_HAS_SA_RESTORER
	restorer = (unsigned long)ka->sa.sa_restorer;
#endif
	nest = nla_nest_start(skb, HETMIG_A_SIGACTION);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, HETMIG_SA_SIGNAL, sig) ||
	    nla_put_u64_64bit(skb, HETMIG_SA_HANDLER,
			      (unsigned long)ka->sa.sa_handler, 0) ||
	    nla_put_u64_64bit(skb, HETMIG_SA_FLAGS, ka->sa.sa_flags, 0) ||
	    nla_put_u64_64bit(skb, HETMIG_SA_MASK, ka->sa.sa_mask.sig[0], 0) ||
	    nla_put_u64_64bit(skb, HETMIG_SA_RESTORER, restorer, 0)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

int hetmig_get_signals_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct k_sigaction *actions;
	struct task_struct *leader;
	struct sighand_struct *sighand;
	struct sk_buff *reply;
	bool copied = false;
	void *hdr;
	int i, ret;

	leader = hetmig_read_target(skb, info);
	if (IS_ERR(leader))
		return PTR_ERR(leader);

	ret = -ENOMEM;
	actions = kcalloc(_NSIG, sizeof(*actions), GFP_KERNEL);
	if (!actions)
		goto out_task;
	/*
	 * A stopped task cannot exec, so its sighand stays; but SIGKILL can
	 * still end it since it was checked, and an exited task has none.
	 */
	rcu_read_lock();
	sighand = rcu_dereference(leader->sighand);
	if (sighand) {
		spin_lock_irq(&sighand->siglock);
		/* Freed by RCU but reusable at once: still the leader's? */
		copied = leader->sighand == sighand;
		if (copied)
			memcpy(actions, sighand->action, _NSIG * sizeof(*actions));
		spin_unlock_irq(&sighand->siglock);
	}
	rcu_read_unlock();
	if (!copied) {
		NL_SET_ERR_MSG_MOD(info->extack, "the target exited");
		ret = -ESRCH;
		goto out_actions;
	}

	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply)
		goto out_actions;
	ret = -EMSGSIZE;
	hdr = genlmsg_put_reply(reply, info, &hetmig_genl_family, 0,
				HETMIG_CMD_GET_SIGNALS);
	if (!hdr)
		goto out_reply;
	for (i = 0; i < _NSIG; i++) {
		if (is_default(&actions[i]))
			continue;
		ret = put_sigaction(reply, i + 1, &actions[i]);
		if (ret)
			goto out_reply;
	}
	genlmsg_end(reply, hdr);
	kfree(actions);
	put_task_struct(leader);
	return genlmsg_reply(reply, info);

out_reply:
	nlmsg_free(reply);
out_actions:
	kfree(actions);
out_task:
	put_task_struct(leader);
	return ret;
}
