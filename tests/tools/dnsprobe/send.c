/* send.c -- dnsprobe send: one hand-made datagram, and the rcode that came back. */
#include "dnsprobe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- send: one hand-made datagram, and what came back --------------------------------- */

/* Hex digits to bytes; spaces and colons between them are ignored. */
static long parse_hex(const char *text, uint8_t *out, size_t cap)
{
	size_t len = 0;
	int high = -1;
	for (const char *p = text; *p; p++) {
		int v;
		if (*p == ' ' || *p == ':')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			v = (*p | 0x20) - 'a' + 10;
		else
			return -1;
		if (high < 0) {
			high = v;
			continue;
		}
		if (len == cap)
			return -1;
		out[len++] = (uint8_t)(high << 4 | v);
		high = -1;
	}
	return high < 0 ? (long)len : -1;
}

/* Steps over a possibly compressed name; 0, or -1 when it runs past len. */
static int skip_name(const uint8_t *msg, size_t len, size_t *off)
{
	while (*off < len) {
		uint8_t label = msg[*off];
		if ((label & 0xc0) == 0xc0) {
			*off += 2;
			return *off <= len ? 0 : -1;
		}
		*off += label + 1u;
		if (label == 0)
			return *off <= len ? 0 : -1;
	}
	return -1;
}

/* What the additional section says: the OPT's DO flag and EDE code, the TSIG's error. */
static void describe_additional(const uint8_t *msg, size_t len, size_t off, unsigned count)
{
	int opt = 0, do_bit = 0, ede = -1, tsig_error = -1, mac_size = -1;
	for (unsigned i = 0; i < count; i++) {
		if (skip_name(msg, len, &off) < 0 || off + 10 > len)
			break;
		uint16_t type = get_u16(msg + off), rdlen = get_u16(msg + off + 8);
		size_t rdata = off + 10, end = rdata + rdlen;
		if (end > len)
			break;
		if (type == TYPE_OPT) {
			opt = 1;
			do_bit = (get_u16(msg + off + 6) & 0x8000) != 0;
			for (size_t o = rdata; o + 4 <= end; o += 4 + get_u16(msg + o + 2))
				if (get_u16(msg + o) == 15 && get_u16(msg + o + 2) >= 2 && o + 6 <= end)
					ede = get_u16(msg + o + 4);
		} else if (type == 250 && skip_name(msg, end, &rdata) == 0 && rdata + 10 <= end) {
			mac_size = get_u16(msg + rdata + 8);
			if (rdata + 16 + (size_t)mac_size <= end)
				tsig_error = get_u16(msg + rdata + 12 + mac_size);
		}
		off = end;
	}
	printf(" opt=%s do=%d", opt ? "yes" : "no", do_bit);
	if (ede >= 0)
		printf(" ede=%d", ede);
	if (tsig_error >= 0)
		printf(" tsig-error=%d mac-size=%d", tsig_error, mac_size);
}

/* One line: the flags set, the four counts, then describe_additional's fields. */
static void describe_reply(const uint8_t *msg, size_t len)
{
	static const struct { uint16_t bit; const char *name; } flags[] = {
		{ 0x8000, "qr" }, { 0x0400, "aa" }, { 0x0200, "tc" }, { 0x0100, "rd" },
		{ 0x0080, "ra" }, { 0x0020, "ad" }, { 0x0010, "cd" },
	};
	uint16_t f = get_u16(msg + 2), counts[4];
	printf("reply: flags=");
	const char *sep = "";
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (f & flags[i].bit) {
			printf("%s%s", sep, flags[i].name);
			sep = ",";
		}
	for (int i = 0; i < 4; i++)
		counts[i] = get_u16(msg + 4 + 2 * i);
	printf(" qd=%u an=%u ns=%u ar=%u", counts[0], counts[1], counts[2], counts[3]);
	size_t off = DNS_HEADER_SIZE;
	int ok = 1;
	for (unsigned i = 0; i < counts[0] && ok; i++)
		ok = skip_name(msg, len, &off) == 0 && (off += 4) <= len;
	for (unsigned i = 0; i < (unsigned)counts[1] + counts[2] && ok; i++)
		ok = skip_name(msg, len, &off) == 0 && off + 10 <= len &&
		     (off += 10 + get_u16(msg + off + 8)) <= len;
	if (ok)
		describe_additional(msg, len, off, counts[3]);
	printf("\n");
}

int cmd_send(const struct options *o)
{
	uint8_t packet[4096], reply[DNS_MESSAGE_MAX];
	long len = parse_hex(o->hex, packet, sizeof packet);
	if (len < 0) {
		fprintf(stderr, "dnsprobe: send: --hex: not an even number of hex digits\n");
		return EXIT_USAGE;
	}
	int fd = udp_open(o);
	if (fd < 0 || send(fd, packet, (size_t)len, 0) < 0) {
		printf("send: FAIL: cannot send: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	double deadline = now_seconds() + o->timeout;
	struct pollfd p = { fd, POLLIN, 0 };
	int ready;
	while ((ready = poll(&p, 1, ms_until(deadline))) < 0 && errno == EINTR)
		;
	ssize_t n = ready > 0 ? recv(fd, reply, sizeof reply, MSG_DONTWAIT) : -1;
	int recv_errno = errno;
	close(fd);
	if (ready == 0) {
		printf("send: no answer\n");
		return EXIT_PASS;
	}
	if (n < 0) {
		/* ECONNREFUSED: nothing listens on the port, which is not "no answer". */
		printf("send: FAIL: %s\n", strerror(recv_errno));
		return EXIT_FAIL;
	}
	if (n < DNS_HEADER_SIZE) {
		printf("send: FAIL: a %zd-byte reply\n", n);
		return EXIT_FAIL;
	}
	if (len >= 2 && get_u16(reply) != get_u16(packet)) {
		printf("send: FAIL: reply id %u, sent %u\n", get_u16(reply), get_u16(packet));
		return EXIT_FAIL;
	}
	if (!(get_u16(reply + 2) & FLAG_QR)) {
		printf("send: FAIL: reply without the QR bit\n");
		return EXIT_FAIL;
	}
	printf("send: rcode %s\n", rcode_name(reply[3] & 0xf));
	if (o->describe)
		describe_reply(reply, (size_t)n);
	return EXIT_PASS;
}
