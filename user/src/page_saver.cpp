// SPDX-License-Identifier: GPL-2.0
#include "page_saver.h"

#include <cerrno>
#include <cstring>
#include <memory>

#include <linux/hetmig.h>
#include <netlink/genl/genl.h>

namespace hetmig {

namespace {

Result<NlMsg> save_request(GenlClient &client, pid_t pid, uint64_t addr, uint64_t len,
			   int fd, uint64_t offset, bool sum = true)
{
	auto req = client.pid_request(HETMIG_CMD_SAVE_PAGES, uint32_t(pid));
	if (!req)
		return std::unexpected(req.error());
	if (nla_put_u64(req->get(), HETMIG_A_PAGES_ADDR, addr) ||
	    nla_put_u64(req->get(), HETMIG_A_PAGES_LEN, len) ||
	    nla_put_u32(req->get(), HETMIG_A_PAGES_FD, uint32_t(fd)) ||
	    nla_put_u64(req->get(), HETMIG_A_PAGES_FILE_OFFSET, offset) ||
	    (!sum && nla_put_flag(req->get(), HETMIG_A_PAGES_UNSUMMED)))
		return fail(EMSGSIZE, "SAVE_PAGES");
	return req;
}

Result<uint64_t> save(GenlClient &client, pid_t pid, uint64_t addr, uint64_t len, int fd,
		      uint64_t offset, bool sum)
{
	auto req = save_request(client, pid, addr, len, fd, offset, sum);
	if (!req)
		return std::unexpected(req.error());
	auto parse = [sum](const nlmsghdr *nlh) -> Result<uint64_t> {
		nlattr *tb[HETMIG_A_MAX + 1] = {};
		if (genlmsg_parse(const_cast<nlmsghdr *>(nlh), 0, tb, HETMIG_A_MAX, nullptr) < 0 ||
		    (sum && !tb[HETMIG_A_PAGES_SUM]))
			return fail(EBADMSG, "SAVE_PAGES: a reply without the sum");
		return sum ? nla_get_u64(tb[HETMIG_A_PAGES_SUM]) : 0;
	};
	return request_one<uint64_t>(client, std::move(*req), parse, "SAVE_PAGES");
}

} // namespace

Result<bool> kernel_saves_pages(GenlClient &client)
{
	auto req = save_request(client, getpid(), 0, 0, -1, 0);
	if (!req)
		return std::unexpected(req.error());
	auto r = client.ack(std::move(*req), "SAVE_PAGES");
	if (r)
		return fail(EPROTO, "SAVE_PAGES of an empty range succeeded");
	if (r.error().code == EOPNOTSUPP)
		return false;
	if (r.error().code == EINVAL)
		return true;
	return std::unexpected(r.error());
}

Result<PageSaver> page_saver(std::span<const pid_t> pids)
{
	auto client = GenlClient::connect();
	if (!client)
		return std::unexpected(client.error());
	auto has = kernel_saves_pages(*client);
	if (!has)
		return std::unexpected(has.error());
	if (!*has)
		return PageSaver{};
	auto owned = std::make_shared<GenlClient>(std::move(*client));
	std::vector<pid_t> tree(pids.begin(), pids.end());
	return [owned, tree](size_t process, uint64_t addr, uint64_t len, int fd,
			     uint64_t offset, bool sum) -> Result<uint64_t> {
		if (process >= tree.size())
			return fail(EINVAL, "SAVE_PAGES: no such process of the tree");
		return save(*owned, tree[process], addr, len, fd, offset, sum);
	};
}

} // namespace hetmig
