/* udpflood.c -- a spoofed-source UDP DNS flood on loopback, for t_rrl_flood.sh.
 *
 * Usage: udpflood DST-PORT FIRST COUNT PPS QNAME
 *
 * Sends COUNT A queries for QNAME to 127.0.0.1:DST-PORT, query i (FIRST <= i <
 * FIRST+COUNT) from the source address 127.(1 + i/65536).(i/256 % 256).(i % 256), so
 * every query comes from a distinct address outside 127.0.0.0/16 (which stays for
 * well-behaved clients), at about PPS packets per second (0: as fast as possible).
 * Every 127.x.y.z is local, so the kernel delivers these; the replies go to ports no
 * one listens on.  A raw socket with IP_HDRINCL writes the IP header itself; needs
 * root (CAP_NET_RAW).  Prints "sent N in MS ms" at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s DST-PORT FIRST COUNT PPS QNAME\n", argv[0]);
		return 2;
	}
	unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
	unsigned long first = strtoul(argv[2], NULL, 10), count = strtoul(argv[3], NULL, 10);
	double pps = strtod(argv[4], NULL);
	const char *qname = argv[5];
	if (first + count > 250UL * 65536) {
		fprintf(stderr, "udpflood: at most %lu sources\n", 250UL * 65536);
		return 2;
	}

	/* DNS query: header + QNAME + A/IN */
	uint8_t dns[300];
	size_t dlen = 12;
	memset(dns, 0, 12);
	dns[5] = 1; /* QDCOUNT */
	const char *p = qname;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > 63 || dlen + n + 6 > sizeof dns) {
			fprintf(stderr, "udpflood: bad name\n");
			return 2;
		}
		dns[dlen++] = (uint8_t)n;
		memcpy(dns + dlen, p, n);
		dlen += n;
		p += n;
		if (*p == '.')
			p++;
	}
	dns[dlen++] = 0;
	dns[dlen++] = 0; dns[dlen++] = 1;
	dns[dlen++] = 0; dns[dlen++] = 1;

	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("udpflood: socket(SOCK_RAW)");
		return 1;
	}
	int one = 1, sndbuf = 4 << 20;
	setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

	size_t plen = sizeof(struct iphdr) + sizeof(struct udphdr) + dlen;
	static uint8_t pkts[BATCH][sizeof(struct iphdr) + sizeof(struct udphdr) + 300];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	unsigned long sent = 0;
	int64_t start = now_ns();
	while (sent < count) {
		unsigned n = count - sent < BATCH ? (unsigned)(count - sent) : BATCH;
		for (unsigned k = 0; k < n; k++) {
			unsigned long i = first + sent + k;
			uint8_t *pk = pkts[k];
			struct iphdr *ip = (struct iphdr *)pk;
			struct udphdr *udp = (struct udphdr *)(pk + sizeof *ip);
			memset(pk, 0, sizeof *ip + sizeof *udp);
			ip->version = 4;
			ip->ihl = 5;
			ip->ttl = 64;
			ip->protocol = IPPROTO_UDP;
			ip->tot_len = htons((uint16_t)plen);
			ip->saddr = htonl((127u << 24) | ((uint32_t)(1 + (i >> 16)) << 16) | (uint32_t)(i & 0xffff));
			ip->daddr = dst.sin_addr.s_addr;
			udp->source = htons((uint16_t)(1024 + i % 60000));
			udp->dest = htons((uint16_t)port);
			udp->len = htons((uint16_t)(sizeof *udp + dlen));
			udp->check = 0; /* optional over IPv4 */
			memcpy(pk + sizeof *ip + sizeof *udp, dns, dlen);
			pk[sizeof *ip + sizeof *udp] = (uint8_t)(i >> 8);   /* query ID */
			pk[sizeof *ip + sizeof *udp + 1] = (uint8_t)i;
			iov[k].iov_base = pk;
			iov[k].iov_len = plen;
			memset(&msgs[k], 0, sizeof msgs[k]);
			msgs[k].msg_hdr.msg_name = &dst;
			msgs[k].msg_hdr.msg_namelen = sizeof dst;
			msgs[k].msg_hdr.msg_iov = &iov[k];
			msgs[k].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(fd, msgs, n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
				usleep(100);
				continue;
			}
			perror("udpflood: sendmmsg");
			return 1;
		}
		sent += (unsigned long)r;
		if (pps > 0) {
			int64_t due = start + (int64_t)((double)sent * 1e9 / pps);
			int64_t wait = due - now_ns();
			if (wait > 0) {
				struct timespec ts = { wait / 1000000000, wait % 1000000000 };
				nanosleep(&ts, NULL);
			}
		}
	}
	printf("sent %lu in %lld ms\n", sent, (long long)((now_ns() - start) / 1000000));
	return 0;
}
