// SPDX-License-Identifier: GPL-2.0
#include "channel.h"
#include "image.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hetmig {

namespace {

constexpr char kGreeting[8] = {'H', 'E', 'T', 'M', 'I', 'G', 'W', '1'};
constexpr uint32_t kWireVersion = 1;
constexpr size_t kNonce = 32;
constexpr uint32_t kMaxMessage = 4 << 20;
using Stream = crypto_secretstream_xchacha20poly1305_state;
constexpr size_t kHeader = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kAbytes = crypto_secretstream_xchacha20poly1305_ABYTES;

Result<void> write_all(int fd, const void *p, size_t n)
{
	auto *b = static_cast<const uint8_t *>(p);
	while (n) {
		ssize_t w = ::send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fail(w < 0 ? errno : EPIPE, "connection lost while sending");
		b += w;
		n -= size_t(w);
	}
	return {};
}

Result<void> read_all(int fd, void *p, size_t n)
{
	auto *b = static_cast<uint8_t *>(p);
	while (n) {
		ssize_t r = ::recv(fd, b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return fail(ETIMEDOUT, "the other side stopped answering");
		if (r <= 0)
			return fail(r < 0 ? errno : ECONNRESET, "connection closed by the other side");
		b += r;
		n -= size_t(r);
	}
	return {};
}

// A direction's key: BLAKE2b keyed with the pre-shared key over both nonces.
void derive(uint8_t out[32], const Key &psk, char dir, const uint8_t *nr, const uint8_t *ns)
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, psk.data(), psk.size(), 32);
	crypto_generichash_update(&h, reinterpret_cast<const uint8_t *>(&dir), 1);
	crypto_generichash_update(&h, nr, kNonce);
	crypto_generichash_update(&h, ns, kNonce);
	crypto_generichash_final(&h, out, 32);
}

struct [[gnu::packed]] Greeting {
	char magic[8];
	uint32_t version;
	uint32_t arch;		// enum hetmig_arch of the machine
	uint8_t nonce[kNonce];
};

} // namespace

void fault_point(const char *where)
{
	const char *env = getenv("HETMIG_FAULT_DIE_AFTER");
	if (env && !std::strcmp(env, where))
		kill(getpid(), SIGKILL);
}

Result<void> check_key_file(const std::string &path, mode_t mode, uid_t owner, uid_t euid)
{
	auto who = [](uid_t uid) { return uid == 0 ? std::string("root") : strf("uid %u", uid); };
	// No errno: opening it went fine, it is how the file is kept that is
	// wrong (exit status 1, and no "(strerror)" after the advice).
	if (owner != euid) {
		std::string fix = euid == 0 ? "chown root " + path
					    : "make a key of your own with 'hetmig keygen FILE'";
		return fail(0, "key " + path + " is owned by " + who(owner) + ": it must be owned by " +
			       who(euid) + ", who runs hetmig (" + fix + ")");
	}
	if (mode & 077)
		return fail(0, "key " + path + " is mode " + strf("%04o", unsigned(mode & 07777)) +
			       ": it must be 0600 (chmod 600 " + path + ")");
	return {};
}

Result<Key> load_key(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "key file " + path);
	// The opened file itself, so that what is checked is what is read.
	struct stat st;
	if (fstat(fd, &st)) {
		int err = errno;
		close(fd);
		return fail(err, "key file " + path);
	}
	if (auto ok = check_key_file(path, st.st_mode, st.st_uid, geteuid()); !ok) {
		close(fd);
		return std::unexpected(ok.error());
	}
	char hex[129] = {};
	ssize_t n = read(fd, hex, sizeof(hex) - 1);
	close(fd);
	Key key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
	size_t len = 0;
	if (n < 64 || sodium_hex2bin(key.data(), key.size(), hex, size_t(n), " \n", &len,
				     nullptr) || len != key.size())
		return fail(EINVAL, "key file " + path + ": expected 64 hex digits "
				    "(make one with 'hetmig keygen FILE')");
	return key;
}

