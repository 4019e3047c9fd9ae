// SPDX-License-Identifier: GPL-2.0
/*
 * HETMIG_CMD_GET_MM and HETMIG_CMD_GET_VMAS: the layout of a stopped
 * process's address space and its mappings, the way /proc/PID/maps names
 * them, with what a rebuild needs beyond that.
 */

#include <linux/auxvec.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/hetmig.h>

#include "netlink.h"
#include "target.h"
#include "vmas.h"

struct vmas_cursor {
	long pid;
	unsigned long addr;	/* next mapping at or above this address */
	long done;
};

static struct vmas_cursor *cursor(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct vmas_cursor) > sizeof(cb->args));
	return (struct vmas_cursor *)cb->args;
}

/*
 * The mm of LEADER (a target or an ERR_PTR from finding it), whose
 * reference this takes over; an ERR_PTR on failure.
 */
static struct mm_struct *mm_of(struct task_struct *leader,
			       struct netlink_ext_ack *extack)
{
	struct mm_struct *mm;

	if (IS_ERR(leader))
		return ERR_CAST(leader);
	mm = get_task_mm(leader);
	put_task_struct(leader);
	if (!mm) {
		NL_SET_ERR_MSG_MOD(extack, "the target has no address space");
		return ERR_PTR(-ESRCH);
	}
	return mm;
}

/* The saved auxv up to and including AT_NULL, in bytes. */
static size_t auxv_len(const struct mm_struct *mm)
{
	size_t i;

	for (i = 0; i + 1 < ARRAY_SIZE(mm->saved_auxv); i += 2)
		if (mm->saved_auxv[i] == AT_NULL)
			return (i + 2) * sizeof(mm->saved_auxv[0]);
	return sizeof(mm->saved_auxv);
}

static int put_mm(struct sk_buff *skb, struct mm_struct *mm)
{
	static const struct {
		int attr;
		size_t offset;
	} fields[] = {
		{ HETMIG_A_MM_START_CODE, offsetof(struct mm_struct, start_code) },
		{ HETMIG_A_MM_END_CODE, offsetof(struct mm_struct, end_code) },
		{ HETMIG_A_MM_START_DATA, offsetof(struct mm_struct, start_data) },
		{ HETMIG_A_MM_END_DATA, offsetof(struct mm_struct, end_data) },
		{ HETMIG_A_MM_START_BRK, offsetof(struct mm_struct, start_brk) },
		{ HETMIG_A_MM_BRK, offsetof(struct mm_struct, brk) },
		{ HETMIG_A_MM_START_STACK, offsetof(struct mm_struct, start_stack) },
		{ HETMIG_A_MM_ARG_START, offsetof(struct mm_struct, arg_start) },
		{ HETMIG_A_MM_ARG_END, offsetof(struct mm_struct, arg_end) },
		{ HETMIG_A_MM_ENV_START, offsetof(struct mm_struct, env_start) },
		{ HETMIG_A_MM_ENV_END, offsetof(struct mm_struct, env_end) },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		unsigned long v = *(unsigned long *)((char *)mm + fields[i].offset);

		if (nla_put_u64_64bit(skb, fields[i].attr, v, 0))
			return -EMSGSIZE;
	}
	if (nla_put_u32(skb, HETMIG_A_MM_MAP_COUNT, mm->map_count) ||
	    nla_put(skb, HETMIG_A_MM_AUXV, auxv_len(mm), mm->saved_auxv))
		return -EMSGSIZE;
	return 0;
}

int hetmig_get_mm_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *reply;
	struct mm_struct *mm;
	void *hdr;
	int ret;

	mm = mm_of(hetmig_read_target(skb, info), info->extack);
	if (IS_ERR(mm))
		return PTR_ERR(mm);

	ret = -ENOMEM;
	reply = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!reply)
		goto out_mm;
	ret = -EMSGSIZE;
	hdr = genlmsg_put_reply(reply, info, &hetmig_genl_family, 0,
				HETMIG_CMD_GET_MM);
	if (!hdr)
		goto out_free;

	ret = mmap_read_lock_killable(mm);
	if (ret)
		goto out_free;
	ret = put_mm(reply, mm);
	mmap_read_unlock(mm);
	if (ret)
		goto out_free;

	genlmsg_end(reply, hdr);
	mmput(mm);
	return genlmsg_reply(reply, info);

out_free:
	nlmsg_free(reply);
out_mm:
	mmput(mm);
	return ret;
}

/* A mapping the kernel installed itself ([vdso], [vvar], ...). */
bool hetmig_vma_is_special(struct vm_area_struct *vma)
{
	return !vma->vm_file && vma->vm_ops && vma->vm_ops->name &&
	       vma->vm_ops->name(vma);
}

static u32 vma_kind(struct vm_area_struct *vma, const char **name)
{
	struct mm_struct *mm = vma->vm_mm;

	*name = NULL;
	if (vma->vm_file)
		return HETMIG_VMA_FILE;
	if (vma->vm_ops && vma->vm_ops->name) {
		*name = vma->vm_ops->name(vma);
		if (*name)
			return HETMIG_VMA_SPECIAL;
	}
	/* The same tests /proc/PID/maps uses for [heap] and [stack]. */
	if (vma->vm_start <= mm->brk && vma->vm_end >= mm->start_brk)
		return HETMIG_VMA_HEAP;
	if (vma->vm_start <= mm->start_stack && vma->vm_end >= mm->start_stack)
		return HETMIG_VMA_STACK;
	return HETMIG_VMA_ANON;
}

