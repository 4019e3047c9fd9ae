// SPDX-License-Identifier: GPL-2.0
// The migration image: everything a process is, in a form that outlives it.
//
// On disk and on the wire it is one byte stream (Documentation/image.md):
//   header   "HETMIGIM", format version, architecture, metadata length,
//            header CRC-32; then the metadata's XXH64
//   metadata CBOR (nlohmann-json): threads, registers, mm layout, mappings,
//            signals, files, credentials; self-describing, so fields can be
//            added without a new format version
//   pages    records of (address, length, codec, XXH64) + data, raw or
//            zstd-compressed, at most kPageRecordMax bytes each
//   trailer  "HETMIGND", record count, byte count, XXH64
// Format 1 (CRC-32s where format 2 has XXH64) is still read.
// Every part is checked on reading; a truncated, corrupted or unknown image
// is refused with a message that says which.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "error.h"
#include "process_state.h"

namespace hetmig {

// The version written; every version from 1 up to it is read. Version 9
// is written only for an image with a process whose real, effective, saved
// and file system ids differ (Image::has_distinct_ids), which a hetmig that
// reads 8 would give its real ids as all four, silently; version 8
// only for an image with descriptors in flight (SCM_RIGHTS) in a
// unix socket's queue or an epoll entry whose fd was closed since
// (Image::has_in_flight), which a hetmig that reads 7 would drop silently;
// version 7 only for an image with a deleted file, deleted directory or
// memfd held as an fd (Image::ghosts), which a hetmig that reads 6 would
// try to open by its "/path (deleted)" name; version 6 only for an image with a unix socket that is no plain socket
// pair (Image::unix_sockets: named, listening, shut down, its peer closed),
// which a hetmig that reads 5 would take for a corrupted pair; version 5
// for one with a TCP or UDP socket (OpenFile::tcp, OpenFile::udp), which a
// hetmig that reads 4 would try to open by its "socket:[N]" name; version 4
// for a tree whose processes share open file descriptions
// (Image::tree_files), which a hetmig that reads 3 would make once per
// process, silently; version 3 for another tree or shared memory
// (Image::members, Image::shared); one process without either is still
// written as version 2, which older hetmigs read.
inline constexpr uint32_t kImageFormatVersion = 9;
inline constexpr uint32_t kImageFormatInFlight = 8;
inline constexpr uint32_t kImageFormatGhosts = 7;
inline constexpr uint32_t kImageFormatUnixSockets = 6;
inline constexpr uint32_t kImageFormatInet = 5;
inline constexpr uint32_t kImageFormatTreeFiles = 4;
inline constexpr uint32_t kImageFormatTree = 3;
inline constexpr uint32_t kImageFormatSingle = 2;
inline constexpr size_t kPageRecordMax = 1 << 20;

// An eventfd(2)'s state: its counter and EFD_SEMAPHORE.
struct EventCounter {
	uint64_t count = 0;
	bool semaphore = false;
};

struct Timespec {
	uint64_t sec = 0, nsec = 0;
};

// A timerfd(2)'s state, as its fdinfo shows it.
struct TimerState {
	int clockid = 0;
	int settime_flags = 0;	// TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET
	uint64_t ticks = 0;	// expiries not read yet
	Timespec value;		// what remained until the next expiry
	Timespec interval;
};

// One entry of an epoll(7) descriptor's interest list, as its fdinfo shows
// it: the target's fd number, the events with their flags (EPOLLET,
// EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLWAKEUP; a oneshot entry that fired
// has its flags only) and the user's data word.
struct EpollTarget {
	int fd = -1;
	uint32_t events = 0;
	uint64_t data = 0;
	// The fd that holds the file added under FD, when FD was closed since
	// (or holds another file now): the entry outlives its fd number while
	// its file lives on. -1: FD holds it.
	int file_fd = -1;
};

// An IPv4 or IPv6 socket address: ADDR holds 4 bytes (AF_INET) or 16
// (AF_INET6), in network order; PORT in host order.
struct InetAddress {
	int family = 0;
	std::array<uint8_t, 16> addr{};
	uint16_t port = 0;
	uint32_t scope_id = 0;	// IPv6 link-local addresses
};

// What TCP_REPAIR reads of an established connection (fds/tcp.h): its
// sequence numbers, queues, negotiated options and window.
struct TcpConnection {
	uint32_t send_seq = 0;	// TCP_QUEUE_SEQ of the send queue: after its last byte
	uint32_t recv_seq = 0;	// of the receive queue: after its last byte (rcv_nxt)
	// Written and not acknowledged yet: sent, then (the last UNSENT bytes)
	// never sent at all.
	std::vector<uint8_t> send_queue;
	uint32_t unsent = 0;
	std::vector<uint8_t> recv_queue;	// arrived, not read by the process
	uint32_t mss = 0;			// TCP_MAXSEG
	uint32_t options = 0;			// TCP_INFO's tcpi_options (TCPI_OPT_*)
	uint8_t snd_wscale = 0, rcv_wscale = 0;
	uint32_t timestamp = 0;			// TCP_TIMESTAMP
	bool has_window = false;		// TCP_REPAIR_WINDOW, below
	uint32_t snd_wl1 = 0, snd_wnd = 0, max_window = 0, rcv_wnd = 0, rcv_wup = 0;
};

// A TCP socket of the process: a listener, a socket not connected (bound
// or not), or an established connection.
struct TcpSocket {
	int state = 0;		// TCP_LISTEN, TCP_CLOSE or TCP_ESTABLISHED (netinet/tcp.h)
	InetAddress local;	// family AF_INET or AF_INET6; port 0: not bound
	InetAddress peer;	// connections
	int backlog = 0;	// listeners: listen(2)'s
	bool reuseaddr = false, reuseport = false, keepalive = false, nodelay = false;
	bool v6only = false;
	// IP_FREEBIND (IPV6_FREEBIND is the same flag): set before the bind,
	// which may then take an address this machine does not have.
	bool freebind = false;
	int keepidle = 0, keepintvl = 0, keepcnt = 0;	// TCP_KEEP*, as they read
	uint32_t sndbuf = 0, rcvbuf = 0;	// connections: SO_SNDBUF, SO_RCVBUF as read
	std::optional<TcpConnection> connection = std::nullopt;
};

// A UDP socket (IPv4 or IPv6): bound, connected, or neither. Datagrams
// queued to it are not carried (fds/udp.h refuses them).
struct UdpSocket {
	InetAddress local;	// family AF_INET or AF_INET6; port 0: not bound
	InetAddress peer;	// port 0: not connected
	bool reuseaddr = false, reuseport = false, broadcast = false, v6only = false;
	bool freebind = false;	// IP_FREEBIND, as TcpSocket's
	int protocol = 17;	// IPPROTO_UDP, or IPPROTO_UDPLITE (136)
	uint8_t shutdown = 0;	// the kernel's sk_shutdown: 1 receive, 2 send, 3 both
	// UDP-Lite's checksum coverage (UDPLITE_SEND_CSCOV, _RECV_CSCOV); 0:
	// the whole datagram, a new socket's.
	int send_cscov = 0, recv_cscov = 0;
};

// Who an open file description signals when it is ready (F_SETOWN_EX,
// with O_ASYNC) and with which signal (F_SETSIG; 0: SIGIO).
struct FileOwner {
	int type = 0;		// F_OWNER_TID, F_OWNER_PID or F_OWNER_PGRP
	int32_t id = 0;		// a pid of the tree (0: nobody)
	int signal = 0;
};

// A generic socket option (SOL_SOCKET) set to other than a new socket's
// value (fds/socket_options.h).
struct SocketOption {
	int32_t name = 0;	// SO_*
	int64_t value = 0;	// SO_LINGER: seconds or -1; timeouts: microseconds
};

// An open file of the process, to be opened again on the destination.
struct OpenFile {
	int fd = -1;
	std::string path;
	int flags = 0;		// open(2) flags as fdinfo shows them
	uint64_t offset = 0;
	uint64_t size = 0;	// regular files: must match on the destination
	int64_t mtime_ns = 0;	// regular files: must match on the destination
	// fd 0-2 that is no regular file (a terminal, a pipe): replaced by the
	// destination's choice (RestorePolicy); one that is, is carried.
	bool std_stream = false;
	// Why a standard stream that is a regular file stays behind (its open
	// file is shared with a process that is not moved); empty otherwise.
	std::string left_behind;
	// Shares its open file description (and offset) with this lower fd:
	// dup'ed from it on the destination. -1: a description of its own.
	int dup_of = -1;
	// A directory (opendir, O_DIRECTORY, O_PATH): OFFSET is its getdents
	// position, a cookie only the same directory gives meaning to. At 0
	// it need only be a directory on the destination; read part-way, it
	// must be the same one (INODE, SIZE and MTIME_NS as they were).
	bool directory = false;
	uint64_t inode = 0;	// directories: st_ino
	// Descriptors made anew on the destination, not opened by path
	// (user/src/fds/). An end of the pipe of Image::pipes with this inode
	// (pipe:[PIPE] on the source), the end FLAGS' access mode says; 0 for
	// none.
	uint64_t pipe = 0;
	// An eventfd, with its counter as the process left it.
	std::optional<EventCounter> eventfd = std::nullopt;
	// A timerfd, with its timer as the process left it.
	std::optional<TimerState> timerfd = std::nullopt;
	// An epoll descriptor, with its interest list (targets in fd order).
	std::optional<std::vector<EpollTarget>> epoll = std::nullopt;
	// A signalfd, with the signals it reads (bit N - 1 for signal N).
	std::optional<uint64_t> signalfd = std::nullopt;
	// An end of the unix socket pair of Image::unix_pairs, or the socket of
	// Image::unix_sockets, with this inode (socket:[N] on the source); 0
	// for none.
	uint64_t unix_socket = 0;
	// A TCP socket (the first fd of its description; dups have dup_of).
	std::optional<TcpSocket> tcp = std::nullopt;
	// A UDP socket (the first fd of its description).
	std::optional<UdpSocket> udp = std::nullopt;
	// A socket's generic options that differ from a new one's.
	std::vector<SocketOption> sockopts = {};
	// A character device that is the same everywhere (/dev/zero): its
	// device number (st_rdev), which the destination's PATH must have.
	// 0: none, or /dev/null in an image from before devices were checked.
	uint64_t rdev = 0;
	// A named pipe (FIFO), opened again by PATH (fds/fifos.h); its bytes
	// are the Image::fifos entry of the same path, in one process.
	bool fifo = false;
	// The open file description of the root's Image::tree_files with this
	// index, which processes of the tree share (or an end of a pipe between
	// them): made once by the restorer, inherited by every member and put
	// at this fd. The fields above say what it is; -1 for none.
	int32_t tree_file = -1;
	// The file of the root's Image::ghosts with this index (a deleted
	// file or directory, a memfd): made once on the destination, this fd
	// opened on it again with FLAGS at OFFSET. -1 for none.
	int32_t ghost = -1;
	// A file no fd holds, only a message in a unix socket's queue of the
	// process (SCM_RIGHTS, fds/in_flight.h): FD is a number of no file of
	// the source, where the restore makes it until the messages that
	// carry it are queued again, then closes it.
	bool in_flight = false;
	// A namespace of the process's own (/proc/PID/ns/NS, "net:[N]" on the
	// source): the namespace of that kind it is in here, opened again as
	// /proc/self/ns/NS. Empty for none.
	std::string ns = {};
	// An O_PATH descriptor of a symbolic link (O_NOFOLLOW): the link at
	// PATH, which must lead to this target here; SIZE and MTIME_NS are the
	// link's own (lstat).
	std::optional<std::string> symlink = std::nullopt;
	// A /proc file of a process of the tree (/proc/PROC_PID/stat): opened
	// again by its path once the tree is made, the process's own pid there
	// being the one it has here. 0 for none.
	int32_t proc_pid = 0;
	// Its owner (F_SETOWN, F_SETSIG), when it has one or a signal.
	std::optional<FileOwner> owner = std::nullopt;
	// A standard stream (fd 0-2) that is a regular file the process
	// inherited from its parent in the tree (one description, kcmp): the
	// pid of the tree's process it came from, topmost, whose file system
	// ids open it again (a child that changed its ids since, zdtm's pid00,
	// may no longer open its parent's log). 0: opened as the process.
	uint32_t opened_by = 0;

