// SPDX-License-Identifier: GPL-2.0
/*
 * HETMIG_CMD_SAVE_PAGES: a stopped target's memory written into a file of
 * the caller, with the XXH64 of what was written. A dump otherwise copies
 * every page twice (process_vm_readv into the companion's buffer, write(2)
 * into the page cache); here the target's pages are pinned a batch at a
 * time, summed and handed to the file system as pages, which copies them
 * once into the file.
 */

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/bvec.h>
#include <linux/fsnotify.h>
#include <linux/highmem.h>
#include <linux/uio.h>
#include <linux/xxhash.h>

#include <net/genetlink.h>
#include <linux/hetmig.h>

#include "hetmig.h"
#include "netlink.h"
#include "pages.h"
#include "target.h"

/* Pages pinned and mapped at once: 256 KiB of 4 KiB pages. */
#define SAVE_PAGES_BATCH	64
/* One request's most: a bound on the time it holds the target's pages. */
#define SAVE_PAGES_MAX		(64UL << 20)

const struct nla_policy hetmig_save_pages_policy[HETMIG_A_MAX + 1] = {
	[HETMIG_A_PID] = { .type = NLA_U32 },
	[HETMIG_A_PAGES_ADDR] = { .type = NLA_U64 },
	[HETMIG_A_PAGES_LEN] = { .type = NLA_U64 },
	[HETMIG_A_PAGES_FD] = { .type = NLA_U32 },
	[HETMIG_A_PAGES_FILE_OFFSET] = { .type = NLA_U64 },
	[HETMIG_A_PAGES_UNSUMMED] = { .type = NLA_FLAG },
};

/*
 * NR pages of MM from ADDR, pinned into PAGES as ptrace's PEEK reads them
 * (unreadable mappings the target may read too); how many, or an errno.
 * The vmas argument went away in 6.5 (Kbuild asks the headers).
 */
static long pin_target_pages(struct mm_struct *mm, unsigned long addr,
			     unsigned long nr, struct page **pages)
{
	long got;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
#ifdef HETMIG_GUP_TAKES_VMAS
	got = get_user_pages_remote(mm, addr, nr, FOLL_FORCE, pages, NULL, NULL);
#else
	got = get_user_pages_remote(mm, addr, nr, FOLL_FORCE, pages, NULL);
#endif
	mmap_read_unlock(mm);
	return got;
}

static void unpin_target_pages(struct page **pages, long nr)
{
	while (nr--)
		put_page(pages[nr]);
}

/*
 * NR pinned PAGES into FILE at *POS, as a vector of pages (no kernel
 * mapping of them, no copy but the file's own): what splice does into a
 * file. Not vfs_iter_write(), which takes the file's freeze protection on
 * 6.12 and leaves it to the caller on 6.1; the file system's write_iter
 * under file_start_write() is the same on both.
 */
static ssize_t write_pages(struct file *file, struct page **pages, struct bio_vec *vec,
			   long nr, loff_t *pos)
{
	struct iov_iter iter;
	struct kiocb kiocb;
	ssize_t ret;
	long i;

	for (i = 0; i < nr; i++)
		bvec_set_page(&vec[i], pages[i], PAGE_SIZE, 0);
	iov_iter_bvec(&iter, ITER_SOURCE, vec, nr, nr << PAGE_SHIFT);
	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = *pos;
	file_start_write(file);
	ret = file->f_op->write_iter(&kiocb, &iter);
	file_end_write(file);
	if (ret > 0) {
		*pos = kiocb.ki_pos;
		fsnotify_modify(file);
	}
	return ret;
}

static void sum_pages(struct xxh64_state *state, struct page **pages, long nr)
{
	long i;

	for (i = 0; i < nr; i++) {
		void *kaddr = kmap_local_page(pages[i]);

		xxh64_update(state, kaddr, PAGE_SIZE);
		kunmap_local(kaddr);
	}
}

/*
 * [ADDR, ADDR + LEN) of MM into FILE at *POS, summed into STATE unless it
 * is NULL; 0 or an errno with EXTACK set.
 */
static int save_range(struct mm_struct *mm, unsigned long addr, unsigned long len,
		      struct file *file, loff_t *pos, struct xxh64_state *state,
		      struct netlink_ext_ack *extack)
{
	struct page **pages;
	struct bio_vec *vec;
	unsigned long done;
	int ret = 0;

