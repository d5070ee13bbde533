/* client_internal.h -- the client handle, shared by the library's files (client.c owns it,
 * requests.c builds the protocol's requests on top of client_exchange()). */
#ifndef SVCDNS_CLIENT_INTERNAL_H
#define SVCDNS_CLIENT_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include "svcdns/client.h"
#include "transport.h"

#define CLIENT_ERROR_MAX 512
#define CLIENT_REQUEST_MAX 8192    /* a request line as sent, signature included */
#define CLIENT_KEY_NAME_MAX 256
#define CLIENT_SECRET_MAX 1024
#define CLIENT_FINAL_LINE_MAX 1024 /* the final OK/ERR line as kept for the caller */
#define CLIENT_SERVERS_MAX 16      /* servers in one "A:P,B:P,..." list */

struct svcdns_client {
	struct transport servers[CLIENT_SERVERS_MAX]; /* the list as given, each with its socket */
	unsigned server_count;
	unsigned current;                 /* the server that answered last: requests stick to it */
	struct transport *wire;           /* servers + current */
	unsigned timeout_ms;              /* reply timeout per attempt */
	unsigned attempts;                /* UDP sends per request */
	int has_key;                      /* sign requests with key_name and secret */
	char key_name[CLIENT_KEY_NAME_MAX];
	unsigned char secret[CLIENT_SECRET_MAX];
	size_t secret_len;
	time_t last_signed_ts;            /* ts, server and body of the last signed request: an identical */
	unsigned last_signed_server;
	char last_signed_body[CLIENT_REQUEST_MAX]; /* body is never signed twice in one second (replay) */
	unsigned unanswered_sends;        /* UDP sends of the last request that got no reply */
	unsigned lines_delivered;         /* LIST lines handed out by the request in progress */
	char request[CLIENT_REQUEST_MAX + 2]; /* the line being sent, with its LF */
	char error[CLIENT_ERROR_MAX];     /* svcdns_last_error() */
};

/* Called for each reply line before the final OK/ERR line (LIST's instance lines). */
typedef void (*client_line_fn)(char *line, void *arg);

/* Sends body (signed when a key is set) and reads the reply. With on_line NULL the reply
 * is one OK/ERR line; otherwise every line up to the final "OK <count>" or ERR line goes
 * to on_line. The final line is copied into final (may be NULL). Returns 0 for OK, the
 * ERR code, or -1 when the server could not be reached or answered nonsense. */
int client_exchange(struct svcdns_client *c, const char *body, client_line_fn on_line, void *arg,
		    char *final, size_t final_size);

/* True when text is 1..max_len bytes without spaces or control characters: one field of a
 * request line, which cannot split into two or end the line. */
int client_is_word(const char *text, size_t max_len);

/* Sets svcdns_last_error()'s text. */
void client_set_error(struct svcdns_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