static u32 vma_flags(const struct vm_area_struct *vma)
{
	u32 f = 0;

	if (vma->vm_flags & VM_SHARED)
		f |= HETMIG_VMA_F_SHARED;
	if (vma->vm_flags & VM_MAYSHARE)
		f |= HETMIG_VMA_F_MAYSHARE;
	if (vma->vm_flags & VM_GROWSDOWN)
		f |= HETMIG_VMA_F_GROWSDOWN;
	if (vma->vm_flags & VM_LOCKED)
		f |= HETMIG_VMA_F_LOCKED;
	if (vma->vm_flags & VM_DONTCOPY)
		f |= HETMIG_VMA_F_DONTFORK;
	if (vma->vm_flags & VM_HUGETLB)
		f |= HETMIG_VMA_F_HUGETLB;
	if (vma->vm_flags & (VM_IO | VM_PFNMAP))
		f |= HETMIG_VMA_F_IO;
	if (vma->vm_flags & VM_NORESERVE)
		f |= HETMIG_VMA_F_NORESERVE;
	if (vma->vm_flags & VM_SEQ_READ)
		f |= HETMIG_VMA_F_SEQ_READ;
	if (vma->vm_flags & VM_RAND_READ)
		f |= HETMIG_VMA_F_RAND_READ;
	if (vma->vm_flags & VM_DONTDUMP)
		f |= HETMIG_VMA_F_DONTDUMP;
	if (vma->vm_flags & VM_MERGEABLE)
		f |= HETMIG_VMA_F_MERGEABLE;
	if (vma->vm_flags & VM_HUGEPAGE)
		f |= HETMIG_VMA_F_HUGEPAGE;
	if (vma->vm_flags & VM_NOHUGEPAGE)
		f |= HETMIG_VMA_F_NOHUGEPAGE;
	if (vma->vm_flags & VM_WIPEONFORK)
		f |= HETMIG_VMA_F_WIPEONFORK;
	return f;
}

static u32 vma_prot(const struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_READ ? HETMIG_PROT_READ : 0) |
	       (vma->vm_flags & VM_WRITE ? HETMIG_PROT_WRITE : 0) |
	       (vma->vm_flags & VM_EXEC ? HETMIG_PROT_EXEC : 0);
}

static int put_file(struct sk_buff *skb, struct file *file, char *pathbuf)
{
	struct inode *inode = file_inode(file);
	char *path = d_path(&file->f_path, pathbuf, PATH_MAX);

	if (IS_ERR(path))
		return PTR_ERR(path);
	if (nla_put_string(skb, HETMIG_A_VMA_PATH, path) ||
	    nla_put_u32(skb, HETMIG_A_VMA_DEV_MAJOR, MAJOR(inode->i_sb->s_dev)) ||
	    nla_put_u32(skb, HETMIG_A_VMA_DEV_MINOR, MINOR(inode->i_sb->s_dev)) ||
	    nla_put_u64_64bit(skb, HETMIG_A_VMA_INODE, inode->i_ino, 0))
		return -EMSGSIZE;
	return 0;
}

static int put_vma(struct sk_buff *skb, struct netlink_callback *cb,
		   struct vm_area_struct *vma, char *pathbuf)
{
	const char *name;
	u32 kind = vma_kind(vma, &name);
	u64 pgoff = vma->vm_file ? (u64)vma->vm_pgoff << PAGE_SHIFT : 0;
	void *hdr;
	int ret = -EMSGSIZE;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &hetmig_genl_family, NLM_F_MULTI, HETMIG_CMD_GET_VMAS);
	if (!hdr)
		return -EMSGSIZE;
	genl_dump_check_consistent(cb, hdr);

	if (nla_put_u64_64bit(skb, HETMIG_A_VMA_START, vma->vm_start, 0) ||
	    nla_put_u64_64bit(skb, HETMIG_A_VMA_END, vma->vm_end, 0) ||
	    nla_put_u32(skb, HETMIG_A_VMA_PROT, vma_prot(vma)) ||
	    nla_put_u32(skb, HETMIG_A_VMA_FLAGS, vma_flags(vma)) ||
	    nla_put_u32(skb, HETMIG_A_VMA_KIND, kind) ||
	    nla_put_u64_64bit(skb, HETMIG_A_VMA_PGOFF, pgoff, 0))
		goto cancel;
	if (vma->vm_file) {
		ret = put_file(skb, vma->vm_file, pathbuf);
		if (ret)
			goto cancel;
	}
	if (name && nla_put_string(skb, HETMIG_A_VMA_NAME, name)) {
		ret = -EMSGSIZE;
		goto cancel;
	}
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return ret;
}

/* 6.1 has no sequence count on the map; these move on any map change. */
static unsigned int map_generation(const struct mm_struct *mm)
{
	return (mm->map_count * 2654435761u) ^ mm->total_vm ^ (mm->brk >> 12);
}

int hetmig_get_vmas_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vmas_cursor *c = cursor(cb);
	struct vm_area_struct *vma;
	struct mm_struct *mm;
	char *pathbuf;
	int ret;

	if (c->done)
		return 0;
	mm = mm_of(hetmig_dump_target(cb, &c->pid), cb->extack);
	if (IS_ERR(mm))
		return PTR_ERR(mm);
	ret = -ENOMEM;
	pathbuf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!pathbuf)
		goto out_mm;
	ret = mmap_read_lock_killable(mm);
	if (ret)
		goto out_buf;

	cb->seq = map_generation(mm) ? : 1;
	for (vma = find_vma(mm, c->addr); vma; vma = find_vma(mm, vma->vm_end)) {
		ret = put_vma(skb, cb, vma, pathbuf);
		if (ret)
			break;
		c->addr = vma->vm_end;
	}
	if (!vma)
		c->done = 1;
	mmap_read_unlock(mm);

out_buf:
	kfree(pathbuf);
out_mm:
	mmput(mm);
	return hetmig_dump_result(skb, ret);
}