	bool made_anew() const
	{
		return pipe || eventfd || timerfd || epoll || signalfd || unix_socket || tcp || udp;
	}
};

// A pipe whose ends are all in the process, with what was written to it
// and not yet read.
struct PipeState {
	uint64_t inode = 0;	// pipe:[INODE]: its fds' OpenFile::pipe
	uint32_t capacity = 0;	// F_GETPIPE_SZ
	std::vector<uint8_t> data;
};

// A named pipe (FIFO) with what was written to it and not yet read: one
// buffer, whoever opens it. Carried by one process of a tree only (the
// lowest pid holding it), which writes the bytes back.
struct FifoState {
	std::string path;
	uint32_t capacity = 0;	// F_GETPIPE_SZ
	std::vector<uint8_t> data;
};

// A pair of connected unix sockets, both ends in the process (socketpair),
// with what each end has to read: a stream's bytes (one message), or the
// datagrams in order.
struct UnixPair {
	int type = 0;	// SOCK_STREAM or SOCK_DGRAM
	struct End {
		uint64_t inode = 0;	// socket:[INODE]: its fds' OpenFile::unix_socket
		uint32_t sndbuf = 0;	// SO_SNDBUF as getsockopt gives it
		std::vector<std::vector<uint8_t>> queued;
		// The descriptors in flight with each message of QUEUED
		// (SCM_RIGHTS), as fd numbers of the process (OpenFile::fd);
		// empty when none has any, else one list per message.
		std::vector<std::vector<int>> rights = {};
	};
	std::array<End, 2> ends;
};

// A unix socket of the process that is no plain socket pair
// (fds/unix_sockets.h): bound to a name, listening, connected to a named
// socket or through a listener, shut down in a direction, or with its
// peer closed; with what it has to read.
struct UnixSocket {
	uint64_t inode = 0;	// socket:[INODE]: its fds' OpenFile::unix_socket
	int type = 0;		// SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
	int state = 0;		// unix_diag's: 10 listening, 1 connected, 7 neither
	// Its address's sun_path as bound: a path (absolute, or relative to
	// BASE), an abstract name (a NUL byte first); empty: unnamed.
	std::string name;
	std::string base;	// relative paths: the directory they were found in
	// A path whose file was unlinked (or replaced) since: bound, then
	// unlinked again on the destination.
	bool deleted = false;
	uint32_t mode = 0, uid = 0, gid = 0;	// a path's file, as it was
	int backlog = 0;	// listening: listen(2)'s
	// Listening: the connections not accepted yet, in order: their
	// clients, each another of Image::unix_sockets (connected, no peer).
	std::vector<uint64_t> pending;
	uint64_t peer = 0;	// connected: another of Image::unix_sockets; 0: none
	int shutdown = 0;	// RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2, as the kernel keeps them
	uint32_t sndbuf = 0;	// SO_SNDBUF as getsockopt gives it
	// What it has to read: a stream's bytes (one message), or datagrams
	// and sequenced packets in order, each with its sender's address
	// (SENDERS, as NAME; empty: unnamed).
	std::vector<std::vector<uint8_t>> queued;
	std::vector<std::string> senders;
	// As UnixPair::End::rights.
	std::vector<std::vector<int>> rights = {};
};

// A regular file a mapping is backed by: checked like an open file.
struct MappedFile {
	std::string path;
	uint64_t size = 0;
	int64_t mtime_ns = 0;
};

// LEN bytes of memory at ADDR. DATA holds them in an image read from a
// file or the wire; a captured image leaves it empty and the bytes are
// read from the stopped process while the image is written. An image
// file mapped for a restore (load_image's kMapped) leaves DATA empty too
// and points VIEW at the bytes in the file's mapping (Image::backing).
struct PageRun {
	uint64_t addr = 0;
	uint64_t len = 0;
	std::vector<uint8_t> data;
	std::span<const uint8_t> view = {};

