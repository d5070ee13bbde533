/* transport.c -- sockets, timeouts and the framing of replies into lines (see transport.h).
 *
 * Every socket is non-blocking and every wait is a poll() against a deadline, so no call
 * here blocks longer than the timeout it was given, and a signal (EINTR) only shortens
 * nothing: the wait goes on until the same deadline. */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "svcdns/client.h"
#include "transport.h"

static void set_error(struct transport *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct transport *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->error, sizeof t->error, fmt, ap);
	va_end(ap);
}

int64_t monotonic_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Waits until fd has one of events or deadline_ms passes, waiting on through EINTR.
 * Returns 1 when ready, 0 on timeout, -1 when poll fails. */
int wait_ready(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - monotonic_ms();
		if (left < 0)
			left = 0;
		if (left > INT_MAX)
			left = INT_MAX;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Accepts 1-65535 written in decimal digits only (no sign, no spaces). */
static int parse_port(const char *text, char out[6])
{
	size_t len = strlen(text);
	if (len == 0 || len > 5 || strspn(text, "0123456789") != len)
		return -1;
	unsigned long value = strtoul(text, NULL, 10);
	if (value < 1 || value > 65535)
		return -1;
	snprintf(out, 6, "%lu", value);
	return 0;
}

int transport_init(struct transport *t, const char *server, int tcp)
{
	const char *host = server;
	const char *port_text = NULL;
	size_t host_len = 0;

	memset(t, 0, sizeof *t);
	t->fd = -1;
	t->tcp = tcp != 0;
	if (server == NULL)
		goto invalid;
	if (server[0] == '[') {
		const char *close_bracket = strchr(server, ']');
		if (close_bracket == NULL)
			goto invalid;
		host = server + 1;
		host_len = (size_t)(close_bracket - host);
		if (close_bracket[1] == ':')
			port_text = close_bracket + 2;
		else if (close_bracket[1] != '\0')
			goto invalid;
	} else {
		const char *colon = strchr(server, ':');
		/* One colon separates the port; more than one is a bare IPv6 address. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			host_len = (size_t)(colon - server);
			port_text = colon + 1;
		} else {
			host_len = strlen(server);
		}
	}
	if (host_len == 0 || host_len >= sizeof t->host)
		goto invalid;
	memcpy(t->host, host, host_len);
	t->host[host_len] = '\0';
	if (port_text != NULL) {
		if (parse_port(port_text, t->port) < 0)
			goto invalid;
	} else {
		snprintf(t->port, sizeof t->port, "%d", SVCDNS_DEFAULT_PORT);
	}
	/* The server as people write it, for messages: "127.0.0.1:8053" or "[::1]:8053". */
	if (strchr(t->host, ':') != NULL)
		snprintf(t->label, sizeof t->label, "[%s]:%s", t->host, t->port);
	else
		snprintf(t->label, sizeof t->label, "%s:%s", t->host, t->port);
	t->buffer = malloc(TRANSPORT_BUFFER_SIZE + 1);
	if (t->buffer == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;

invalid:
	errno = EINVAL;
	return -1;
}

void transport_disconnect(struct transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->requests_on_connection = 0;
	t->buffer_len = 0;
	t->buffer_pos = 0;
	t->have_datagram = 0;
}

void transport_free(struct transport *t)
{
	transport_disconnect(t);
	free(t->buffer);
	t->buffer = NULL;
}

/* Connects fd to addr within timeout_ms (a UDP connect only sets the peer). */
static int connect_within(struct transport *t, int fd, const struct addrinfo *addr, unsigned timeout_ms)
{
	int so_error = 0;
	socklen_t so_error_len = sizeof so_error;

	if (connect(fd, addr->ai_addr, addr->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR) {
		set_error(t, "cannot connect to %s: %s", t->label, strerror(errno));
		return -1;
	}
	int ready = wait_ready(fd, POLLOUT, monotonic_ms() + timeout_ms);
	if (ready == 0) {
		set_error(t, "cannot connect to %s: no answer within %u ms", t->label, timeout_ms);
		return -1;
	}
	if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_error_len) < 0) {
		set_error(t, "cannot connect to %s: %s", t->label, strerror(errno));
		return -1;
	}
	if (so_error != 0) {
		set_error(t, "cannot connect to %s: %s", t->label, strerror(so_error));
		return -1;
	}
	return 0;
}

/* Resolves the server (again: a container's address may change between requests) and
 * connects a socket to the first of its addresses that takes it. */
static int open_socket(struct transport *t, unsigned timeout_ms)
{
	struct addrinfo hints = { 0 };
	struct addrinfo *addrs = NULL;
	int fd = -1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = t->tcp ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	int gai = getaddrinfo(t->host, t->port, &hints, &addrs);
	if (gai != 0) {
		set_error(t, "cannot resolve %s: %s", t->host,
			  gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		goto out;
	}
	for (const struct addrinfo *a = addrs; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			set_error(t, "cannot create a socket: %s", strerror(errno));
			continue;
		}
		if (connect_within(t, fd, a, timeout_ms) == 0)
			break;
		close(fd);
		fd = -1;
	}
out:
	if (addrs != NULL)
		freeaddrinfo(addrs);
	t->fd = fd;
	return fd >= 0 ? 0 : -1;
}

/* True when an idle TCP connection has anything to read: the server closed it (idle
 * timeout, restart) or sent bytes nobody asked for. Either way it is no use any more. */
static int idle_connection_is_spent(struct transport *t)
{
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	if (t->buffer_pos < t->buffer_len)
		return 1;
	int n = poll(&p, 1, 0);
	return n != 0;
}

int transport_begin(struct transport *t, unsigned timeout_ms)
{
	t->peer_closed = 0;
	t->error[0] = '\0';
	if (!t->tcp || (t->fd >= 0 && idle_connection_is_spent(t)))
		transport_disconnect(t);
	if (t->fd >= 0) {
		t->buffer_len = 0;
		t->buffer_pos = 0;
		return 0;
	}
	return open_socket(t, timeout_ms);
}

int transport_send(struct transport *t, const char *data, size_t len, unsigned timeout_ms)
{
	int64_t deadline = monotonic_ms() + timeout_ms;
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = send(t->fd, data + sent, len - sent, MSG_NOSIGNAL);
		if (n >= 0) {
			sent += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int ready = wait_ready(t->fd, POLLOUT, deadline);
			if (ready > 0)
				continue;
			set_error(t, "cannot send to %s: %s", t->label, ready == 0 ? "timed out" : strerror(errno));
			return -1;
		}
		if (errno == EPIPE || errno == ECONNRESET || errno == ECONNREFUSED)
			t->peer_closed = 1;
		set_error(t, "cannot send to %s: %s", t->label, strerror(errno));
		return -1;
	}
	if (t->tcp)
		t->requests_on_connection++;
	return 0;
}

/* Reads more reply bytes: the next datagram (UDP) or whatever has arrived (TCP).
 * Returns 1 when bytes were added, 0 when the deadline passed, -1 on failure. */
static int receive_more(struct transport *t, int64_t deadline_ms)
{
	if (t->tcp && t->buffer_pos > 0) {
		memmove(t->buffer, t->buffer + t->buffer_pos, t->buffer_len - t->buffer_pos);
		t->buffer_len -= t->buffer_pos;
		t->buffer_pos = 0;
	}
	if (t->buffer_len >= TRANSPORT_BUFFER_SIZE) {
		set_error(t, "reply line from %s is longer than %d bytes", t->label, TRANSPORT_BUFFER_SIZE);
		return -1;
	}
	for (;;) {
		ssize_t n = recv(t->fd, t->buffer + t->buffer_len, TRANSPORT_BUFFER_SIZE - t->buffer_len, 0);
		if (n > 0 || (n == 0 && !t->tcp)) {
			t->buffer_len += (size_t)n;
			t->have_datagram = !t->tcp;
			return 1;
		}
		if (n == 0) {
			t->peer_closed = 1;
			set_error(t, "%s closed the connection", t->label);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int ready = wait_ready(t->fd, POLLIN, deadline_ms);
			if (ready > 0)
				continue;
			if (ready == 0)
				return 0;
			set_error(t, "cannot receive from %s: %s", t->label, strerror(errno));
			return -1;
		}
		/* On a connected UDP socket, ECONNREFUSED is the ICMP port-unreachable answer:
		 * nothing listens there, and asking again will not change that. */
		if (errno == ECONNREFUSED || errno == ECONNRESET)
			t->peer_closed = 1;
		set_error(t, "cannot receive from %s: %s", t->label, strerror(errno));
		return -1;
	}
}

/* Cuts the line at start..end (end at the LF or the end of data) and drops a CR before it. */
static char *finish_line(char *start, char *end)
{
	*end = '\0';
	if (end > start && end[-1] == '\r')
		end[-1] = '\0';
	return start;
}

int transport_next_line(struct transport *t, unsigned timeout_ms, char **line)
{
	int64_t deadline = monotonic_ms() + timeout_ms;

	for (;;) {
		char *start = t->buffer + t->buffer_pos;
		size_t available = t->buffer_len - t->buffer_pos;
		char *newline = memchr(start, '\n', available);
		if (newline != NULL) {
			t->buffer_pos += (size_t)(newline - start) + 1;
			*line = finish_line(start, newline);
			return 1;
		}
		if (t->have_datagram) {
			/* The last line of a datagram may come without its LF. */
			if (available > 0) {
				t->buffer_pos = t->buffer_len;
				*line = finish_line(start, start + available);
				return 1;
			}
			set_error(t, "the reply from %s ended before its OK or ERR line", t->label);
			return -1;
		}
		int received = receive_more(t, deadline);
		if (received == 0)
			set_error(t, "no reply from %s within %u ms", t->label, timeout_ms);
		if (received <= 0)
			return received;
	}
}
