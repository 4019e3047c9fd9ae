// SPDX-License-Identifier: GPL-2.0
// The image format: what is written reads back the same, and every cut,
// flipped byte or foreign version is refused with the right message;
// images of format 1 (fixtures/image) still read.
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <map>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/hetmig.h>

#include <gtest/gtest.h>
#include <xxhash.h>
#include <zlib.h>

#include "image.h"
#include "image_bytes.h"

namespace hetmig {
namespace {

using testing::decode;
using testing::encode;

Image sample()
{
	Image img;
	img.arch = HETMIG_ARCH_X86_64;
	img.page_size = 4096;
	img.kernel_release = "6.1.0-test";
	img.pid = 1234;
	img.uid = 1000;
	img.cwd = "/home/u";
	img.vdso_size = 8192;
	img.vdso_digest = "abcd";
	ThreadState t;
	t.tid = 1234;
	t.arch = HETMIG_ARCH_X86_64;
	t.sigmask = 0x800;
	t.rseq = 0x7f0000001000;
	t.regsets[1] = std::vector<uint8_t>(216, 7);
	img.threads = {t};
	img.mm.brk = 0x600000;
	img.mm.auxv = {33, 0x7fff0000, 0, 0};
	Mapping m;
	m.start = 0x400000;
	m.end = 0x402000;
	m.kind = HETMIG_VMA_FILE;
	m.path = "/bin/prog";
	img.mappings = {m};
	img.signals = {{10, 0x401000, 0x14000000, 0, 0x401100}};
	img.files = {{3, "/tmp/in", 0100000, 42, 65536, 1700000000000000000, false, "", -1, false, 0}};
	img.files.push_back({5, "/srv/spool", 0200000, 0x7ffe1234, 4096, 1700000000000000001,
			     false, "", -1, true, 7777});
	img.rlimits = {{~0ull, ~0ull}, {8 << 20, ~0ull}, {200, 4096}};
	img.oom_score_adj = -300;
	// Three runs: compressible, random-ish, and one larger than a record.
	img.pages.push_back({0x10000, 8192, std::vector<uint8_t>(8192, 0)});
	std::vector<uint8_t> noise(4096);
	for (size_t i = 0; i < noise.size(); i++)
		noise[i] = uint8_t(i * 2654435761u >> 13);
	img.pages.push_back({0x20000, noise.size(), noise});
	img.pages.push_back({0x100000, kPageRecordMax + 4096,
			     std::vector<uint8_t>(kPageRecordMax + 4096, 9)});
	return img;
}


// Address -> byte, over every run: records may split runs differently.
std::map<uint64_t, uint8_t> memory_of(const Image &img)
{
	std::map<uint64_t, uint8_t> m;
	for (const auto &run : img.pages)
		for (size_t i = 0; i < run.data.size(); i++)
			m[run.addr + i] = run.data[i];
	return m;
}


class ImageRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(ImageRoundTrip, ReadsBackWhatWasWritten)
{
	Image img = sample();
	auto back = decode(encode(img, GetParam()));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	EXPECT_EQ(back->pid, 1234u);
	EXPECT_EQ(back->cwd, "/home/u");
	ASSERT_EQ(back->threads.size(), 1u);
	EXPECT_EQ(back->threads[0].regsets, img.threads[0].regsets);
	EXPECT_EQ(back->threads[0].rseq, img.threads[0].rseq);
	EXPECT_EQ(back->mm.auxv, img.mm.auxv);
	EXPECT_EQ(back->mappings[0].path, "/bin/prog");
	EXPECT_EQ(back->signals[0].restorer, 0x401100u);
	EXPECT_EQ(back->files[0].mtime_ns, img.files[0].mtime_ns);
	EXPECT_EQ(back->rlimits, img.rlimits);
	EXPECT_EQ(back->oom_score_adj, -300);
	ASSERT_EQ(back->files.size(), 2u);
	EXPECT_FALSE(back->files[0].directory);
	EXPECT_TRUE(back->files[1].directory);
	EXPECT_EQ(back->files[1].inode, 7777u);
	EXPECT_EQ(back->files[1].offset, 0x7ffe1234u);
	EXPECT_EQ(back->files[1].flags, 0200000);
	EXPECT_EQ(memory_of(*back), memory_of(img));
	EXPECT_EQ(back->page_bytes(), img.page_bytes());
}

// stdout and stderr sharing one open file (2>&1): the sharing reads
// back; a share with an fd the image lacks, or files out of fd order, is
// a corrupted image.
TEST(Image, SharedDescriptions)
{
	Image img = sample();
	img.files = {{1, "/var/log/d.log", 01, 100, 100, 5, false, "", -1, false, 0},
		     {2, "/var/log/d.log", 01, 100, 100, 5, false, "", 1, false, 0}};
	auto back = decode(encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->files.size(), 2u);
	EXPECT_EQ(back->files[0].dup_of, -1);
	EXPECT_EQ(back->files[1].dup_of, 1);

	img.files[1].dup_of = 7;
	auto lacking = decode(encode(img, false));
	ASSERT_FALSE(lacking.has_value());
	EXPECT_NE(lacking.error().describe().find("corrupted image"), std::string::npos);
	img.files[1].dup_of = -1;
	std::swap(img.files[0], img.files[1]);
	EXPECT_FALSE(decode(encode(img, false)).has_value());
}

// oom_score_adj: an image written before it was carried has none (and
// the restore leaves the value alone); one out of the kernel's range is
// not an image we wrote.
TEST(Image, OomScoreAdj)
{
	Image img = sample();
	img.oom_score_adj.reset();
	auto older = decode(encode(img, false));
	ASSERT_TRUE(older.has_value()) << older.error().describe();
	EXPECT_FALSE(older->oom_score_adj.has_value());

	img.oom_score_adj = 1000;
	auto most = decode(encode(img, false));
	ASSERT_TRUE(most.has_value()) << most.error().describe();
	EXPECT_EQ(most->oom_score_adj, 1000);

	img.oom_score_adj = -1001;
	auto bad = decode(encode(img, false));
	ASSERT_FALSE(bad.has_value());
	EXPECT_NE(bad.error().describe().find("oom_score_adj out of range"), std::string::npos)
		<< bad.error().describe();
}

// A process stopped (a group stop) at the dump, the root or a member of
// its tree, is said so; an image that says nothing is of running ones.
TEST(Image, Stopped)
{
	Image img = sample();
	auto running = decode(encode(img, false));
	ASSERT_TRUE(running.has_value()) << running.error().describe();
	EXPECT_FALSE(running->stopped);

	img.stopped = true;
	auto stopped = decode(encode(img, false));
	ASSERT_TRUE(stopped.has_value()) << stopped.error().describe();
	EXPECT_TRUE(stopped->stopped);

	Image member = sample();
	member.pid = img.pid + 1;
	member.links = {img.pid, img.pid, img.pid, 0};
	member.stopped = true;
	img.stopped = false;
	img.links = {1, img.pid, img.pid, 0};
	img.members.push_back(member);
	auto tree = decode(encode(img, false));
	ASSERT_TRUE(tree.has_value()) << tree.error().describe();
	EXPECT_FALSE(tree->stopped);
	ASSERT_EQ(tree->members.size(), 1u);
	EXPECT_TRUE(tree->members[0].stopped);
}

// Pipes, eventfds, timerfds and devices: what capture records reads back;
// an image from before them has none; a pipe end without its pipe, a pipe
// without one of its ends or holding more than its capacity, a timer's
// nanoseconds of a second or more: a corrupted image.
TEST(Image, PipesEventfdsTimerfdsAndDevices)
{
	Image img = sample();
	EXPECT_TRUE(img.pipes.empty());
	auto older = decode(encode(img, false));
	ASSERT_TRUE(older.has_value()) << older.error().describe();
	EXPECT_TRUE(older->pipes.empty());
	EXPECT_FALSE(older->files[0].made_anew());
	EXPECT_EQ(older->files[0].rdev, 0u);

	OpenFile r, w, counter, zero, timer;
	r.fd = 6, r.path = "pipe:[99]", r.flags = O_RDONLY | O_NONBLOCK, r.pipe = 99;
	w.fd = 7, w.path = "pipe:[99]", w.flags = O_WRONLY | O_CLOEXEC, w.pipe = 99;
	counter.fd = 8, counter.path = "anon_inode:[eventfd]", counter.flags = O_RDWR;
	counter.eventfd = EventCounter{~0ull - 1, true};
	zero.fd = 9, zero.path = "/dev/zero", zero.rdev = 0x105;
	timer.fd = 10, timer.path = "anon_inode:[timerfd]", timer.flags = O_RDWR;
	timer.timerfd = TimerState{7, 1, 4, {12, 500}, {0, 999999999}};
	img.files.insert(img.files.end(), {r, w, counter, zero, timer});
	img.pipes = {{99, 65536, std::vector<uint8_t>(3001, 0x5a)}};
	auto back = decode(encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->files.size(), 7u);
	EXPECT_EQ(back->files[2].pipe, 99u);
	EXPECT_EQ(back->files[3].pipe, 99u);
	EXPECT_EQ(back->files[3].flags, O_WRONLY | O_CLOEXEC);
	ASSERT_TRUE(back->files[4].eventfd.has_value());
	EXPECT_EQ(back->files[4].eventfd->count, ~0ull - 1);
	EXPECT_TRUE(back->files[4].eventfd->semaphore);
	EXPECT_EQ(back->files[5].rdev, 0x105u);
	EXPECT_FALSE(back->files[5].made_anew());
	ASSERT_TRUE(back->files[6].timerfd.has_value());
	const TimerState &t = *back->files[6].timerfd;
	EXPECT_EQ(t.clockid, 7);
	EXPECT_EQ(t.settime_flags, 1);
	EXPECT_EQ(t.ticks, 4u);
	EXPECT_EQ(t.value.sec, 12u);
	EXPECT_EQ(t.value.nsec, 500u);
	EXPECT_EQ(t.interval.nsec, 999999999u);
	ASSERT_EQ(back->pipes.size(), 1u);
	EXPECT_EQ(back->pipes[0].capacity, 65536u);
	EXPECT_EQ(back->pipes[0].data, img.pipes[0].data);

	auto corrupted = [&](Image bad) {
		auto r = decode(encode(bad, false));
		return !r && r.error().describe().find("corrupted image") != std::string::npos;
	};
	Image no_pipe = img;
	no_pipe.pipes.clear();
	EXPECT_TRUE(corrupted(no_pipe));
	// One end may be closed everywhere, but bytes need a read end.
	Image no_write_end = img;
	no_write_end.files.erase(no_write_end.files.begin() + 3);
	EXPECT_FALSE(corrupted(no_write_end));
	Image no_read_end = img;
	no_read_end.files.erase(no_read_end.files.begin() + 2);
	EXPECT_TRUE(corrupted(no_read_end));
	no_read_end.pipes[0].data.clear();
	EXPECT_FALSE(corrupted(no_read_end));
	Image no_end = no_read_end;
	no_end.files.erase(no_end.files.begin() + 2);
	EXPECT_TRUE(corrupted(no_end));
	Image overfull = img;
	overfull.pipes[0].capacity = 3000;
	EXPECT_TRUE(corrupted(overfull));
	Image read_write = img;
	read_write.files[2].flags = O_RDWR;
	EXPECT_TRUE(corrupted(read_write));
	Image bad_time = img;
	bad_time.files[6].timerfd->value.nsec = 1000000000;
	EXPECT_TRUE(corrupted(bad_time));
}

// Timers: an image written before they were carried has none (the restore
// makes none); POSIX timers out of id order are not an image we wrote.
TEST(Image, Timers)
{
	Image img = sample();
	auto older = decode(encode(img, false));
	ASSERT_TRUE(older.has_value()) << older.error().describe();
	EXPECT_FALSE(older->timers.has_value());

	Timers t;
	t.itimers = {{{200000, 150000}, {0, 0}, {1000, 999}}};
	t.posix = {{0, 0, 0, 1, 0, 0, 999000000000},
		   {2, 1, 10, 4, 0xfffffffffffffff0, 100000000, 3}};
	t.slack_ns = 123456;
	img.timers = t;
	auto back = decode(encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_TRUE(back->timers.has_value());
	EXPECT_EQ(back->timers->itimers, t.itimers);
	EXPECT_EQ(back->timers->slack_ns, 123456u);
	ASSERT_EQ(back->timers->posix.size(), 2u);
	const PosixTimer &p = back->timers->posix[1];
	EXPECT_EQ(p.id, 2);
	EXPECT_EQ(p.clock, 1);
	EXPECT_EQ(p.signal, 10);
	EXPECT_EQ(p.notify, 4);
	EXPECT_EQ(p.value, 0xfffffffffffffff0);
	EXPECT_EQ(p.interval_ns, 100000000u);
	EXPECT_EQ(p.remaining_ns, 3u);

	std::swap(img.timers->posix[0], img.timers->posix[1]);
	auto bad = decode(encode(img, false));
	ASSERT_FALSE(bad.has_value());
	EXPECT_NE(bad.error().describe().find("POSIX timer 0 out of order"), std::string::npos)
		<< bad.error().describe();
}

// Epolls with their interest lists, signalfds and pending signals: what
// capture records reads back; an image from before them has none; an
// epoll watching an fd the image lacks or itself, a pending signal out of
// range or of a thread the image lacks: corrupted.
TEST(Image, EpollsSignalfdsAndPendingSignals)
{
	Image img = sample();
	auto older = decode(encode(img, false));
	ASSERT_TRUE(older.has_value()) << older.error().describe();
	EXPECT_FALSE(older->files[0].epoll.has_value());
	EXPECT_FALSE(older->files[0].signalfd.has_value());
	EXPECT_TRUE(older->pending_signals.empty());

	OpenFile ep, sfd;
	ep.fd = 6, ep.path = "anon_inode:[eventpoll]", ep.flags = O_RDWR | O_CLOEXEC;
	ep.epoll = std::vector<EpollTarget>{{3, 0x80000019, 0xfedcba9876543210}, {7, 0x40000000, 0}};
	sfd.fd = 7, sfd.path = "anon_inode:[signalfd]", sfd.flags = O_RDWR | O_NONBLOCK;
	sfd.signalfd = 0x8000000000000200;
	img.files.insert(img.files.end(), {ep, sfd});
	SigInfo usr1{}, rt{};
	usr1[0] = 10;
	rt[0] = 35, rt[8] = 0xff, rt[127] = 0x42;
	img.pending_signals.shared = {rt, usr1};
	img.pending_signals.threads = {{1234, {usr1}}};
	auto back = decode(encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->files.size(), 4u);
	ASSERT_TRUE(back->files[2].epoll.has_value());
	const auto &targets = *back->files[2].epoll;
	ASSERT_EQ(targets.size(), 2u);
	EXPECT_EQ(targets[0].fd, 3);
	EXPECT_EQ(targets[0].events, 0x80000019u);
	EXPECT_EQ(targets[0].data, 0xfedcba9876543210u);
	EXPECT_EQ(targets[1].fd, 7);
	EXPECT_EQ(targets[1].events, 0x40000000u);
	EXPECT_TRUE(back->files[2].made_anew());
	EXPECT_EQ(back->files[3].signalfd, 0x8000000000000200u);
	EXPECT_TRUE(back->files[3].made_anew());
	ASSERT_EQ(back->pending_signals.shared.size(), 2u);
	EXPECT_EQ(back->pending_signals.shared[0], rt);
	EXPECT_EQ(back->pending_signals.shared[1], usr1);
	ASSERT_EQ(back->pending_signals.threads.size(), 1u);
	EXPECT_EQ(back->pending_signals.threads[0].first, 1234u);
	EXPECT_EQ(back->pending_signals.threads[0].second, std::vector<SigInfo>{usr1});

	auto corrupted = [&](Image bad, const char *why) {
		auto r = decode(encode(bad, false));
		return !r && r.error().describe().find(why) != std::string::npos;
	};
	Image lacking = img;
	(*lacking.files[2].epoll)[1].fd = 8;
	EXPECT_TRUE(corrupted(lacking, "an epoll watching fd 8, which the image lacks"));
	Image itself = img;
	(*itself.files[2].epoll)[1].fd = 6;
	EXPECT_TRUE(corrupted(itself, "an epoll watching fd 6"));
	for (uint8_t sig : {0, 9, 19, 65}) {
		Image out_of_range = img;
		out_of_range.pending_signals.shared[1][0] = sig;
		EXPECT_TRUE(corrupted(out_of_range, "a pending signal out of range")) << int(sig);
	}
	Image other_thread = img;
	other_thread.pending_signals.threads[0].first = 99;
	EXPECT_TRUE(corrupted(other_thread, "pending signals of thread 99"));
}

// Unix socket pairs: each end's inode, send buffer and queued messages
// read back; an image from before them has none; an end without its pair,
// a pair without one of its fds, a stream end with two messages: corrupted.
TEST(Image, UnixSocketPairs)
{
	Image img = sample();
	auto older = decode(encode(img, false));
	ASSERT_TRUE(older.has_value()) << older.error().describe();
	EXPECT_TRUE(older->unix_pairs.empty());
	EXPECT_EQ(older->files[0].unix_socket, 0u);

	OpenFile a, b;
	a.fd = 6, a.path = "socket:[41]", a.flags = O_RDWR | O_NONBLOCK, a.unix_socket = 41;
	b.fd = 7, b.path = "socket:[42]", b.flags = O_RDWR, b.unix_socket = 42;
	img.files.insert(img.files.end(), {a, b});
	UnixPair p;
	p.type = 2;
	p.ends[0] = {41, 212992, {}};
	p.ends[1] = {42, 4096, {{'o', 'n', 'e'}, {}, std::vector<uint8_t>(70000, 7)}};
	img.unix_pairs = {p};
	auto back = decode(encode(img, false));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->unix_pairs.size(), 1u);
	const UnixPair &q = back->unix_pairs[0];
	EXPECT_EQ(q.type, 2);
	EXPECT_EQ(q.ends[0].inode, 41u);
	EXPECT_EQ(q.ends[0].sndbuf, 212992u);
	EXPECT_TRUE(q.ends[0].queued.empty());
	EXPECT_EQ(q.ends[1].queued, p.ends[1].queued);
	EXPECT_EQ(back->files[3].unix_socket, 42u);
	EXPECT_TRUE(back->files[3].made_anew());

	auto corrupted = [&](Image bad) {
		auto r = decode(encode(bad, false));
		return !r && r.error().describe().find("corrupted image") != std::string::npos;
	};
	Image no_pair = img;
	no_pair.unix_pairs.clear();
	EXPECT_TRUE(corrupted(no_pair));
	Image no_fd = img;
	no_fd.files.pop_back();
	EXPECT_TRUE(corrupted(no_fd));
	Image stream = img;
	stream.unix_pairs[0].type = 1;
	EXPECT_TRUE(corrupted(stream));
	Image seqpacket = img;
	seqpacket.unix_pairs[0].type = 5;
	EXPECT_TRUE(corrupted(seqpacket));
}

// Named unix sockets: every field read back, names with their NUL bytes
// (an abstract one); an image with one is format 6, one before them has
// none; a peer the image lacks, a stream connected elsewhere, a listener
// with a queue, a socket no fd holds, or one also a pair's: corrupted.
TEST(Image, UnixSockets)
{
	Image img = sample();
	auto older = decode(encode(img, false));
	ASSERT_TRUE(older.has_value()) << older.error().describe();
	EXPECT_TRUE(older->unix_sockets.empty());

	OpenFile l, c, acc, d;
	l.fd = 6, l.path = "socket:[51]", l.flags = O_RDWR, l.unix_socket = 51;
	c.fd = 7, c.path = "socket:[52]", c.flags = O_RDWR | O_NONBLOCK, c.unix_socket = 52;
	acc.fd = 8, acc.path = "socket:[53]", acc.flags = O_RDWR, acc.unix_socket = 53;
	d.fd = 9, d.path = "socket:[54]", d.flags = O_RDWR, d.unix_socket = 54;
	img.files.insert(img.files.end(), {l, c, acc, d});
	UnixSocket listener;
	listener.inode = 51, listener.type = SOCK_SEQPACKET, listener.state = 10;
	listener.name = "run/x.sock", listener.base = "/var", listener.mode = 0660;
	listener.uid = 1000, listener.gid = 27, listener.backlog = 128, listener.sndbuf = 4096;
	UnixSocket client;
	client.inode = 52, client.type = SOCK_SEQPACKET, client.state = 1, client.peer = 53;
	client.shutdown = 2, client.queued = {{'h', 'i'}, {}}, client.senders = {"", ""};
	UnixSocket accepted = client;
	accepted.inode = 53, accepted.peer = 52, accepted.name = listener.name;
	accepted.base = "/var", accepted.shutdown = 1, accepted.queued = {}, accepted.senders = {};
	UnixSocket dgram;
	dgram.inode = 54, dgram.type = SOCK_DGRAM, dgram.state = 7;
	dgram.name = std::string("\0log\0x", 7), dgram.queued = {{1, 2, 3}};
	dgram.senders = {std::string("\0peer", 5)};
	img.unix_sockets = {listener, client, accepted, dgram};
	auto bytes = encode(img, false);
	EXPECT_EQ(testing::version_of(bytes), kImageFormatUnixSockets);
	EXPECT_EQ(kImageFormatUnixSockets, 6u);
	auto back = decode(bytes);
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	ASSERT_EQ(back->unix_sockets.size(), 4u);
	const UnixSocket &q = back->unix_sockets[0];
	EXPECT_EQ(q.inode, 51u);
	EXPECT_EQ(q.type, SOCK_SEQPACKET);
	EXPECT_EQ(q.state, 10);
	EXPECT_EQ(q.name, "run/x.sock");
	EXPECT_EQ(q.base, "/var");
	EXPECT_FALSE(q.deleted);
	EXPECT_EQ(q.mode, 0660u);
	EXPECT_EQ(q.uid, 1000u);
	EXPECT_EQ(q.gid, 27u);
	EXPECT_EQ(q.backlog, 128);
	EXPECT_EQ(q.sndbuf, 4096u);
	EXPECT_EQ(back->unix_sockets[1].peer, 53u);
	EXPECT_EQ(back->unix_sockets[1].shutdown, 2);
	EXPECT_EQ(back->unix_sockets[1].queued, client.queued);
	EXPECT_EQ(back->unix_sockets[3].name, dgram.name);
	EXPECT_EQ(back->unix_sockets[3].senders, dgram.senders);
	EXPECT_EQ(back->unix_sockets[3].queued, dgram.queued);
	EXPECT_TRUE(back->files[5].made_anew());
	Image deleted = img;
	deleted.unix_sockets[0].deleted = true;
	auto del = decode(encode(deleted, false));
	ASSERT_TRUE(del.has_value()) << del.error().describe();
	EXPECT_TRUE(del->unix_sockets[0].deleted);

	auto corrupted = [&](Image bad) {
		auto r = decode(encode(bad, false));
		return !r && r.error().describe().find("corrupted image") != std::string::npos;
	};
	Image no_peer = img;
	no_peer.unix_sockets[1].peer = 99;
	EXPECT_TRUE(corrupted(no_peer));
	Image elsewhere = img;
	elsewhere.unix_sockets[2].peer = 51;
	EXPECT_TRUE(corrupted(elsewhere));
	Image queued_listener = img;
	queued_listener.unix_sockets[0].queued = {{1}};
	queued_listener.unix_sockets[0].senders = {""};
	EXPECT_TRUE(corrupted(queued_listener));
	Image no_fd = img;
	no_fd.files.pop_back();
	EXPECT_TRUE(corrupted(no_fd));
	Image also_pair = img;
	UnixPair p;
	p.type = SOCK_DGRAM;
	p.ends[0] = {54, 0, {}};
	p.ends[1] = {53, 0, {}};
	also_pair.unix_pairs = {p};
	EXPECT_TRUE(corrupted(also_pair));
	Image abstract_deleted = img;
	abstract_deleted.unix_sockets[3].deleted = true;
	EXPECT_TRUE(corrupted(abstract_deleted));
}

// Runs without data are read through the reader while the image is written.
TEST(Image, PagesReadWhileWriting)
{
	Image img = sample();
	for (auto &run : img.pages)
		run.data.clear();
	auto reader = [](uint64_t addr, std::span<uint8_t> out) -> Result<void> {
		for (size_t i = 0; i < out.size(); i++)
			out[i] = uint8_t((addr + i) * 7 >> 3);
		return {};
	};
	auto back = decode(encode(img, true, reader));
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	for (const auto &[addr, byte] : memory_of(*back))
		ASSERT_EQ(byte, uint8_t(addr * 7 >> 3)) << std::hex << addr;
	EXPECT_EQ(back->page_bytes(), img.page_bytes());
	// A run without data and no reader is refused.
	EXPECT_FALSE(write_image(img, [](std::span<const uint8_t>) -> Result<void> {
		return {};
	}).has_value());
}

INSTANTIATE_TEST_SUITE_P(RawAndZstd, ImageRoundTrip, ::testing::Bool());

// Records compressed on threads side by side come out in order, the same
// bytes whatever the number of threads, from data and from a reader.
TEST(Image, ThreadsChangeNoByte)
{
	Image img = sample();
	img.pages.push_back({0x400000, 5 * kPageRecordMax + 8192,
			     std::vector<uint8_t>(5 * kPageRecordMax + 8192)});
	for (size_t i = 0; i < img.pages.back().data.size(); i++)
		img.pages.back().data[i] = uint8_t(i / 4096 + (i % 7 ? 0 : i >> 9));
	auto one = encode(img, true, {}, 1);
	for (unsigned threads : {2u, 3u, 8u, 0u})
		EXPECT_EQ(encode(img, true, {}, threads), one) << threads << " threads";

	auto reader = [](uint64_t addr, std::span<uint8_t> out) -> Result<void> {
		for (size_t i = 0; i < out.size(); i++)
			out[i] = uint8_t((addr + i) / 4096);
		return {};
	};
	for (auto &run : img.pages)
		run.data.clear();
	auto read_one = encode(img, true, reader, 1);
	EXPECT_EQ(encode(img, true, reader, 3), read_one);
	auto back = decode(read_one);
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	EXPECT_EQ(back->page_bytes(), img.page_bytes());
}

// A reader or a sink that fails while records are in flight on threads
// fails the write with its error, and the threads stop.
TEST(Image, FailureWhileRecordsAreInFlight)
{
	Image img = sample();
	for (auto &run : img.pages)
		run.data.clear();
	int calls = 0;
	auto reader = [&](uint64_t, std::span<uint8_t> out) -> Result<void> {
		if (++calls == 3)
			return fail(EIO, "reading the process");
		std::fill(out.begin(), out.end(), 1);
		return {};
	};
	auto r = write_image(img, [](std::span<const uint8_t>) -> Result<void> { return {}; },
			     {.compress = true, .threads = 4, .reader = reader});
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().context, "reading the process");