	// The run's bytes, wherever they are held.
	std::span<const uint8_t> bytes() const
	{
		return data.empty() ? view : std::span<const uint8_t>(data);
	}
};

// Fills the span with the memory at ADDR (of a stopped process).
using PageReader = std::function<Result<void>(uint64_t addr, std::span<uint8_t>)>;

// The hetmig-cc program a process runs (empty for other programs): the
// receiver finds its build by PAIR_ID and refuses the move up front when it
// has none. CONVERTED_FROM names the source ISA of a converted image.
struct ProgramRef {
	std::string path, pair_id, converted_from;
};

// A POSIX timer of the process (timer_create(2)): /proc/PID/timers and
// timer_gettime(2) as the process saw them.
struct PosixTimer {
	int32_t id = 0;
	int32_t clock = 0;		// clockid_t; CPU clocks of others refused
	int32_t signal = 0;
	int32_t notify = 0;		// SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, or
					// SIGEV_SIGNAL | SIGEV_THREAD_ID: one thread (THREAD)
	uint64_t value = 0;		// sigev_value
	uint64_t interval_ns = 0;
	uint64_t remaining_ns = 0;	// 0: disarmed
	uint32_t thread = 0;		// SIGEV_THREAD_ID: its index in Image::threads
};

// The process's timers, which only it can read of itself (inject.h).
struct Timers {
	// ITIMER_REAL, _VIRTUAL, _PROF: interval and time left, microseconds.
	std::array<std::pair<uint64_t, uint64_t>, 3> itimers{};
	std::vector<PosixTimer> posix;	// by id
	uint64_t slack_ns = 0;		// the main thread's (PR_GET_TIMERSLACK)
};

// A signal sent and not yet taken: the kernel's siginfo (128 bytes, one
// layout on x86_64 and arm64) as PTRACE_PEEKSIGINFO gives it.
using SigInfo = std::array<uint8_t, 128>;

// Signals pending in the process: its shared (process-wide) queue and each
// thread's own, each in the order they were queued.
struct PendingSignals {
	std::vector<SigInfo> shared;
	std::vector<std::pair<uint32_t, std::vector<SigInfo>>> threads;	// by tid

