/* query_log.c -- log-queries: one line per DNS query, written around the front. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include "clock.h"
#include "log.h"
#include "query_log.h"

static const char *type_text(uint16_t type, char buf[16])
{
	static const struct { uint16_t type; const char *name; } names[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" }, { 15, "MX" },
		{ 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" }, { 35, "NAPTR" }, { 43, "DS" },
		{ 48, "DNSKEY" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 251, "IXFR" }, { 252, "AXFR" },
		{ 255, "ANY" }, { 257, "CAA" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, 16, "TYPE%u", (unsigned)type);
	return buf;
}

static const char *rcode_text(unsigned rcode, char buf[16])
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };
	if (rcode < sizeof names / sizeof names[0])
		return names[rcode];
	snprintf(buf, 16, "RCODE%u", rcode);
	return buf;
}

/* "ADDR:PORT", IPv6 as "[ADDR]:PORT". */
static void peer_text(const struct sockaddr *peer, char *out, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)peer;
		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
		port = ntohs(in->sin_port);
		snprintf(out, size, "%s:%u", addr, port);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)peer;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
		port = ntohs(in6->sin6_port);
		snprintf(out, size, "[%s]:%u", addr, port);
	} else {
		snprintf(out, size, "?");
	}
}

enum front_verdict query_log_front(struct dns_front *f, const struct sockaddr *peer,
				   enum dns_transport transport, const uint8_t *packet,
				   size_t len, uint8_t *out, size_t out_cap,
				   struct front_result *res)
{
	int64_t start_us = monotonic_us();
	enum front_verdict verdict = dns_front_query(f, peer, transport, packet, len, out, out_cap, res);
	int64_t took_us = monotonic_us() - start_us;

	char client[INET6_ADDRSTRLEN + 10], name[DNAME_MAX_TEXT] = "-", type_buf[16], rcode_buf[16];
	const char *type = "-", *outcome = verdict == FRONT_DROP ? "DROP" :
					  verdict == FRONT_TRANSFER ? "TRANSFER" : "FORWARD";
	unsigned answers = 0;
	const struct dns_query *q = &res->query;
	peer_text(peer, client, sizeof client);
	if (q->question_end != 0) {   /* the question could be read */
		dname_to_text(q->qname, name);
		type = type_text(q->qtype, type_buf);
	}
	if (verdict == FRONT_SEND && res->len >= DNS_HEADER_SIZE) {
		outcome = rcode_text(out[3] & 0x0f, rcode_buf);
		answers = (unsigned)out[6] << 8 | out[7];
	}
	log_query("client=%s %s name=%s type=%s rcode=%s answers=%u us=%lld", client,
		 transport == DNS_TCP ? "tcp" : "udp", name, type, outcome, answers, (long long)took_us);
	return verdict;
}