	img = sample();
	size_t bytes = 0;
	r = write_image(img, [&](std::span<const uint8_t> b) -> Result<void> {
		bytes += b.size();
		if (bytes > 1200)	// past the metadata, at the first records
			return fail(ENOSPC, "write");
		return {};
	}, {.compress = true, .threads = 4, .reader = {}});
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, ENOSPC);
}

// Raw records go out on a writer thread of their own while the next are
// read: a reader or sink that fails part-way fails the write with its
// error, nothing hangs, and what was written before is the image's start.
TEST(Image, RawFailureWhileTheWriterThreadRuns)
{
	Image img = sample();
	img.pages.clear();
	for (uint64_t i = 0; i < 40; i++)
		img.pages.push_back({0x7f0000000000 + i * 0x10000, 4096, {}});
	for (int fail_at : {1, 2, 5, 39}) {
		int calls = 0;
		auto reader = [&](uint64_t, std::span<uint8_t> out) -> Result<void> {
			if (++calls == fail_at)
				return fail(EIO, "reading the process");
			std::fill(out.begin(), out.end(), 1);
			return {};
		};
		auto r = write_image(img, [](std::span<const uint8_t>) -> Result<void> { return {}; },
				     {.reader = reader});
		ASSERT_FALSE(r.has_value()) << "reader failing at " << fail_at;
		EXPECT_EQ(r.error().context, "reading the process");
	}
	auto reader = [](uint64_t, std::span<uint8_t> out) -> Result<void> {
		std::fill(out.begin(), out.end(), 2);
		return {};
	};
	std::vector<uint8_t> whole;
	ASSERT_TRUE(write_image(img, [&](std::span<const uint8_t> b) -> Result<void> {
		whole.insert(whole.end(), b.begin(), b.end());
		return {};
	}, {.reader = reader}).has_value());
	for (size_t limit : {size_t(1500), whole.size() / 2, whole.size() - 10}) {
		std::vector<uint8_t> got;
		auto r = write_image(img, [&](std::span<const uint8_t> b) -> Result<void> {
			if (got.size() + b.size() > limit)
				return fail(ENOSPC, "write");
			got.insert(got.end(), b.begin(), b.end());
			return {};
		}, {.reader = reader});
		ASSERT_FALSE(r.has_value()) << "sink full at " << limit;
		EXPECT_EQ(r.error().code, ENOSPC);
		ASSERT_LE(got.size(), whole.size());
		EXPECT_TRUE(std::equal(got.begin(), got.end(), whole.begin()));
	}
	// Written whole, it reads back with every page.
	auto back = decode(whole);
	ASSERT_TRUE(back.has_value()) << back.error().describe();
	EXPECT_EQ(back->page_bytes(), 40u * 4096);
}

