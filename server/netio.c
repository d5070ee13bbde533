/* netio.c -- sockets shared by every listener: opening a bound socket, sending a batch. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netio.h"

int listen_socket_open(const struct listen_addr *addr, int type, const char *what)
{
	const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
	const char *flag = strcmp(what, "dns") == 0 ? "--dns" : strcmp(what, "http") == 0 ? "--http" : "--register";
	int fd = socket(addr->sa.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("%s: cannot open %s socket for %s: %s", what, proto, addr->text, strerror(errno));
		return -1;
	}
	int on = 1;
	/* TCP needs it to rebind past TIME_WAIT; on UDP it would let two servers share a port. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (addr->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(fd, (const struct sockaddr *)&addr->sa, addr->sa_len) < 0) {
		int err = errno;
		const char *hint = "";
		if (err == EACCES)
			hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE: grant it, "
			       "or listen on a higher port, e.g. %s 127.0.0.1:5353)";
		else if (err == EADDRINUSE)
			hint = " (another server holds it: stop it, or pick another with %s ADDR:PORT)";
		else if (err == EADDRNOTAVAIL)
			hint = " (no interface has this address: check it, or use %s 0.0.0.0:PORT)";
		char hint_text[160];
		snprintf(hint_text, sizeof hint_text, hint, flag);
		log_error("%s: cannot bind %s %s: %s%s", what, proto, addr->text, strerror(err), hint_text);
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

unsigned udp_send_batch(int fd, struct mmsghdr *msgs, unsigned count, const char *what)
{
	unsigned sent = 0, dropped = 0;
	int err = 0;
	while (sent < count) {
		int k = sendmmsg(fd, msgs + sent, count - sent, 0);
		if (k > 0) {
			sent += (unsigned)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		err = k < 0 ? errno : EAGAIN;
		unsigned lost = err == EAGAIN || err == EWOULDBLOCK ? count - sent : 1;
		sent += lost;
		dropped += lost;
	}
	if (dropped)
		log_debug("%s: sendmmsg: %s: %u replies dropped", what, strerror(err), dropped);
	return dropped;
}

void netio_format_peer(const struct sockaddr *sa, char *out, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	uint8_t ip[16];
	int family = sockaddr_ip(sa, ip);
	if (family)
		inet_ntop(family, ip, addr, sizeof addr);
	unsigned port = sa->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port) :
			ntohs(((const struct sockaddr_in *)sa)->sin_port);
	snprintf(out, size, "%s#%u", addr, port);
}
