/* svcdns/client.h -- the svcdns client library: register, renew, deregister and list
 * service instances over the registration protocol (docs/protocol.md), with optional
 * HMAC-SHA256 signing. Link with lib/libsvcdns.a and -lcrypto.
 *
 * Every call that talks to the server returns 0 for OK, the protocol's error code
 * (400, 401, 403, 404, 409, 413, 429, 503) for an ERR reply, or -1 when the server
 * could not be reached; the reason is then in svcdns_last_error(). */
#ifndef SVCDNS_CLIENT_H
#define SVCDNS_CLIENT_H

#include <stdint.h>

#define SVCDNS_DEFAULT_PORT 8053
#define SVCDNS_MAX_TXT 16
#define SVCDNS_MAX_ADDRS 4

struct svcdns_client;

/* One instance as registered or listed. */
struct svcdns_instance {
	char service[64];
	char instance[64];
	char address[64];             /* IPv4 or IPv6 text */
	uint16_t port;
	uint16_t priority, weight;
	char proto[4];                /* "tcp" (default when empty) or "udp" */
	const char *txt[SVCDNS_MAX_TXT]; /* "k=v" strings, NULL-terminated when fewer */
	unsigned ttl;                 /* requested (register) or remaining (list) seconds */
	int is_static;                /* list: from the server's config, no lease */
	/* A health check (register: sent when check is set; list: as the server said). */
	const char *check;            /* check=URL: http://[HOST]:PORT/PATH, tcp[://HOST:PORT], grpc://... */
	const char *interval, *timeout; /* durations "2s", "500ms"; NULL: the server's default */
	unsigned fall, rise;          /* 0: the server's default (1) */
	const char *health;           /* list: "STATE/RESULT/TIME", NULL without a check */
	const char *tags;             /* tags=, comma-separated LDH labels ("v1,canary") */
	const char *addrs[SVCDNS_MAX_ADDRS]; /* addr=, its addresses on further networks */
	const char *network;          /* network=NAME[,NAME] for an address in no network */
	int weight_set;               /* register: send weight= even when 0; list: weight= was given */
	const char *networks;         /* list: the networks it is on, "frontend,user-backend" */
	const char *effective_weight; /* list: its weight in answers while its service has a split */
};

/* Opens a client for "HOST:PORT" or "[V6]:PORT" (port defaults to 8053), or a list of up to
 * 16 of them separated by commas, tried in order with failover; tcp != 0 uses TCP. */
struct svcdns_client *svcdns_open(const char *server, int tcp);
/* The server the next request goes to first: the one that answered last ("host:port"). */
const char *svcdns_current_server(const struct svcdns_client *c);
/* Closes the connection and frees the client. */
void svcdns_close(struct svcdns_client *c);
/* Signs every request with this key from now on; returns 0, or -1 for a bad key. */
int svcdns_set_key(struct svcdns_client *c, const char *name, const char *secret);
/* Sets the reply timeout per attempt in milliseconds (default 1000) and UDP attempts (default 3). */
void svcdns_set_timeout(struct svcdns_client *c, unsigned timeout_ms, unsigned attempts);
/* The reason of the last failure: the ERR line's text, or what went wrong on the wire. */
const char *svcdns_last_error(const struct svcdns_client *c);

/* REGISTER; *granted_ttl (may be NULL) gets the lease the server granted. */
int svcdns_register(struct svcdns_client *c, const struct svcdns_instance *inst, unsigned *granted_ttl);
/* REGISTER with further space-separated KEY=VALUE options appended as given (extra may be
 * NULL), for options the struct does not carry, such as tags= and addr=. */
int svcdns_register_extra(struct svcdns_client *c, const struct svcdns_instance *inst, const char *extra,
			  unsigned *granted_ttl);
/* RENEW with ttl (0: the server's default). */
int svcdns_renew(struct svcdns_client *c, const char *service, const char *instance, unsigned ttl,
		 unsigned *granted_ttl);
/* DEREGISTER. */
int svcdns_deregister(struct svcdns_client *c, const char *service, const char *instance);
/* LIST (service may be NULL for all): calls fn for every instance; *count gets OK's count. */
int svcdns_list(struct svcdns_client *c, const char *service,
		void (*fn)(const struct svcdns_instance *inst, void *arg), void *arg, unsigned *count);
/* SPLIT: shares "v1=90 v2=10" (and "limit=N") for a service; NULL or "" clears its split. */
int svcdns_split(struct svcdns_client *c, const char *service, const char *shares);
/* PING. */
int svcdns_ping(struct svcdns_client *c);
/* Sends one raw request line (without newline) and copies the first reply line into reply. */
int svcdns_request(struct svcdns_client *c, const char *line, char *reply, unsigned reply_size);

#endif