TEST(Image, CompressionShrinksZeroPages)
{
	Image img = sample();
	EXPECT_LT(encode(img, true).size() * 4, encode(img, false).size());
}

TEST(Image, EveryCutIsRefused)
{
	auto bytes = encode(sample(), true);
	for (size_t len = 0; len < bytes.size(); len += 1 + len / 8) {
		std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + long(len));
		auto r = decode(cut);
		ASSERT_FALSE(r.has_value()) << "cut at " << len << " was accepted";
	}
}

TEST(Image, EveryFlippedByteIsRefused)
{
	auto bytes = encode(sample(), true);
	for (size_t at = 0; at < bytes.size(); at += 1 + at / 16) {
		auto bad = bytes;
		bad[at] ^= 0x40;
		auto r = decode(bad);
		ASSERT_FALSE(r.has_value()) << "flip at " << at << " was accepted";
		EXPECT_EQ(r.error().code, at < 8 ? EBADMSG : r.error().code);
	}
}

// `hetmig recv` reads an image a record at a time (read_image_streamed):
// the same memory as a whole read, and every cut or flipped byte refused
// by the time the trailer is read, whichever record it is in.
TEST(Image, StreamedReadsAsTheWholeAndRefusesTheSame)
{
	for (bool compress : {false, true}) {
		Image img = sample();
		auto bytes = encode(img, compress);
		auto runs = testing::stream(bytes);
		ASSERT_TRUE(runs.has_value()) << runs.error().describe();
		Image back;
		back.pages = std::move(runs->at(0));
		EXPECT_EQ(memory_of(back), memory_of(img));
		for (size_t len = 0; len < bytes.size(); len += 1 + len / 8) {
			std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + long(len));
			ASSERT_FALSE(testing::stream(cut).has_value()) << "cut at " << len;
		}
		for (size_t at = 0; at < bytes.size(); at += 1 + at / 16) {
			auto bad = bytes;
			bad[at] ^= 0x40;
			auto r = testing::stream(bad);
			ASSERT_FALSE(r.has_value()) << "flip at " << at << " was accepted";
			EXPECT_EQ(r.error().code, decode(bad).error().code) << "flip at " << at;
		}
		// Every byte of the end record and the trailer, which the
		// sampling above passes over: finish() reads and checks them.
		for (size_t at = bytes.size() - 72; at < bytes.size(); at++) {
			auto bad = bytes;
			bad[at] ^= 0x01;
			ASSERT_FALSE(testing::stream(bad).has_value()) << "flip at " << at;
			std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + long(at));
			ASSERT_FALSE(testing::stream(cut).has_value()) << "cut at " << at;
		}
	}
}

