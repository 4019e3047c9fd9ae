// SPDX-License-Identifier: GPL-2.0
// The image's metadata as a CBOR tree (Documentation/image.md): everything
// the image holds but its pages, self-describing, so keys are added
// without a new format version.
#include "image_metadata.h"

#include <netinet/in.h>
#include <sys/socket.h>

namespace hetmig {

namespace {

using nlohmann::json;

json::binary_t binary(const std::vector<uint8_t> &v)
{
	return json::binary_t(v);
}

json address_to_cbor(const InetAddress &a)
{
	size_t len = a.family == AF_INET6 ? 16 : 4;
	return {{"family", a.family},
		{"addr", binary(std::vector<uint8_t>(a.addr.begin(), a.addr.begin() + len))},
		{"port", a.port}, {"scope_id", a.scope_id}};
}

InetAddress address_from_cbor(const json &j)
{
	InetAddress a;
	a.family = j.at("family");
	const auto &bytes = j.at("addr").get_binary();
	if (bytes.size() != (a.family == AF_INET6 ? 16u : 4u))
		throw std::out_of_range("a socket address of another length than its family's");
	std::copy(bytes.begin(), bytes.end(), a.addr.begin());
	a.port = j.at("port");
	a.scope_id = j.at("scope_id");
	return a;
}

json tcp_to_cbor(const TcpSocket &s)
{
	json j = {{"state", s.state}, {"local", address_to_cbor(s.local)},
		  {"peer", address_to_cbor(s.peer)}, {"backlog", s.backlog},
		  {"reuseaddr", s.reuseaddr}, {"reuseport", s.reuseport},
		  {"keepalive", s.keepalive}, {"nodelay", s.nodelay}, {"v6only", s.v6only},
		  {"keep", {s.keepidle, s.keepintvl, s.keepcnt}},
		  {"sndbuf", s.sndbuf}, {"rcvbuf", s.rcvbuf}};
	if (s.freebind)
		j["freebind"] = true;
	if (const auto &c = s.connection)
		j["connection"] = {
			{"send_seq", c->send_seq}, {"recv_seq", c->recv_seq},
			{"send_queue", binary(c->send_queue)}, {"unsent", c->unsent},
			{"recv_queue", binary(c->recv_queue)}, {"mss", c->mss},
			{"options", c->options}, {"wscale", {c->snd_wscale, c->rcv_wscale}},
			{"timestamp", c->timestamp}, {"has_window", c->has_window},
			{"window", {c->snd_wl1, c->snd_wnd, c->max_window, c->rcv_wnd, c->rcv_wup}}};
	return j;
}

TcpSocket tcp_from_cbor(const json &j)
{
	TcpSocket s;
	s.state = j.at("state");
	s.local = address_from_cbor(j.at("local"));
	s.peer = address_from_cbor(j.at("peer"));
	s.backlog = j.at("backlog");
	s.reuseaddr = j.at("reuseaddr");
	s.reuseport = j.at("reuseport");
	s.keepalive = j.at("keepalive");
	s.nodelay = j.at("nodelay");
	s.v6only = j.at("v6only");
	const json &keep = j.at("keep");
	s.keepidle = keep.at(0);
	s.keepintvl = keep.at(1);
	s.keepcnt = keep.at(2);
	s.sndbuf = j.at("sndbuf");
	s.rcvbuf = j.at("rcvbuf");
	s.freebind = j.value("freebind", false);
	if (auto c = j.find("connection"); c != j.end()) {
		TcpConnection t;
		t.send_seq = c->at("send_seq");
		t.recv_seq = c->at("recv_seq");
		t.send_queue = c->at("send_queue").get_binary();
		t.unsent = c->at("unsent");
		t.recv_queue = c->at("recv_queue").get_binary();
		t.mss = c->at("mss");
		t.options = c->at("options");
		t.snd_wscale = c->at("wscale").at(0);
		t.rcv_wscale = c->at("wscale").at(1);
		t.timestamp = c->at("timestamp");
		t.has_window = c->at("has_window");
		const json &w = c->at("window");
		t.snd_wl1 = w.at(0);
		t.snd_wnd = w.at(1);
		t.max_window = w.at(2);
		t.rcv_wnd = w.at(3);
		t.rcv_wup = w.at(4);
		s.connection = std::move(t);
	}
	return s;
}

// One open file: the process's, or one of a tree's shared descriptions.
json file_to_cbor(const OpenFile &f)
{
	json file = {{"fd", f.fd}, {"path", f.path}, {"flags", f.flags},
		     {"offset", f.offset}, {"size", f.size},
		     {"mtime_ns", f.mtime_ns}, {"std", f.std_stream},
		     {"left_behind", f.left_behind}, {"dup_of", f.dup_of}};
	if (f.directory) {
		file["dir"] = true;
		file["inode"] = f.inode;
	}
	if (f.pipe)
		file["pipe"] = f.pipe;
	if (f.eventfd)
		file["eventfd"] = {{"count", f.eventfd->count},
				   {"semaphore", f.eventfd->semaphore}};
	if (f.timerfd)
		file["timerfd"] = {{"clockid", f.timerfd->clockid},
				   {"settime_flags", f.timerfd->settime_flags},
				   {"ticks", f.timerfd->ticks},
				   {"value", {f.timerfd->value.sec, f.timerfd->value.nsec}},
				   {"interval", {f.timerfd->interval.sec,
						 f.timerfd->interval.nsec}}};
	if (f.epoll) {
		json targets = json::array();
		for (const auto &t : *f.epoll) {
			json target = {{"fd", t.fd}, {"events", t.events}, {"data", t.data}};
			if (t.file_fd >= 0)
				target["file"] = t.file_fd;
			targets.push_back(target);
		}
		file["epoll"] = targets;
	}
	if (f.signalfd)
		file["signalfd"] = *f.signalfd;
	if (f.unix_socket)
		file["unix_socket"] = f.unix_socket;
	if (f.tcp)
		file["tcp"] = tcp_to_cbor(*f.tcp);
	if (f.udp)
		file["udp"] = {{"local", address_to_cbor(f.udp->local)},
			       {"peer", address_to_cbor(f.udp->peer)},
			       {"reuseaddr", f.udp->reuseaddr}, {"reuseport", f.udp->reuseport},
			       {"broadcast", f.udp->broadcast}, {"v6only", f.udp->v6only}};
	if (f.udp && f.udp->protocol != IPPROTO_UDP)
		file["udp"]["protocol"] = f.udp->protocol;
	if (f.udp && (f.udp->send_cscov || f.udp->recv_cscov))
		file["udp"]["cscov"] = {f.udp->send_cscov, f.udp->recv_cscov};
	if (f.udp && f.udp->shutdown)
		file["udp"]["shutdown"] = f.udp->shutdown;
	if (f.udp && f.udp->freebind)
		file["udp"]["freebind"] = true;
	if (f.rdev)
		file["rdev"] = f.rdev;
	if (f.fifo)
		file["fifo"] = true;
	if (!f.sockopts.empty()) {
		json opts = json::array();
		for (const auto &o : f.sockopts)
			opts.push_back({o.name, o.value});
		file["sockopts"] = opts;
	}
	if (f.tree_file >= 0)
		file["tree_file"] = f.tree_file;
	if (f.ghost != -1)
		file["ghost"] = f.ghost;
	if (f.in_flight)
		file["in_flight"] = true;
	if (!f.ns.empty())
		file["ns"] = f.ns;
	if (f.symlink)
		file["symlink"] = *f.symlink;
	if (f.proc_pid)
		file["proc_pid"] = f.proc_pid;
	if (f.owner)
		file["owner"] = {f.owner->type, f.owner->id, f.owner->signal};
	if (f.opened_by)
		file["opened_by"] = f.opened_by;
	return file;
}

OpenFile file_from_cbor(const json &f)
{
	OpenFile file{f.at("fd"), f.at("path"), f.at("flags"), f.at("offset"), f.at("size"),
		      f.at("mtime_ns"), f.at("std"), f.value("left_behind", ""),
		      f.value("dup_of", -1), f.value("dir", false),
		      f.value("inode", uint64_t(0))};
	file.pipe = f.value("pipe", uint64_t(0));
	if (auto e = f.find("eventfd"); e != f.end())
		file.eventfd = EventCounter{e->at("count"), e->at("semaphore")};
	if (auto t = f.find("timerfd"); t != f.end()) {
		const json &value = t->at("value"), &interval = t->at("interval");
		file.timerfd = TimerState{t->at("clockid"), t->at("settime_flags"),
					  t->at("ticks"), {value.at(0), value.at(1)},
					  {interval.at(0), interval.at(1)}};
	}
	if (auto e = f.find("epoll"); e != f.end()) {
		file.epoll.emplace();
		for (const auto &t : *e)
			file.epoll->push_back({t.at("fd"), t.at("events"), t.at("data"),
					       t.value("file", -1)});
	}
	if (auto s = f.find("signalfd"); s != f.end())
		file.signalfd = s->get<uint64_t>();
	file.unix_socket = f.value("unix_socket", uint64_t(0));
	if (auto t = f.find("tcp"); t != f.end())
		file.tcp = tcp_from_cbor(*t);
	if (auto u = f.find("udp"); u != f.end())
		file.udp = UdpSocket{address_from_cbor(u->at("local")), address_from_cbor(u->at("peer")),
				     u->at("reuseaddr"), u->at("reuseport"), u->at("broadcast"),
				     u->at("v6only")};
	if (auto u = f.find("udp"); u != f.end()) {
		file.udp->protocol = u->value("protocol", int(IPPROTO_UDP));
		if (auto c = u->find("cscov"); c != u->end()) {
			file.udp->send_cscov = c->at(0);
			file.udp->recv_cscov = c->at(1);
		}
		file.udp->shutdown = u->value("shutdown", uint8_t(0));
		file.udp->freebind = u->value("freebind", false);
	}
	file.rdev = f.value("rdev", uint64_t(0));
	file.fifo = f.value("fifo", false);
	if (auto o = f.find("sockopts"); o != f.end())
		for (const auto &opt : *o)
			file.sockopts.push_back({opt.at(0), opt.at(1)});
	file.tree_file = f.value("tree_file", int32_t(-1));
	file.ghost = f.value("ghost", int32_t(-1));
	file.in_flight = f.value("in_flight", false);
	file.ns = f.value("ns", "");
	if (auto l = f.find("symlink"); l != f.end())
		file.symlink = l->get<std::string>();
	file.proc_pid = f.value("proc_pid", int32_t(0));
	file.opened_by = f.value("opened_by", uint32_t(0));
	if (auto o = f.find("owner"); o != f.end())
		file.owner = FileOwner{o->at(0), o->at(1), o->at(2)};
	return file;
}

// Format 6: the tree's deleted files and memfds, their bytes with them
// (inside the metadata, under its checksum, like a pipe's).
json ghosts_to_cbor(const std::vector<GhostFile> &ghosts)
{
	json out = json::array();
	for (const auto &g : ghosts) {
		json extents = json::array();
		for (const auto &e : g.extents)
			extents.push_back({{"offset", e.offset}, {"data", binary(e.data)}});
		out.push_back({{"kind", g.kind}, {"path", g.path}, {"mode", g.mode},
			       {"uid", g.uid}, {"gid", g.gid}, {"size", g.size},
			       {"mtime_ns", g.mtime_ns}, {"extents", extents},
			       {"seals", g.seals}, {"shared", g.shared}, {"dev", g.dev},
			       {"inode", g.inode}});
	}
	return out;
}

std::vector<GhostFile> ghosts_from_cbor(const json &j)
{
	std::vector<GhostFile> out;
	for (const auto &g : j) {
		GhostFile ghost;
		ghost.kind = g.at("kind");
		ghost.path = g.at("path");
		ghost.mode = g.at("mode");
		ghost.uid = g.at("uid");
		ghost.gid = g.at("gid");
		ghost.size = g.at("size");
		ghost.mtime_ns = g.at("mtime_ns");
		for (const auto &e : g.at("extents"))
			ghost.extents.push_back({e.at("offset"), e.at("data").get_binary()});
		ghost.seals = g.at("seals");
		ghost.shared = g.at("shared");
		ghost.dev = g.at("dev");
		ghost.inode = g.at("inode");
		out.push_back(std::move(ghost));
	}
	return out;
}

json pairs_to_cbor(const std::vector<UnixPair> &pairs)
{
	json out = json::array();
	for (const auto &p : pairs) {
		json ends = json::array();
		for (const auto &e : p.ends) {
			json queued = json::array();
			for (const auto &m : e.queued)
				queued.push_back(binary(m));
			ends.push_back({{"inode", e.inode}, {"sndbuf", e.sndbuf}, {"queued", queued}});
			if (!e.rights.empty())
				ends.back()["rights"] = e.rights;
		}
		out.push_back({{"type", p.type}, {"ends", ends}});
	}
	return out;
}

std::vector<UnixPair> pairs_from_cbor(const json &j)
{
	std::vector<UnixPair> out;
	for (const auto &pair : j) {
		UnixPair p;
		p.type = pair.at("type");
		const json &ends = pair.at("ends");
		if (ends.size() != 2)
			throw std::out_of_range("a socket pair without two ends");
		for (size_t i = 0; i < 2; i++) {
			p.ends[i].inode = ends[i].at("inode");
			p.ends[i].sndbuf = ends[i].at("sndbuf");
			for (const auto &m : ends[i].at("queued"))
				p.ends[i].queued.push_back(m.get_binary());
			if (auto r = ends[i].find("rights"); r != ends[i].end())
				p.ends[i].rights = r->get<std::vector<std::vector<int>>>();
		}
		out.push_back(std::move(p));
	}
	return out;
}

json::binary_t name_bytes(const std::string &name)
{
	return json::binary_t(std::vector<uint8_t>(name.begin(), name.end()));
}

std::string name_from(const json &j)
{
	const auto &b = j.get_binary();
	return std::string(b.begin(), b.end());
}

json unix_sockets_to_cbor(const std::vector<UnixSocket> &sockets)
{
	json out = json::array();
	for (const auto &s : sockets) {
		json queued = json::array(), senders = json::array();
		for (const auto &m : s.queued)
			queued.push_back(binary(m));
		for (const auto &from : s.senders)
			senders.push_back(name_bytes(from));
		out.push_back({{"inode", s.inode}, {"type", s.type}, {"state", s.state},
			       {"name", name_bytes(s.name)}, {"base", s.base},
			       {"deleted", s.deleted}, {"mode", s.mode}, {"uid", s.uid},
			       {"gid", s.gid}, {"backlog", s.backlog}, {"peer", s.peer},
			       {"shutdown", s.shutdown}, {"sndbuf", s.sndbuf},
			       {"queued", queued}, {"senders", senders}});
		if (!s.pending.empty())
			out.back()["pending"] = s.pending;
		if (!s.rights.empty())
			out.back()["rights"] = s.rights;
	}
	return out;
}

std::vector<UnixSocket> unix_sockets_from_cbor(const json &j)
{
	std::vector<UnixSocket> out;
	for (const auto &u : j) {
		UnixSocket s;
		s.inode = u.at("inode");
		s.type = u.at("type");
		s.state = u.at("state");
		s.name = name_from(u.at("name"));
		s.base = u.at("base");
		s.deleted = u.at("deleted");
		s.mode = u.at("mode");
		s.uid = u.at("uid");
		s.gid = u.at("gid");
		s.backlog = u.at("backlog");
		s.peer = u.at("peer");
		s.shutdown = u.at("shutdown");
		s.sndbuf = u.at("sndbuf");
		for (const auto &m : u.at("queued"))
			s.queued.push_back(m.get_binary());
		for (const auto &from : u.at("senders"))
			s.senders.push_back(name_from(from));
		if (auto p = u.find("pending"); p != u.end())
			s.pending = p->get<std::vector<uint64_t>>();
		if (auto r = u.find("rights"); r != u.end())
			s.rights = r->get<std::vector<std::vector<int>>>();
		out.push_back(std::move(s));
	}
	return out;
}

} // namespace

json to_cbor_tree(const Image &img)
{
	json threads = json::array();
	for (const auto &t : img.threads) {
		json regsets = json::array();
		for (const auto &[note, data] : t.regsets)
			regsets.push_back({{"note", note}, {"data", binary(data)}});
		threads.push_back({
			{"tid", t.tid}, {"arch", t.arch}, {"sigmask", t.sigmask},
			{"tp", t.thread_pointer}, {"ss_sp", t.altstack_sp},
			{"ss_size", t.altstack_size}, {"ss_flags", t.altstack_flags},
			{"clear_child_tid", t.clear_child_tid},
			{"robust_list", t.robust_list}, {"rseq", t.rseq},
			{"rseq_sig", t.rseq_sig}, {"regsets", regsets},
		});
	}
	const MmLayout &m = img.mm;
	json mm = {
		{"start_code", m.start_code}, {"end_code", m.end_code},
		{"start_data", m.start_data}, {"end_data", m.end_data},
		{"start_brk", m.start_brk}, {"brk", m.brk},
		{"start_stack", m.start_stack}, {"arg_start", m.arg_start},
		{"arg_end", m.arg_end}, {"env_start", m.env_start},
		{"env_end", m.env_end}, {"auxv", m.auxv},
	};
	json maps = json::array();
	for (const auto &v : img.mappings) {
		maps.push_back({
			{"start", v.start}, {"end", v.end}, {"pgoff", v.pgoff},
			{"prot", v.prot}, {"flags", v.flags}, {"kind", v.kind},
			{"path", v.path}, {"name", v.name}, {"inode", v.inode},
		});
		if (v.shared >= 0)
			maps.back()["shared"] = v.shared;
		if (v.ghost != -1)
			maps.back()["ghost"] = v.ghost;
	}
	json sigs = json::array();
	for (const auto &s : img.signals)
		sigs.push_back({{"signal", s.signal}, {"handler", s.handler},
				{"flags", s.flags}, {"mask", s.mask},
				{"restorer", s.restorer}});
	json files = json::array();
	for (const auto &f : img.files)
		files.push_back(file_to_cbor(f));
	json pipes = json::array();
	for (const auto &p : img.pipes)
		pipes.push_back({{"inode", p.inode}, {"capacity", p.capacity},
				 {"data", binary(p.data)}});
	json mapped = json::array();
	for (const auto &f : img.mapped_files)
		mapped.push_back({{"path", f.path}, {"size", f.size},
				  {"mtime_ns", f.mtime_ns}});
	json tree = {
		{"arch", img.arch}, {"page_size", img.page_size},
		{"kernel_release", img.kernel_release}, {"hostname", img.hostname},
		{"comm", img.comm}, {"pid", img.pid}, {"uid", img.uid},
		{"gid", img.gid}, {"umask", img.umask}, {"cwd", img.cwd},
		{"vdso_size", img.vdso_size}, {"vvar_size", img.vvar_size},
		{"vdso_digest", img.vdso_digest}, {"threads", threads}, {"mm", mm},
		{"mappings", maps}, {"signals", sigs}, {"files", files},
		{"mapped_files", mapped}, {"rlimits", img.rlimits},
		{"program", {{"path", img.program.path}, {"pair_id", img.program.pair_id},
			     {"converted_from", img.program.converted_from}}},
	};
	if (img.oom_score_adj)
		tree["oom_score_adj"] = *img.oom_score_adj;
	if (!img.groups.empty())
		tree["groups"] = img.groups;
	if (!img.uids.empty())
		tree["uids"] = img.uids;
	if (!img.gids.empty())
		tree["gids"] = img.gids;
	if (img.child_subreaper)
		tree["child_subreaper"] = true;
	if (img.cwd_ghost >= 0)
		tree["cwd_ghost"] = img.cwd_ghost;
	if (img.stopped)
		tree["stopped"] = true;
	if (img.caps)
		tree["caps"] = {{"inh", img.caps->inheritable}, {"prm", img.caps->permitted},
				{"eff", img.caps->effective}, {"bnd", img.caps->bounding},
				{"amb", img.caps->ambient}, {"nnp", img.caps->no_new_privs}};
	if (img.links.ppid)
		tree["links"] = {{"ppid", img.links.ppid}, {"pgid", img.links.pgid},
				 {"sid", img.links.sid}, {"pdeathsig", img.links.pdeathsig}};
	if (img.is_tree()) {
		// Format 3: the page records are the root's, then each member's,
		// in order; each process says how many bytes are its own.
		tree["page_bytes"] = img.page_bytes();
		json members = json::array();
		for (const auto &m : img.members) {
			members.push_back(to_cbor_tree(m));
			members.back()["page_bytes"] = m.page_bytes();
		}
		tree["members"] = members;
		json shared = json::array();
		for (const auto &s : img.shared)
			shared.push_back({{"dev", s.dev}, {"inode", s.inode}, {"size", s.size},
					  {"name", s.name}});
		tree["shared"] = shared;
	}
	if (!img.zombies.empty()) {
		json zombies = json::array();
		for (const auto &z : img.zombies)
			zombies.push_back({{"pid", z.pid}, {"status", z.status},
					   {"pgid", z.pgid}, {"sid", z.sid}});
		tree["zombies"] = zombies;
	}
	if (!img.pipes.empty())
		tree["pipes"] = pipes;
	if (!img.fifos.empty()) {
		json fifos = json::array();
		for (const auto &p : img.fifos)
			fifos.push_back({{"path", p.path}, {"capacity", p.capacity},
					 {"data", binary(p.data)}});
		tree["fifos"] = fifos;
	}
	if (!img.tree_files.empty()) {
		// Format 4: descriptions the tree's processes share.
		json shared_files = json::array(), tree_pipes = json::array();
		for (const auto &f : img.tree_files)
			shared_files.push_back(file_to_cbor(f));
		for (const auto &p : img.tree_pipes)
			tree_pipes.push_back({{"inode", p.inode}, {"capacity", p.capacity},
					      {"data", binary(p.data)}});
		tree["tree_files"] = shared_files;
		tree["tree_pipes"] = tree_pipes;
		tree["tree_pairs"] = pairs_to_cbor(img.tree_pairs);
		if (!img.tree_sockets.empty())
			tree["tree_sockets"] = unix_sockets_to_cbor(img.tree_sockets);
	}
	if (!img.ghosts.empty())
		tree["ghosts"] = ghosts_to_cbor(img.ghosts);
	if (!img.precopied.empty())
		tree["precopied"] = img.precopied;
	if (!img.unix_pairs.empty())
		tree["unix_pairs"] = pairs_to_cbor(img.unix_pairs);
	if (!img.unix_sockets.empty())
		tree["unix_sockets"] = unix_sockets_to_cbor(img.unix_sockets);
	if (!img.pending_signals.empty()) {
		auto queue = [](const std::vector<SigInfo> &q) {
			json infos = json::array();
			for (const auto &info : q)
				infos.push_back(json::binary_t(std::vector<uint8_t>(info.begin(),
										    info.end())));
			return infos;
		};
		json threads = json::array();
		for (const auto &[tid, q] : img.pending_signals.threads)
			threads.push_back({{"tid", tid}, {"queue", queue(q)}});
		tree["pending_signals"] = {{"shared", queue(img.pending_signals.shared)},
					   {"threads", threads}};
	}
	if (img.timers) {
		json posix = json::array();
		for (const auto &t : img.timers->posix)
			posix.push_back({{"id", t.id}, {"clock", t.clock}, {"signal", t.signal},
					 {"notify", t.notify}, {"value", t.value},
					 {"interval_ns", t.interval_ns},
					 {"remaining_ns", t.remaining_ns}, {"thread", t.thread}});
		tree["timers"] = {{"itimers", img.timers->itimers}, {"posix", posix},
				  {"slack_ns", img.timers->slack_ns}};
	}
	return tree;
}

void from_cbor_tree(const json &j, Image &img)
{
	img.arch = j.at("arch");
	img.page_size = j.at("page_size");
	img.kernel_release = j.at("kernel_release");
	img.hostname = j.value("hostname", "");
	img.comm = j.value("comm", "");
	img.pid = j.at("pid");
	img.uid = j.at("uid");
	img.gid = j.at("gid");
	img.umask = j.at("umask");
	img.cwd = j.at("cwd");
	img.cwd_ghost = j.value("cwd_ghost", int32_t(-1));
	img.vdso_size = j.at("vdso_size");
	img.vvar_size = j.at("vvar_size");
	img.vdso_digest = j.at("vdso_digest");
	for (const auto &t : j.at("threads")) {
		ThreadState s;
		s.tid = t.at("tid");
		s.arch = t.at("arch");
		s.sigmask = t.at("sigmask");
		s.thread_pointer = t.at("tp");
		s.altstack_sp = t.at("ss_sp");
		s.altstack_size = t.at("ss_size");
		s.altstack_flags = t.at("ss_flags");
		s.clear_child_tid = t.at("clear_child_tid");
		s.robust_list = t.at("robust_list");
		s.rseq = t.value("rseq", uint64_t(0));
		s.rseq_sig = t.value("rseq_sig", uint32_t(0));
		for (const auto &r : t.at("regsets"))
			s.regsets[r.at("note")] = r.at("data").get_binary();
		img.threads.push_back(std::move(s));
	}
	const json &m = j.at("mm");
	img.mm.start_code = m.at("start_code");
	img.mm.end_code = m.at("end_code");
	img.mm.start_data = m.at("start_data");
	img.mm.end_data = m.at("end_data");
	img.mm.start_brk = m.at("start_brk");
	img.mm.brk = m.at("brk");
	img.mm.start_stack = m.at("start_stack");
	img.mm.arg_start = m.at("arg_start");
	img.mm.arg_end = m.at("arg_end");
	img.mm.env_start = m.at("env_start");
	img.mm.env_end = m.at("env_end");
	img.mm.auxv = m.at("auxv").get<std::vector<uint64_t>>();
	for (const auto &v : j.at("mappings")) {
		Mapping map;
		map.start = v.at("start");
		map.end = v.at("end");
		map.pgoff = v.at("pgoff");
		map.prot = v.at("prot");
		map.flags = v.at("flags");
		map.kind = v.at("kind");
		map.path = v.at("path");
		map.name = v.at("name");
		map.inode = v.at("inode");
		map.shared = v.value("shared", int32_t(-1));
		map.ghost = v.value("ghost", int32_t(-1));
		img.mappings.push_back(std::move(map));
	}
	for (const auto &s : j.at("signals"))
		img.signals.push_back({s.at("signal"), s.at("handler"), s.at("flags"),
				       s.at("mask"), s.at("restorer")});
	for (const auto &f : j.at("files"))
		img.files.push_back(file_from_cbor(f));
	for (const auto &f : j.at("mapped_files"))
		img.mapped_files.push_back({f.at("path"), f.at("size"), f.at("mtime_ns")});
	// Added after format 1 was first written: optional.
	if (auto r = j.find("rlimits"); r != j.end())
		img.rlimits = r->get<std::vector<std::pair<uint64_t, uint64_t>>>();
	if (auto o = j.find("oom_score_adj"); o != j.end())
		img.oom_score_adj = o->get<int>();
	if (auto g = j.find("groups"); g != j.end())
		img.groups = g->get<std::vector<uint32_t>>();
	if (auto u = j.find("uids"); u != j.end())
		img.uids = u->get<std::vector<uint32_t>>();
	if (auto g = j.find("gids"); g != j.end())
		img.gids = g->get<std::vector<uint32_t>>();
	if ((!img.uids.empty() && img.uids.size() != 4) ||
	    (!img.gids.empty() && img.gids.size() != 4))
		throw std::out_of_range("uids or gids not four ids");
	if (auto c = j.find("child_subreaper"); c != j.end())
		img.child_subreaper = c->get<bool>();
	if (auto s = j.find("stopped"); s != j.end())
		img.stopped = s->get<bool>();
	if (auto c = j.find("caps"); c != j.end())
		img.caps = Capabilities{c->at("inh"), c->at("prm"), c->at("eff"), c->at("bnd"),
					c->at("amb"), c->at("nnp")};
	if (auto t = j.find("timers"); t != j.end()) {
		Timers timers;
		timers.itimers = t->at("itimers").get<decltype(timers.itimers)>();
		for (const auto &p : t->at("posix"))
			timers.posix.push_back({p.at("id"), p.at("clock"), p.at("signal"),
						p.at("notify"), p.at("value"), p.at("interval_ns"),
						p.at("remaining_ns"), p.value("thread", 0u)});
		timers.slack_ns = t->at("slack_ns");
		img.timers = std::move(timers);
	}
	if (auto p = j.find("pending_signals"); p != j.end()) {
		auto queue = [](const json &q) {
			std::vector<SigInfo> infos;
			for (const auto &b : q) {
				const auto &bytes = b.get_binary();
				if (bytes.size() != sizeof(SigInfo))
					throw std::out_of_range("a pending signal's siginfo is not "
								"128 bytes");
				infos.emplace_back();
				std::copy(bytes.begin(), bytes.end(), infos.back().begin());
			}
			return infos;
		};
		img.pending_signals.shared = queue(p->at("shared"));
		for (const auto &t : p->at("threads"))
			img.pending_signals.threads.emplace_back(t.at("tid"), queue(t.at("queue")));
	}
	if (auto u = j.find("unix_pairs"); u != j.end())
		img.unix_pairs = pairs_from_cbor(*u);
	if (auto u = j.find("unix_sockets"); u != j.end())
		img.unix_sockets = unix_sockets_from_cbor(*u);
	if (auto p = j.find("pipes"); p != j.end())
		for (const auto &pipe : *p)
			img.pipes.push_back({pipe.at("inode"), pipe.at("capacity"),
					     pipe.at("data").get_binary()});
	if (auto p = j.find("fifos"); p != j.end())
		for (const auto &fifo : *p)
			img.fifos.push_back({fifo.at("path"), fifo.at("capacity"),
					     fifo.at("data").get_binary()});
	if (auto t = j.find("tree_files"); t != j.end()) {
		for (const auto &f : *t)
			img.tree_files.push_back(file_from_cbor(f));
		for (const auto &pipe : j.at("tree_pipes"))
			img.tree_pipes.push_back({pipe.at("inode"), pipe.at("capacity"),
						  pipe.at("data").get_binary()});
		if (auto u = j.find("tree_pairs"); u != j.end())
			img.tree_pairs = pairs_from_cbor(*u);
		if (auto u = j.find("tree_sockets"); u != j.end())
			img.tree_sockets = unix_sockets_from_cbor(*u);
	}
	if (auto g = j.find("ghosts"); g != j.end())
		img.ghosts = ghosts_from_cbor(*g);
	if (auto p = j.find("precopied"); p != j.end())
		img.precopied = p->get<std::vector<std::pair<uint64_t, uint64_t>>>();
	if (auto l = j.find("links"); l != j.end())
		img.links = {l->at("ppid"), l->at("pgid"), l->at("sid"), l->at("pdeathsig")};
	if (auto m = j.find("members"); m != j.end())
		for (const auto &member : *m) {
			Image mi;
			from_cbor_tree(member, mi);
			img.members.push_back(std::move(mi));
		}
	if (auto z = j.find("zombies"); z != j.end())
		for (const auto &zombie : *z)
			img.zombies.push_back({zombie.at("pid"), zombie.at("status"),
					       zombie.value("pgid", uint32_t(0)),
					       zombie.value("sid", uint32_t(0))});
	if (auto s = j.find("shared"); s != j.end())
		for (const auto &shm : *s)
			img.shared.push_back({shm.at("dev"), shm.at("inode"), shm.at("size"),
					      shm.at("name")});
	if (auto p = j.find("program"); p != j.end())
		img.program = {p->value("path", ""), p->value("pair_id", ""),
			       p->value("converted_from", "")};
}

} // namespace hetmig
