/* transport.h -- the wire under the client: the server's address, a UDP or TCP socket
 * with timeouts, and the framing of reply bytes into lines.
 *
 * UDP uses a fresh socket, connect()ed to the server, for every request: the kernel then
 * delivers only datagrams from the server's address and port, and a late reply to an
 * earlier request lands on a closed socket instead of being taken for the next reply.
 * TCP keeps one connection across requests and reconnects when the server closed it. */
#ifndef SVCDNS_CLIENT_TRANSPORT_H
#define SVCDNS_CLIENT_TRANSPORT_H

#include <stddef.h>

#define TRANSPORT_ERROR_MAX 256
#define TRANSPORT_HOST_MAX 256
#define TRANSPORT_BUFFER_SIZE 65536   /* holds the largest UDP datagram (65,507 bytes) */

struct transport {
	char host[TRANSPORT_HOST_MAX];  /* name or address, IPv6 without brackets */
	char port[6];                   /* decimal, 1-65535 */
	char label[TRANSPORT_HOST_MAX + 8]; /* "host:port" or "[v6]:port", for messages */
	int tcp;                        /* 1: one TCP connection kept across requests; 0: UDP */
	int fd;                         /* the socket, -1 when there is none */
	int requests_on_connection;     /* TCP: requests the current connection has carried */
	int peer_closed;                /* the last failure was the server closing or resetting */
	char *buffer;                   /* received bytes, TRANSPORT_BUFFER_SIZE + 1 for a final NUL */
	size_t buffer_len;              /* bytes held in buffer */
	size_t buffer_pos;              /* first byte not yet handed out as a line */
	int have_datagram;              /* UDP: buffer holds the whole reply datagram */
	char error[TRANSPORT_ERROR_MAX]; /* what went wrong, for svcdns_last_error() */
};

/* Parses "HOST:PORT", "[V6]:PORT", "HOST" or a bare IPv6 address (port 8053) and allocates
 * the buffer; nothing is resolved yet. Returns 0, or -1 (errno EINVAL or ENOMEM). */
int transport_init(struct transport *t, const char *server, int tcp);
/* Closes the socket and frees the buffer. */
void transport_free(struct transport *t);
/* Closes the socket; the next transport_begin() resolves the name again and reconnects. */
void transport_disconnect(struct transport *t);
/* Readies the socket for one request: a new UDP socket, or the TCP connection (connecting
 * within timeout_ms when there is none or the server closed it). Returns 0 or -1. */
int transport_begin(struct transport *t, unsigned timeout_ms);
/* Sends all len bytes within timeout_ms. Returns 0 or -1. */
int transport_send(struct transport *t, const char *data, size_t len, unsigned timeout_ms);
/* Hands out the next reply line (NUL-terminated, without CR/LF, valid until the next call),
 * waiting up to timeout_ms for more bytes. Returns 1 with *line set, 0 on timeout, or -1
 * (the server closed or refused, a read failed, or a datagram ended without the line). */
int transport_next_line(struct transport *t, unsigned timeout_ms, char **line);

/* Waits until fd has one of events or deadline_ms (monotonic) passes, through EINTR.
 * Returns 1 when ready, 0 on timeout, -1 when poll fails. */
int wait_ready(int fd, short events, int64_t deadline_ms);
/* Milliseconds on the monotonic clock. */
int64_t monotonic_ms(void);

#endif