	bool empty() const { return shared.empty() && threads.empty(); }
};

// A shared memory object that the tree's processes map (MAP_SHARED
// anonymous memory, shared /dev/zero, a memfd with its fd closed): made
// once on the destination (a memfd) and mapped by each mapping whose
// Mapping::shared names it. Its pages are carried once, with the first
// mapping of the tree that holds them.
struct SharedMemory {
	uint64_t dev = 0, inode = 0;	// the source's object (identity only)
	uint64_t size = 0;		// up to the furthest mapping's end
	std::string name;		// a memfd's name; empty: anonymous
};

// Bytes of a ghost file at OFFSET; what no extent covers is a hole.
struct GhostExtent {
	uint64_t offset = 0;
	std::vector<uint8_t> data;
};

// A file the tree's processes hold that no name leads to any more
// (fds/ghost_files.h): a deleted regular file or directory, a memfd, or
// MAP_SHARED anonymous memory opened as a file. Carried with its content
// and made again on the destination; every fd of it (OpenFile::ghost) is
// opened on the one file made.
struct GhostFile {
	enum Kind : int32_t {
		kFile = 0, kDirectory = 1, kMemfd = 2, kSharedAnon = 3, kFifo = 4
	};
	int32_t kind = kFile;
	// kFile, kDirectory, kFifo: where it was, " (deleted)" cut; kMemfd: its
	// name (what follows "/memfd:"); kSharedAnon: empty.
	std::string path;
	uint32_t mode = 0;		// permission bits (07777)
	uint32_t uid = 0, gid = 0;
	uint64_t size = 0;		// kFifo: its capacity (F_GETPIPE_SZ)
	int64_t mtime_ns = 0;
	std::vector<GhostExtent> extents;	// in order, not overlapping
	uint32_t seals = 0;		// kMemfd: F_GET_SEALS
	// kMemfd, kSharedAnon: the Image::shared object it is, when the tree
	// maps it too (one object on the destination); -1 for none.
	int32_t shared = -1;
	uint64_t dev = 0, inode = 0;	// the source's (identity only)

