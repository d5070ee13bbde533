/* dnsprobe.h -- what the dnsprobe subcommands share: options, DNS wire helpers, sockets. */
#ifndef DNSPROBE_H
#define DNSPROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define DNS_HEADER_SIZE 12
#define DNS_MESSAGE_MAX 65535
#define FLAG_QR 0x8000
enum { TYPE_A = 1, TYPE_SOA = 6, TYPE_TXT = 16, TYPE_AAAA = 28, TYPE_SRV = 33, TYPE_OPT = 41 };
enum { CLASS_IN = 1 };

#define IO_TIMEOUT_SECONDS 3.0  /* a server that takes longer than this has failed the test */

struct options {
	struct sockaddr_storage server; /* the one address this program ever talks to */
	socklen_t server_len;
	const char *name;               /* the query name */
	unsigned long count;            /* packets, queries or connections, by subcommand */
	uint64_t seed;                  /* garbage: the same seed sends the same packets */
	double hold;                    /* holdconns: seconds to keep the connections open */
	double close_within;            /* idle: the server must have closed by then */
	long expect_closed;             /* holdconns: closed-at-once count to insist on; -1: any */
	const char *hex;                /* send: the datagram, as hex digits */
	double timeout;                 /* send: seconds to wait for an answer */
	int describe;                   /* send: also print the reply's flags, counts, OPT, TSIG */
};

#define IDLE_TOO_EARLY 0.5  /* closing sooner than this is not an idle timeout */

/* What a reply said, as far as the tests care. */
struct reply {
	uint16_t id;
	uint16_t flags;
	int rcode;
	uint16_t ancount;
	char addresses[512];  /* the A and AAAA records of the answer section, space separated */
};

enum io_result { IO_OK, IO_CLOSED, IO_TIMEOUT, IO_ERROR };

/* time (common.c) */
double now_seconds(void);
int ms_until(double deadline);   /* milliseconds left until a deadline, for poll(); never negative */
void pause_ms(unsigned ms);

/* building and reading DNS messages (common.c) */
void put_u16(uint8_t *p, uint16_t v);
uint16_t get_u16(const uint8_t *p);
size_t build_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags, const char *name,
		   uint16_t qtype, uint16_t qclass);
size_t append_opt(uint8_t *msg, size_t len, size_t cap, uint16_t udp_size, uint8_t version);
const char *rcode_name(int rcode);
const char *check_reply(const uint8_t *query, size_t query_len, const uint8_t *msg, size_t len,
			struct reply *r);

/* sockets (common.c) */
int udp_open(const struct options *o);
int tcp_connect(const struct options *o);
int send_all(int fd, const uint8_t *buf, size_t len);
const char *io_result_text(enum io_result r);
enum io_result read_framed(int fd, uint8_t *buf, size_t *len, double deadline);
size_t frame(uint8_t *frame_buf, size_t msg_len);
const char *tcp_expect_answer(int fd, const uint8_t *query, size_t query_len);

/* the subcommands, one file each */
int cmd_garbage(const struct options *o);
int cmd_pipeline(const struct options *o);
int cmd_slowtcp(const struct options *o);
int cmd_idle(const struct options *o);
int cmd_holdconns(const struct options *o);
int cmd_send(const struct options *o);

#endif
