// SPDX-License-Identifier: GPL-2.0
// hetmig recv: receive processes from `hetmig send` and run them here.
// Only senders holding the pre-shared key are heard; what a rebuilt process
// may be (its user, whether root is allowed, where its output goes) is this
// side's policy, never the sender's.
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "cli.h"
#include "commands.h"
#include "rebuild.h"
#include "receiver.h"

namespace hetmig {

int parse_policy_option(int argc, char **argv, int &i, RestorePolicy &policy);

int cmd_recv(int argc, char **argv)
{
	const char *usage =
		"usage: hetmig recv [--listen ADDR[:PORT]] [--key FILE] [--once] "
		"[--timeout SECONDS]\n"
		"                   [--allow-root] [--user UID] [--group GID] [--no-pid]\n"
		"                   [--stdin FILE] [--output FILE] [--wait]\n";
	std::string listen_on = "0.0.0.0", key_path = "/etc/hetmig/key";
	uint16_t port = kDefaultPort;
	bool once = false, wait = false;
	int timeout_s = 120;
	RestorePolicy policy;
	policy.stdin_path = "/dev/null";
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (int taken = parse_policy_option(argc, argv, i, policy)) {
			if (taken < 0)
				return kExitUsage;
			continue;
		}
		if (a == "--listen" && i + 1 < argc) {
			listen_on = argv[++i];
			if (auto c = listen_on.rfind(':'); c != std::string::npos) {
				std::string p = listen_on.substr(c + 1);
				if (!set_option(port, "--listen's port", p.c_str(), 1, 65535))
					return kExitUsage;
				listen_on = listen_on.substr(0, c);
			}
		} else if (a == "--key" && i + 1 < argc) {
			key_path = argv[++i];
		} else if (a == "--once") {
			once = true;
		} else if (a == "--wait") {
			// With --once: stay until the received process ends and
			// exit with its status (128 + signal if killed).
			wait = once = true;
		} else if (a == "--timeout" && i + 1 < argc) {
			if (!set_option(timeout_s, "--timeout", argv[++i], 1, 86400))
				return kExitUsage;
		} else {
			return std::fputs(usage, stderr), kExitUsage;
		}
	}
	auto key = load_key(key_path);
	if (!key)
		return report(key.error());

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	if (inet_pton(AF_INET, listen_on.c_str(), &addr.sin_addr) != 1)
		return std::fputs(usage, stderr), kExitUsage;
	if (bind(ls, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) || listen(ls, 4))
		return report(Error{errno, "listening on " + listen_on + ":" +
					   std::to_string(port), {}, {}});
	signal(SIGPIPE, SIG_IGN);
	std::printf("hetmig: receiving on %s:%u\n", listen_on.c_str(), port);
	std::fflush(stdout);

	int status = kExitOk;
	do {
		while (waitpid(-1, nullptr, WNOHANG) > 0)
			;  // processes that ran here and exited
		sockaddr_in peer{};
		socklen_t plen = sizeof(peer);
		int fd = accept4(ls, reinterpret_cast<sockaddr *>(&peer), &plen, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		// --once takes one sender: stop listening now, so that the next
		// one is refused at once (and retries) instead of waiting in the
		// backlog of a socket that closes while we serve or --wait.
		if (once) {
			close(ls);
			ls = -1;
		}
		char who[INET_ADDRSTRLEN] = "?";
		inet_ntop(AF_INET, &peer.sin_addr, who, sizeof(who));
		auto pid = receive_process(fd, *key, policy, timeout_s);
		if (pid) {
			std::printf("hetmig: process from %s runs here as pid %d\n", who, *pid);
			std::fflush(stdout);
			status = kExitOk;
			int ws;
			if (wait && waitpid(*pid, &ws, 0) == *pid)
				status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		} else {
			std::fprintf(stderr, "hetmig: migration from %s failed: %s\n", who,
				     pid.error().describe().c_str());
			status = kExitFailure;
		}
		std::fflush(stdout);
	} while (!once);
	if (ls >= 0)
		close(ls);
	return status;
}

} // namespace hetmig