// The records of one process are asked for in order and to their end.
TEST(Image, StreamedRecordsAreAskedInOrder)
{
	auto bytes = encode(sample(), false);
	size_t pos = 0;
	auto streamed = read_image_streamed(testing::source_of(bytes, pos));
	ASSERT_TRUE(streamed.has_value());
	auto &pages = streamed->second;
	EXPECT_FALSE(pages.next(1).has_value());	  // one process: no member 0
	ASSERT_TRUE(pages.next(0).has_value());
	auto early = pages.finish();			  // records left
	ASSERT_FALSE(early.has_value());
	EXPECT_EQ(early.error().code, EINVAL);
}

// A final round's record may not write a page a pre-copy round's held run
// has (write_streamed_pages): found at either end, not beside.
TEST(Image, RunOverlappingFindsSharedBytesOnly)
{
	std::vector<PageRun> runs = {{0x10000, 0x2000, {}}, {0x20000, 0x1000, {}}};
	EXPECT_EQ(run_overlapping(runs, 0x11000, 0x1000), &runs[0]);
	EXPECT_EQ(run_overlapping(runs, 0xf000, 0x2000), &runs[0]);
	EXPECT_EQ(run_overlapping(runs, 0x1f000, 0x4000), &runs[1]);
	EXPECT_EQ(run_overlapping(runs, 0x12000, 0x1000), nullptr);
	EXPECT_EQ(run_overlapping(runs, 0xf000, 0x1000), nullptr);
	EXPECT_EQ(run_overlapping(runs, 0x21000, 0x1000), nullptr);
	EXPECT_EQ(run_overlapping({}, 0x10000, 0x1000), nullptr);
}