	pages = kmalloc_array(SAVE_PAGES_BATCH, sizeof(*pages), GFP_KERNEL);
	vec = kmalloc_array(SAVE_PAGES_BATCH, sizeof(*vec), GFP_KERNEL);
	if (!pages || !vec) {
		ret = -ENOMEM;
		goto out;
	}
	for (done = 0; done < len; ) {
		unsigned long nr = min_t(unsigned long, (len - done) >> PAGE_SHIFT,
					 SAVE_PAGES_BATCH);
		size_t bytes;
		ssize_t written;
		long got;

		got = pin_target_pages(mm, addr + done, nr, pages);
		if (got <= 0) {
			NL_SET_ERR_MSG_MOD(extack, "the range is not mapped in the target");
			ret = got ? got : -EFAULT;
			break;
		}
		bytes = (size_t)got << PAGE_SHIFT;
		if (state)
			sum_pages(state, pages, got);
		written = write_pages(file, pages, vec, got, pos);
		unpin_target_pages(pages, got);
		if (written != bytes) {
			NL_SET_ERR_MSG_MOD(extack, "writing the file failed");
			ret = written < 0 ? written : -ENOSPC;
			break;
		}
		done += bytes;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
out:
	kfree(vec);
	kfree(pages);
	return ret;
}

/* The caller's descriptor FD, if a regular file it may write at offsets. */
static struct file *writable_file(u32 fd, struct netlink_ext_ack *extack)
{
	struct file *file = fget(fd);

	if (!file) {
		NL_SET_ERR_MSG_MOD(extack, "PAGES_FD is not an open descriptor");
		return ERR_PTR(-EBADF);
	}
	if (!(file->f_mode & FMODE_WRITE)) {
		NL_SET_ERR_MSG_MOD(extack, "PAGES_FD is not open for writing");
		fput(file);
		return ERR_PTR(-EBADF);
	}
	if (!S_ISREG(file_inode(file)->i_mode) || (file->f_flags & O_APPEND) ||
	    !(file->f_mode & FMODE_PWRITE)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "PAGES_FD is not a regular file writable at an offset (O_APPEND?)");
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file;
}

/* The reply: with the sum, or (UNSUMMED) an empty message. */
static int reply_sum(struct genl_info *info, const u64 *sum)
{
	struct sk_buff *reply;
	void *hdr;

	reply = genlmsg_new(nla_total_size_64bit(sizeof(u64)), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &hetmig_genl_family, 0,
				HETMIG_CMD_SAVE_PAGES);
	if (!hdr || (sum && nla_put_u64_64bit(reply, HETMIG_A_PAGES_SUM, *sum, 0))) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

int hetmig_save_pages_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct task_struct *target;
	struct xxh64_state state;
	unsigned long addr, len;
	struct mm_struct *mm;
	struct file *file;
	bool summed;
	loff_t pos;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, HETMIG_A_PAGES_ADDR) ||
	    GENL_REQ_ATTR_CHECK(info, HETMIG_A_PAGES_LEN) ||
	    GENL_REQ_ATTR_CHECK(info, HETMIG_A_PAGES_FD) ||
	    GENL_REQ_ATTR_CHECK(info, HETMIG_A_PAGES_FILE_OFFSET)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "PAGES_ADDR, PAGES_LEN, PAGES_FD and PAGES_FILE_OFFSET are required");
		return -EINVAL;
	}
	addr = nla_get_u64(info->attrs[HETMIG_A_PAGES_ADDR]);
	len = nla_get_u64(info->attrs[HETMIG_A_PAGES_LEN]);
	pos = nla_get_u64(info->attrs[HETMIG_A_PAGES_FILE_OFFSET]);
	if (!len || len > SAVE_PAGES_MAX || !PAGE_ALIGNED(addr) || !PAGE_ALIGNED(len) ||
	    addr > TASK_SIZE || len > TASK_SIZE - addr) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the range is empty, too long, not page-aligned or not in user space");
		return -EINVAL;
	}
	if (pos < 0 || pos > MAX_LFS_FILESIZE - (loff_t)len) {
		NL_SET_ERR_MSG_MOD(extack, "PAGES_FILE_OFFSET out of range");
		return -EINVAL;
	}

	file = writable_file(nla_get_u32(info->attrs[HETMIG_A_PAGES_FD]), extack);
	if (IS_ERR(file))
		return PTR_ERR(file);
	target = hetmig_read_target(skb, info);
	if (IS_ERR(target)) {
		ret = PTR_ERR(target);
		goto out_file;
	}
	mm = get_task_mm(target);
	put_task_struct(target);
	if (!mm) {
		NL_SET_ERR_MSG_MOD(extack, "the target has no address space");
		ret = -ESRCH;
		goto out_file;
	}

	summed = !info->attrs[HETMIG_A_PAGES_UNSUMMED];
	xxh64_reset(&state, 0);
	ret = save_range(mm, addr, len, file, &pos, summed ? &state : NULL, extack);
	mmput(mm);
	if (!ret) {
		u64 sum = xxh64_digest(&state);

		ret = reply_sum(info, summed ? &sum : NULL);
	}
out_file:
	fput(file);
	return ret;
}