	uint64_t data_bytes() const;
};

// A child that exited and was not waited for yet: made again as a child
// that exits at once the same way, for its parent's waitpid.
struct Zombie {
	uint32_t pid = 0;
	int32_t status = 0;	// as waitpid(2) gives it
	// Its process group and session; 0 in images written before they
	// were carried (its parent's, as made). A group other than its
	// parent's is its own, or one whose leader has gone (zdtm's zombie01:
	// a child that left its group to a grandchild), made again by a
	// helper process with the leader's pid (member_main).
	uint32_t pgid = 0, sid = 0;
};

// A process's capability sets (bit N for capability N) and its
// no_new_privs flag, as /proc/PID/status shows them, the same in every
// thread.
struct Capabilities {
	uint64_t inheritable = 0, permitted = 0, effective = 0, bounding = 0, ambient = 0;
	bool no_new_privs = false;
};

// Where a process stands in its tree on the source.
struct TreeLinks {
	uint32_t ppid = 0, pgid = 0, sid = 0;
	int32_t pdeathsig = 0;		// PR_SET_PDEATHSIG; not kept for the root
};

struct Image {
	uint32_t arch = 0;
	uint32_t page_size = 0;
	std::string kernel_release, hostname, comm;
	uint32_t pid = 0, uid = 0, gid = 0, umask = 022;
	// Real, effective, saved and file system uid and gid (credentials.h);
	// empty in images written before they were carried (UID and GID, the
	// real ones, stand for all four then).
	std::vector<uint32_t> uids, gids;
	// Supplementary groups (/proc/PID/status Groups); none in images
	// written before they were carried.
	std::vector<uint32_t> groups;
	std::string cwd;
	// A working directory that was removed ("/dir (deleted)" in CWD): the
	// root's Image::ghosts entry (a directory) it is made again as, and
	// entered by fd; -1 for none.
	int32_t cwd_ghost = -1;
	uint64_t vdso_size = 0, vvar_size = 0;
	std::string vdso_digest;	// BLAKE2b of the vdso's bytes, hex
	std::vector<ThreadState> threads;	// the leader first
	MmLayout mm;
	std::vector<Mapping> mappings;
	std::vector<SignalAction> signals;
	std::vector<OpenFile> files;
	// The pipes some of FILES are ends of; none in images written before
	// pipes were carried.
	std::vector<PipeState> pipes;
	// The socket pairs some of FILES are ends of; none in images written
	// before they were carried.
	std::vector<UnixPair> unix_pairs;
	// The other unix sockets some of FILES are (format 6).
	std::vector<UnixSocket> unix_sockets;
	// The FIFOs some of FILES are (or the tree's shared descriptions)
	// whose bytes this process carries.
	std::vector<FifoState> fifos;
	std::vector<MappedFile> mapped_files;
	// getrlimit(2) of each resource, RLIMIT_* order (soft, hard); empty in
	// images written before they were carried.
	std::vector<std::pair<uint64_t, uint64_t>> rlimits;
	// /proc/PID/oom_score_adj (-1000..1000); none in images written
	// before it was carried.
	std::optional<int> oom_score_adj;
	// None in images written before they were carried.
	std::optional<Timers> timers;
	// None in images written before they were carried, or with none.
	PendingSignals pending_signals;
	std::vector<PageRun> pages;
	// What the pages' views point into (a mapping of the image file), held
	// for as long as the image.
	std::shared_ptr<const void> backing;
	// Runs (address, length) of pages the receiver already holds from the
	// pre-copy rounds of `hetmig send --live`, unchanged since: with PAGES
	// they are the process's memory. Empty in every other image.
	std::vector<std::pair<uint64_t, uint64_t>> precopied;
	ProgramRef program;
	TreeLinks links;
	// PR_SET_CHILD_SUBREAPER: orphaned descendants are re-parented to it.
	bool child_subreaper = false;
	// Stopped by SIGSTOP, SIGTSTP, SIGTTIN or SIGTTOU (a group stop) at
	// the dump: made stopped again before it runs, and its parent told,
	// as waitpid(WUNTRACED) reports it.
	bool stopped = false;
	// None in images written before they were carried.
	std::optional<Capabilities> caps;
	// The root's descendants, each parent before its children; empty in a
	// member and in an image of one process. Each is a whole Image of its
	// own (machine fields copied from the root), pages included.
	std::vector<Image> members;
	// The shared memory of the whole tree (root image only).
	std::vector<SharedMemory> shared;
	// This process's zombie children.
	std::vector<Zombie> zombies;
	// The open file descriptions the tree's processes share, and the ends
	// of pipes between them (root image only): what each is (fd: its first
	// holder's, for messages), referred to by OpenFile::tree_file.
	std::vector<OpenFile> tree_files;
	// The pipes some of TREE_FILES are ends of, with their bytes.
	std::vector<PipeState> tree_pipes;
	// The socket pairs some of TREE_FILES are ends of, with their queues.
	std::vector<UnixPair> tree_pairs;
	// The other unix sockets some of TREE_FILES are (format 6): a
	// listener its processes share, a connection between two of them.
	std::vector<UnixSocket> tree_sockets;
	// The deleted files, deleted directories and memfds the tree's
	// processes hold (root image only), each once, with its content.
	std::vector<GhostFile> ghosts;