// Every byte of the format, not only those the sampling above reaches:
// the reserved words of the record headers and of the trailer are outside
// their checksums (a flip there was once accepted).
TEST(Image, EveryFlippedByteOfASmallImageIsRefused)
{
	Image img = sample();
	img.pages = {{0x10000, 4096, std::vector<uint8_t>(4096, 3)}};
	auto bytes = encode(img, false);
	for (size_t at = 0; at < bytes.size(); at++) {
		auto bad = bytes;
		bad[at] ^= 0x01;
		ASSERT_FALSE(decode(bad).has_value()) << "flip at " << at << " of "
							 << bytes.size() << " was accepted";
	}
}

// A restore maps its image file (LoadMode::kMapped): the same memory as a
// read, raw records viewed in the file rather than copied, and every cut
// or flipped byte refused as a read refuses it, a bad page record by its
// address.
TEST(Image, MappedFileReadsAsTheCopyAndRefusesTheSame)
{
	char path[] = "/tmp/hetmig-image-XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	close(fd);
	auto write_file = [&](const std::vector<uint8_t> &bytes) {
		std::ofstream(path, std::ios::binary | std::ios::trunc)
			.write(reinterpret_cast<const char *>(bytes.data()), long(bytes.size()));
	};
	for (bool compress : {false, true}) {
		auto bytes = encode(sample(), compress);
		write_file(bytes);
		auto copied = load_image(path, LoadMode::kCopied);
		auto mapped = load_image(path, LoadMode::kMapped);
		ASSERT_TRUE(copied) << copied.error().describe();
		ASSERT_TRUE(mapped) << mapped.error().describe();
		std::map<uint64_t, uint8_t> want = memory_of(*copied), got;
		size_t views = 0;
		for (const auto &run : mapped->pages) {
			views += !run.view.empty();
			for (size_t i = 0; i < run.bytes().size(); i++)
				got[run.addr + i] = run.bytes()[i];
		}
		EXPECT_EQ(got, want);
		if (!compress) {
			EXPECT_EQ(views, mapped->pages.size());
		}
		EXPECT_TRUE(mapped->backing);

		// A byte of the last record's data flipped: refused with the
		// read's message (which names the record's address).
		auto bad = bytes;
		size_t at = bytes.size() - sizeof(uint64_t) * 4 - 48 - 100;
		bad[at] ^= 0x10;
		write_file(bad);
		auto refused = load_image(path, LoadMode::kMapped);
		ASSERT_FALSE(refused);
		auto read_refused = load_image(path, LoadMode::kCopied);
		ASSERT_FALSE(read_refused);
		EXPECT_EQ(refused.error().describe(), read_refused.error().describe());
		for (size_t len = 0; len < bytes.size(); len += 1 + len / 4) {
			write_file(std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(len)));
			ASSERT_FALSE(load_image(path, LoadMode::kMapped)) << "cut at " << len;
		}
	}
	unlink(path);
}

