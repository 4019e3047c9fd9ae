// SPDX-License-Identifier: GPL-2.0
// The wire between `hetmig send` and `hetmig recv`: TCP, with every byte
// after the greeting encrypted and authenticated by libsodium's
// secretstream (XChaCha20-Poly1305) under keys derived from a pre-shared
// key and a fresh nonce of each side. A sender without the key, a replayed
// recording, a flipped bit or a cut stream all fail to authenticate, and
// the receiver proves the key too before a process is handed to it.
// Documentation/user-guide.md ("Moving a process") describes the protocol.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <sodium.h>
#include <sys/types.h>

#include "error.h"

namespace hetmig {

inline constexpr uint16_t kDefaultPort = 7117;
using Key = std::vector<uint8_t>;  // crypto_secretstream key, 32 bytes

// A key file holds 64 hex digits (hetmig keygen). It is refused, before
// it is read, when check_key_file refuses what fstat says of it.
Result<Key> load_key(const std::string &path);

// A key file's owner and mode as send and recv accept them: owned by
// EUID, who runs hetmig (root for a root companion), and nothing for
// group or others (0600; 0400 too), since whoever can read the key can
// send processes to every receiver that holds it and pose as one, and
// whoever owns it can change it. Otherwise an error naming the file,
// what is wrong and the command that fixes it.
Result<void> check_key_file(const std::string &path, mode_t mode, uid_t owner, uid_t euid);

Result<void> write_new_key(const std::string &path);

// Message types, the first byte of each decrypted message. A sender opens
// with kProgram (between ISAs) or kKernel (within one), and the receiver
// answers it, before the process is touched: what the receiver refuses
// there, it refuses with the source never stopped. `send --live` then asks
// kLive, and the receiver answers it (a receiver from before --live refuses
// it as a cut image), then sends its pre-copy rounds as kRound messages,
// each round the page records of an image alone (image.h,
// write_page_records). Then kImage... kImageEnd, kReady, kCommit, kDone.
// `send --lazy` asks kLazy instead of kLive, sends kLazyPlan before the
// image, and after kDone serves the process's pages (kPageAsk, kPages)
// until kLazyEnd... kLazyDone (postcopy_loop.h).
// A receiver still takes kImage first (a sender from before kKernel):
// rebuild() checks the vdso then, the image in hand.
enum class Msg : uint8_t {
	kProgram = 'P',	// sender: "PAIR_ID PATH", the hetmig-cc build a converted
			// image needs; receiver: "PATH" where it has it (or kError)
	kKernel = 'K',	// sender, same ISA: "DIGEST VDSO_SIZE VVAR_SIZE RELEASE",
			// its kernel's vdso (rebuild.h, KernelVdso); receiver: its
			// own "RELEASE" when a process can run on its vdso (or kError).
			// Not part of kProgram: any program moves within one ISA,
			// and a converted image brings no vdso to compare
	kLive = 'L',	// sender: "VERSION PAGE_SIZE TRACKING", pre-copy rounds follow;
			// receiver: "VERSION" when it takes them (or kError)
	kRound = 'V',	// a pre-copy round's bytes: page records, end record, trailer
	kLazy = 'Z',	// sender: "VERSION PAGE_SIZE", post-copy (send --lazy);
			// receiver: "VERSION" when it can take it (or kError)
	kLazyPlan = 'N',	// sender, before the image: what post-copy fills
			// (postcopy.h, encode_lazy_plans)
	kPageAsk = 'A',	// receiver, after kDone: u64, a page a fault waits for
	kPages = 'G',	// sender, after kDone: u64 address, then whole pages
	kLazyEnd = 'F',	// sender: every page of the plan was sent
	kLazyDone = 'Q',	// receiver: every page is in; the source may end
	kImage = 'I',	// image bytes
	kImageEnd = 'E',	// the image is complete
	kReady = 'R',	// receiver: rebuilt and stopped; payload "PID KEPT"
	kCommit = 'C',	// sender: the source is stopped for good, run it
	kDone = 'D',	// receiver: it runs; payload "PID"
	kError = 'X',	// either side: payload is the reason
};

// Fault injection for the tests (Documentation/testing.md): with
// HETMIG_FAULT_DIE_AFTER=WHERE in the environment, the process kills
// itself with SIGKILL when it reaches the point named WHERE ("ready").
void fault_point(const char *where);

class Channel {
public:
	// Connects to HOST[:PORT] and authenticates as the sender.
	static Result<Channel> connect(const std::string &dest, const Key &key,
				       int timeout_s);
	// Authenticates the sender on an accepted connection.
	static Result<Channel> accept(int fd, const Key &key, int timeout_s);

	Channel(Channel &&o) noexcept;
	Channel &operator=(Channel &&) = delete;
	~Channel();

	Result<void> send(Msg type, std::span<const uint8_t> payload);
	Result<void> send(Msg type, const std::string &text);
	// The next message; an EOF or a forged message is an error.
	Result<std::pair<Msg, std::vector<uint8_t>>> receive();
	void set_timeout(int seconds);
	// The socket, for poll(2) between messages: nothing of the next
	// message is read ahead into this object.
	int fd() const { return fd_; }
	// Tells the other side why this side gives up, then reads what it
	// still sends until it closes, so the reason is not lost to a reset.
	void refuse(const std::string &why);

	uint64_t bytes_sent() const { return sent_; }
	// The other machine's architecture (enum hetmig_arch), from its greeting.
	uint32_t peer_arch() const { return peer_arch_; }

private:
	explicit Channel(int fd) : fd_(fd) {}
	Result<void> handshake(const Key &key, bool sender);

	int fd_ = -1;
	crypto_secretstream_xchacha20poly1305_state tx_{}, rx_{};
	uint64_t sent_ = 0;
	uint32_t peer_arch_ = 0;
};

} // namespace hetmig