	uint64_t page_bytes() const;	// this process's, members not counted
	// Whether this process or a member holds a TCP or UDP socket (format 5).
	bool has_inet_sockets() const;
	// Whether this process or a member holds one of Image::unix_sockets
	// (format 6).
	bool has_unix_sockets() const;
	// Descriptors in flight or epoll entries whose fd was closed
	// (format 8).
	bool has_in_flight() const;
	// Whether this process or a member has real, effective, saved and
	// file system ids that are not all one (format 9).
	bool has_distinct_ids() const;
	bool is_tree() const
	{
		return !members.empty() || !shared.empty() || !zombies.empty() ||
		       !tree_files.empty();
	}
};

// Writes LEN bytes of memory at ADDR of process PROCESS of an image (0 the
// root, I member I - 1) into file FD at OFFSET and returns their XXH64
// (with SUM; else 0, and the caller sums them in the file).
using PageSaver = std::function<Result<uint64_t>(size_t process, uint64_t addr, uint64_t len,
						 int fd, uint64_t offset, bool sum)>;

// Where image bytes go and where they come from: a file or a connection.
using ByteSink = std::function<Result<void>(std::span<const uint8_t>)>;
// Fills the span completely, or fails (EOF is an error: the image is cut).
using ByteSource = std::function<Result<void>(std::span<uint8_t>)>;

struct WriteOptions {
	bool compress = false;	// zstd level 1 on page records that shrink
	// Records compressed side by side; 0: one per online CPU, up to 8.
	unsigned threads = 0;
	// Where page runs without DATA come from. Reading them while writing,
	// through one buffer, keeps a large process's image out of memory.
	PageReader reader;
	// The same for each of Image::members, in order.
	std::vector<PageReader> member_readers = {};
	// How save_image writes page records without a copy through our
	// buffers (page_saver.h), at their places in the file. Used for
	// records without DATA when not compressing; READER still reads
	// what the saver cannot (EFAULT).
	PageSaver saver = {};
};

Result<void> write_image(const Image &img, const ByteSink &sink,
			 const WriteOptions &opts = {});
Result<Image> read_image(const ByteSource &source);

// An image's page records read one at a time as they arrive, for a restore
// that writes each into the process being rebuilt and never holds the
// image (`hetmig recv`: its memory is the process's size, not twice it).
// Every record is checked (header, bounds, data sum) before it is handed
// out, and the trailer once the last process's records are done; an image
// bad anywhere fails there, before anything of it has run.
class PageStream {
public:
	// The next record of process PROCESS (0 the root, I member I - 1 of
	// Image::members), or nullopt once its records are done. Processes are
	// read in that order, each to its end.
	Result<std::optional<PageRun>> next(size_t process);
	// The end record and the trailer's counts, after every process's
	// records.
	Result<void> finish();

private:
	friend Result<std::pair<Image, PageStream>> read_image_streamed(const ByteSource &source);
	ByteSource source_;
	uint32_t version_ = 0;
	// Page bytes of each process of a tree in record order; empty for
	// one process, whose records run to the end record.
	std::vector<uint64_t> shares_;
	size_t process_ = 0;	// whose records come next
	uint64_t left_ = 0;	// of shares_[process_]
	bool ended_ = false;	// the end record was read
	uint64_t records_ = 0, bytes_ = 0;
};

// The metadata of the image SOURCE delivers, checked as read_image checks
// it (no pages in the Image), and its page records to come.
Result<std::pair<Image, PageStream>> read_image_streamed(const ByteSource &source);

// The page records of an image alone (records, end record, trailer), in
// format kImageFormatVersion: what a pre-copy round of `hetmig send --live`
// sends (Documentation/image.md, "Pre-copy rounds"). read_page_records
// appends the runs it reads to PAGES.
Result<void> write_page_records(const std::vector<PageRun> &pages, const ByteSink &sink,
				const WriteOptions &opts = {});
Result<void> read_page_records(const ByteSource &source, uint32_t version,
			       std::vector<PageRun> &pages);

Result<void> save_image(const Image &img, const std::string &path,
			const WriteOptions &opts = {});
// kMapped: the file is mapped, its checksums checked there, and page
// records stored raw are views into the mapping (PageRun::view), not
// copies: for a restore, which only reads them. The file must not change
// while the image lives (hetmig restore's own images; a file another
// writer truncates would fault).
enum class LoadMode { kCopied, kMapped };
Result<Image> load_image(const std::string &path, LoadMode mode = LoadMode::kCopied);

// The mapping of IMG that holds ADDR, or nullptr.
const Mapping *mapping_containing(const Image &img, uint64_t addr);
// [start, end) of memory; lists of them sorted by start.
using AddressRange = std::pair<uint64_t, uint64_t>;
// The mappings of IMG that WANTED picks, as ranges in address order,
// merged where they touch (as the kernel merges their areas).
std::vector<AddressRange> mapping_ranges(const Image &img,
					 const std::function<bool(const Mapping &)> &wanted);
// Whether [ADDR, ADDR + LEN) lies within one of RANGES (mapping_ranges'):
// a binary search, not a scan of every mapping.
bool ranges_hold(const std::vector<AddressRange> &ranges, uint64_t addr, uint64_t len);
// Whether any byte of [ADDR, ADDR + LEN) lies in one of RANGES.
bool ranges_touch(const std::vector<AddressRange> &ranges, uint64_t addr, uint64_t len);

// A run of RUNS (sorted by address, not overlapping) that shares a byte
// with [ADDR, ADDR + LEN), or nullptr.
const PageRun *run_overlapping(std::span<const PageRun> runs, uint64_t addr, uint64_t len);

const char *arch_name(uint32_t arch);
uint32_t this_arch();

} // namespace hetmig