TEST(Image, ForeignVersionIsNamed)
{
	auto bytes = encode(sample(), false);
	uint32_t v = kImageFormatVersion + 1;
	std::memcpy(bytes.data() + 8, &v, 4);
	// A well-formed header of another version: its CRC made anew.
	uint32_t crc = uint32_t(crc32(0, bytes.data(), 28));
	std::memcpy(bytes.data() + 28, &crc, 4);
	auto r = decode(bytes);
	ASSERT_FALSE(r.has_value());
	EXPECT_EQ(r.error().code, EPROTO);
	EXPECT_NE(r.error().describe().find(strf("format version %u is not supported", v)),
		  std::string::npos) << r.error().describe();
}

// The common 32 bytes of the header keep format 1's CRC-32, so a hetmig
// that reads format 1 only names the version of a newer image.
TEST(Image, HeaderChecksummedAsFormat1Did)
{
	auto bytes = encode(sample(), false);
	uint32_t version, crc;
	std::memcpy(&version, bytes.data() + 8, 4);
	std::memcpy(&crc, bytes.data() + 28, 4);
	EXPECT_EQ(version, kImageFormatSingle);	// one process, no shared memory
	EXPECT_EQ(crc, uint32_t(crc32(0, bytes.data(), 28)));
}

// Header fields rewritten with a header CRC made anew, as a mistaken
// writer would: the checksums further on, or the version's rules, refuse.
TEST(Image, RewrittenHeadersAreRefused)
{
	auto rewritten = [](std::vector<uint8_t> bytes, size_t at, uint32_t v) {
		std::memcpy(bytes.data() + at, &v, 4);
		uint32_t crc = uint32_t(crc32(0, bytes.data(), 28));
		std::memcpy(bytes.data() + 28, &crc, 4);
		return decode(bytes);
	};
	auto bytes = encode(sample(), true);
	for (uint32_t v : {0u, kImageFormatVersion + 1}) {
		auto r = rewritten(bytes, 8, v);
		ASSERT_FALSE(r.has_value());
		EXPECT_EQ(r.error().code, EPROTO) << r.error().describe();
		EXPECT_NE(r.error().describe().find(strf("format version %u is not supported", v)),
			  std::string::npos) << r.error().describe();
	}
	// Format 2's bytes read as format 1: no checksum of format 1 matches.
	auto as1 = rewritten(bytes, 8, 1);
	ASSERT_FALSE(as1.has_value());
	EXPECT_EQ(as1.error().code, EBADMSG) << as1.error().describe();
	// Format 1's metadata CRC-32 word is reserved in format 2.
	auto reserved = rewritten(bytes, 24, 1);
	ASSERT_FALSE(reserved.has_value());
	EXPECT_NE(reserved.error().describe().find("reserved in format 2"), std::string::npos)
		<< reserved.error().describe();
}