Result<void> write_new_key(const std::string &path)
{
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	crypto_secretstream_xchacha20poly1305_keygen(key);
	char hex[sizeof(key) * 2 + 1];
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(errno, "creating key file " + path);
	std::string text = std::string(hex) + "\n";
	bool ok = write(fd, text.data(), text.size()) == ssize_t(text.size());
	close(fd);
	sodium_memzero(key, sizeof(key));
	return ok ? Result<void>{} : fail(EIO, "writing " + path);
}

Channel::Channel(Channel &&o) noexcept
	: fd_(o.fd_), tx_(o.tx_), rx_(o.rx_), sent_(o.sent_), peer_arch_(o.peer_arch_)
{
	o.fd_ = -1;
}

Channel::~Channel()
{
	if (fd_ >= 0)
		close(fd_);
	sodium_memzero(&tx_, sizeof(tx_));
	sodium_memzero(&rx_, sizeof(rx_));
}

void Channel::set_timeout(int seconds)
{
	timeval tv{seconds, 0};
	setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// The receiver greets first with its nonce; the sender answers with its
// own and its stream header; the receiver sends its stream header. Then
// each side must decrypt the other's first message ("hello").
Result<void> Channel::handshake(const Key &key, bool sender)
{
	if (sodium_init() < 0)
		return fail(EIO, "libsodium failed to initialise");
	Greeting mine{}, theirs{};
	std::memcpy(mine.magic, kGreeting, sizeof(kGreeting));
	mine.version = kWireVersion;
	mine.arch = this_arch();
	randombytes_buf(mine.nonce, kNonce);
	if (sender) {
		if (auto r = read_all(fd_, &theirs, sizeof(theirs)); !r)
			return r;
		if (auto r = write_all(fd_, &mine, sizeof(mine)); !r)
			return r;
	} else {
		if (auto r = write_all(fd_, &mine, sizeof(mine)); !r)
			return r;
		if (auto r = read_all(fd_, &theirs, sizeof(theirs)); !r)
			return r;
	}
	if (std::memcmp(theirs.magic, kGreeting, sizeof(kGreeting)))
		return fail(EPROTO, "the other side is not hetmig");
	if (theirs.version != kWireVersion)
		return fail(EPROTO, "the other side speaks wire version " +
				    std::to_string(theirs.version) + ", this one 1");
	peer_arch_ = theirs.arch;
	const uint8_t *nr = sender ? theirs.nonce : mine.nonce;
	const uint8_t *ns = sender ? mine.nonce : theirs.nonce;
	uint8_t k_s2r[32], k_r2s[32];
	derive(k_s2r, key, 's', nr, ns);
	derive(k_r2s, key, 'r', nr, ns);

	uint8_t my_header[kHeader], their_header[kHeader];
	crypto_secretstream_xchacha20poly1305_init_push(&tx_, my_header,
							sender ? k_s2r : k_r2s);
	if (auto r = write_all(fd_, my_header, kHeader); !r)
		return r;
	if (auto r = read_all(fd_, their_header, kHeader); !r)
		return r;
	int bad = crypto_secretstream_xchacha20poly1305_init_pull(&rx_, their_header,
								   sender ? k_r2s : k_s2r);
	sodium_memzero(k_s2r, sizeof(k_s2r));
	sodium_memzero(k_r2s, sizeof(k_r2s));
	if (bad)
		return fail(EPROTO, "bad stream header");
	static const std::string hello = "hello";
	if (auto r = send(Msg::kReady, hello); !r)
		return r;
	auto got = receive();
	if (!got)
		return fail(EACCES, got.error().code == EBADMSG
				     ? "authentication failed: the other side has a different key"
				     : got.error().describe());
	return {};
}

Result<Channel> Channel::connect(const std::string &dest, const Key &key, int timeout_s)
{
	std::string host = dest, port = std::to_string(kDefaultPort);
	if (auto colon = dest.rfind(':'); colon != std::string::npos &&
	    dest.find(':') == colon) {
		host = dest.substr(0, colon);
		port = dest.substr(colon + 1);
	}
	addrinfo hints{}, *res = nullptr;
	hints.ai_socktype = SOCK_STREAM;
	if (int e = getaddrinfo(host.c_str(), port.c_str(), &hints, &res))
		return fail(EHOSTUNREACH, "cannot resolve " + dest + ": " + gai_strerror(e));
	int err = ECONNREFUSED, fd = -1;
	for (addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && ::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, "cannot connect to " + dest);
	Channel ch(fd);
	ch.set_timeout(timeout_s);
	if (auto r = ch.handshake(key, true); !r)
		return std::unexpected(r.error());
	return ch;
}

Result<Channel> Channel::accept(int fd, const Key &key, int timeout_s)
{
	Channel ch(fd);
	ch.set_timeout(timeout_s);
	if (auto r = ch.handshake(key, false); !r)
		return std::unexpected(r.error());
	return ch;
}

// Fault injection for the tests (Documentation/testing.md): with
// HETMIG_FAULT_FLIP_BYTE=N in the environment, the Nth byte of ciphertext
// this process sends is flipped on the wire.
static void maybe_flip(std::vector<uint8_t> &cipher, uint64_t sent_before)
{
	static const char *env = getenv("HETMIG_FAULT_FLIP_BYTE");
	if (!env)
		return;
	uint64_t at = std::strtoull(env, nullptr, 10);
	if (at >= sent_before && at < sent_before + cipher.size())
		cipher[at - sent_before] ^= 0x20;
}

// HETMIG_FAULT_DROP_AT=N: the connection is cut (both directions shut
// down) before this process has sent N bytes.
static Result<void> maybe_drop(int fd, uint64_t sent_after)
{
	static const char *env = getenv("HETMIG_FAULT_DROP_AT");
	if (!env || sent_after < std::strtoull(env, nullptr, 10))
		return {};
	shutdown(fd, SHUT_RDWR);
	return fail(ECONNABORTED, "connection dropped (HETMIG_FAULT_DROP_AT)");
}

Result<void> Channel::send(Msg type, std::span<const uint8_t> payload)
{
	std::vector<uint8_t> plain(1 + payload.size());
	plain[0] = uint8_t(type);
	std::memcpy(plain.data() + 1, payload.data(), payload.size());
	std::vector<uint8_t> cipher(plain.size() + kAbytes);
	unsigned long long clen;
	crypto_secretstream_xchacha20poly1305_push(&tx_, cipher.data(), &clen, plain.data(),
						   plain.size(), nullptr, 0, 0);
	uint32_t len = uint32_t(clen);
	if (auto r = maybe_drop(fd_, sent_ + clen + sizeof(len)); !r)
		return r;
	if (auto r = write_all(fd_, &len, sizeof(len)); !r)
		return r;
	maybe_flip(cipher, sent_);
	sent_ += clen + sizeof(len);
	return write_all(fd_, cipher.data(), clen);
}

void Channel::refuse(const std::string &why)
{
	(void)send(Msg::kError, why);
	shutdown(fd_, SHUT_WR);
	set_timeout(10);
	char sink[65536];
	while (::recv(fd_, sink, sizeof(sink), 0) > 0)
		;
}

Result<void> Channel::send(Msg type, const std::string &text)
{
	return send(type, {reinterpret_cast<const uint8_t *>(text.data()), text.size()});
}

Result<std::pair<Msg, std::vector<uint8_t>>> Channel::receive()
{
	uint32_t len;
	if (auto r = read_all(fd_, &len, sizeof(len)); !r)
		return std::unexpected(r.error());
	if (len <= kAbytes || len > kMaxMessage)
		return fail(EBADMSG, "malformed message on the wire");
	std::vector<uint8_t> cipher(len), plain(len - kAbytes);
	if (auto r = read_all(fd_, cipher.data(), len); !r)
		return std::unexpected(r.error());
	unsigned long long plen;
	unsigned char tag;
	if (crypto_secretstream_xchacha20poly1305_pull(&rx_, plain.data(), &plen, &tag,
						       cipher.data(), len, nullptr, 0))
		return fail(EBADMSG, "a message failed authentication (corrupted or forged)");
	Msg type = Msg(plain[0]);
	return std::pair{type, std::vector<uint8_t>(plain.begin() + 1, plain.begin() + long(plen))};
}

} // namespace hetmig
