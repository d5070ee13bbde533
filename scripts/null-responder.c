/* null-responder.c -- the do-nothing DNS server: the benchmark's practical ceiling.
 *
 * Receives a batch of datagrams with recvmmsg, turns each query into an answer by
 * rewriting the header (QR and AA set, the query's ID and RD kept, one answer) and
 * appending one fixed A record that points at the question name, and sends the batch
 * back with sendmmsg.  No lookup, no parsing past the header, no allocation: whatever
 * a real server does costs on top of this, so its queries/s is the most a
 * single-threaded server on one core can do with these syscalls on this machine.
 *
 * Usage: null-responder ADDR PORT        (runs until killed) */
#define _GNU_SOURCE
#include "bench-net.h"

#define BATCH 32
#define QUERY_MAX 512

/* NAME (pointer to offset 12, the question name), A, IN, TTL 5, RDLENGTH 4, 192.0.2.1 */
static const uint8_t answer_rr[] = {
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x04, 192, 0, 2, 1,
};

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s ADDR PORT\n", argv[0]);
		return 2;
	}
	int fd = bind_udp(argv[1], atoi(argv[2]));
	static uint8_t buffers[BATCH][QUERY_MAX + sizeof answer_rr];
	static struct sockaddr_storage peers[BATCH];
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec in_iov[BATCH], out_iov[BATCH];
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			in_iov[i] = (struct iovec){ buffers[i], QUERY_MAX };
			in[i].msg_hdr = (struct msghdr){ .msg_name = &peers[i], .msg_namelen = sizeof peers[i],
							 .msg_iov = &in_iov[i], .msg_iovlen = 1 };
		}
		int n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0)
			continue;
		int m = 0;
		for (int i = 0; i < n; i++) {
			uint8_t *p = buffers[i];
			size_t len = in[i].msg_len;
			if (len < 12 || (p[2] & 0x80))   /* too short, or a response: drop */
				continue;
			p[2] = (p[2] & 0x79) | 0x84;         /* QR, AA; keep opcode bits and RD */
			p[3] = 0;                            /* RA, Z, RCODE 0 */
			p[6] = 0, p[7] = 1;                  /* ANCOUNT 1 */
			p[8] = p[9] = p[10] = p[11] = 0;     /* no authority, no additional (drops EDNS) */
			/* The question ends at the first zero label after the header (+4 type/class). */
			size_t q = 12;
			while (q < len && p[q] != 0)
				q += (size_t)p[q] + 1;
			q += 5;
			if (q > len)
				continue;
			memcpy(p + q, answer_rr, sizeof answer_rr);
			out_iov[m] = (struct iovec){ p, q + sizeof answer_rr };
			out[m].msg_hdr = (struct msghdr){ .msg_name = &peers[i],
							  .msg_namelen = in[i].msg_hdr.msg_namelen,
							  .msg_iov = &out_iov[m], .msg_iovlen = 1 };
			m++;
		}
		for (int sent = 0; sent < m;) {
			int r = sendmmsg(fd, out + sent, m - sent, 0);
			if (r <= 0)
				break;
			sent += r;
		}
	}
}