std::vector<uint8_t> fixture(const std::string &name)
{
	std::ifstream in(std::string(HETMIG_IMAGE_FIXTURES) + "/" + name, std::ios::binary);
	EXPECT_TRUE(in.good()) << name;
	return {std::istreambuf_iterator<char>(in), {}};
}

// Images hetmig wrote in format 1 (fixtures/image/README.md), read by
// this one: what they hold is sample() as it was then.
TEST(Image, Format1StillReads)
{
	for (const char *name : {"format1-zstd.img", "format1-raw.img"}) {
		auto bytes = fixture(name);
		uint32_t version;
		ASSERT_GT(bytes.size(), 12u);
		std::memcpy(&version, bytes.data() + 8, 4);
		ASSERT_EQ(version, 1u) << name;
		auto back = decode(bytes);
		ASSERT_TRUE(back.has_value()) << name << ": " << back.error().describe();
		Image want = sample();
		if (std::string(name) == "format1-raw.img")
			want.pages.resize(2);
		EXPECT_EQ(back->pid, 1234u);
		EXPECT_EQ(back->cwd, "/home/u");
		ASSERT_EQ(back->threads.size(), 1u);
		EXPECT_EQ(back->threads[0].regsets, want.threads[0].regsets);
		EXPECT_EQ(back->rlimits, want.rlimits);
		EXPECT_EQ(back->oom_score_adj, -300);
		ASSERT_EQ(back->files.size(), 2u);
		EXPECT_EQ(back->files[1].inode, 7777u);
		EXPECT_EQ(memory_of(*back), memory_of(want)) << name;
	}
}

// Format 1 refuses damage as it always did: every byte flipped, every cut.
TEST(Image, Format1DamageIsRefused)
{
	auto bytes = fixture("format1-raw.img");
	for (size_t at = 0; at < bytes.size(); at++) {
		auto bad = bytes;
		bad[at] ^= 0x01;
		auto r = decode(bad);
		ASSERT_FALSE(r.has_value()) << "flip at " << at << " was accepted";
	}
	bytes = fixture("format1-zstd.img");
	for (size_t len = 0; len < bytes.size(); len++) {
		auto r = decode({bytes.begin(), bytes.begin() + long(len)});
		ASSERT_FALSE(r.has_value()) << "cut at " << len << " was accepted";
	}
	bytes[bytes.size() / 2] ^= 0x40;
	auto r = decode(bytes);
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("corrupted image"), std::string::npos)
		<< r.error().describe();
}

TEST(Image, NotAnImage)
{
	std::vector<uint8_t> text(100, 'x');
	auto r = decode(text);
	ASSERT_FALSE(r.has_value());
	EXPECT_NE(r.error().describe().find("not a hetmig image"), std::string::npos);
}

} // namespace
} // namespace hetmig

namespace hetmig {
namespace {

std::vector<uint8_t> file_bytes(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A saver (hetmig.ko's SAVE_PAGES in a dump) puts the records' bytes at
// their places in the file: the file is byte for byte what the sink
// writes, a record the saver cannot read (EFAULT) comes through the
// reader, and a saver that fails otherwise fails the save with its error
// and leaves no image.
TEST(Image, SaverWritesWhatTheSinkWrites)
{
	Image img = sample();
	img.pages.push_back({0x400000, 5 * kPageRecordMax + 8192, {}});
	for (auto &run : img.pages)
		run.data.clear();
	auto reader = [](uint64_t addr, std::span<uint8_t> out) -> Result<void> {
		for (size_t i = 0; i < out.size(); i++)
			out[i] = uint8_t((addr + i) * 13 >> 5);
		return {};
	};
	std::string dir = ::testing::TempDir();
	std::string want_path = dir + "/hetmig-sink.img", got_path = dir + "/hetmig-saver.img";
	ASSERT_TRUE(save_image(img, want_path, {.reader = reader}));
	auto want = file_bytes(want_path);
	ASSERT_GT(want.size(), img.page_bytes());

	int calls = 0, efaults = 0;
	auto saver = [&](size_t process, uint64_t addr, uint64_t len, int fd,
			 uint64_t offset, bool sum) -> Result<uint64_t> {
		EXPECT_EQ(process, 0u);
		if (++calls % 3 == 0) {
			efaults++;
			return fail(EFAULT, "SAVE_PAGES");
		}
		std::vector<uint8_t> bytes(len);
		if (auto r = reader(addr, bytes); !r)
			return std::unexpected(r.error());
		if (pwrite(fd, bytes.data(), len, off_t(offset)) != ssize_t(len))
			return fail(errno, "pwrite");
		return sum ? XXH64(bytes.data(), len, 0) : 0;
	};
	ASSERT_TRUE(save_image(img, got_path, {.reader = reader, .saver = saver}));
	EXPECT_EQ(file_bytes(got_path), want);
	EXPECT_GT(efaults, 0);
	size_t records = 0;
	for (const auto &run : img.pages)
		records += (run.len + kPageRecordMax - 1) / kPageRecordMax;
	EXPECT_EQ(size_t(calls), records);
	auto back = load_image(got_path);
	ASSERT_TRUE(back) << back.error().describe();
	EXPECT_EQ(back->page_bytes(), img.page_bytes());
	unlink(got_path.c_str());

	calls = 0;
	auto full = [&](size_t, uint64_t, uint64_t len, int fd, uint64_t offset,
			bool) -> Result<uint64_t> {
		if (++calls == 4)
			return fail(ENOSPC, "SAVE_PAGES");
		std::vector<uint8_t> zeros(len);
		if (pwrite(fd, zeros.data(), len, off_t(offset)) != ssize_t(len))
			return fail(errno, "pwrite");
		return 0;
	};
	auto r = save_image(img, got_path, {.reader = reader, .saver = full});
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, ENOSPC);
	EXPECT_NE(access(got_path.c_str(), F_OK), 0);
	EXPECT_NE(access((got_path + ".partial").c_str(), F_OK), 0);
	unlink(want_path.c_str());
}

} // namespace
} // namespace hetmig
