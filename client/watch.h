/* watch.h -- `svcdnsctl watch`: follow the server's change stream (GET /v1/watch). */
#ifndef SVCDNS_CLIENT_WATCH_H
#define SVCDNS_CLIENT_WATCH_H

#include <stdio.h>

#define SVCDNSCTL_HTTP_DEFAULT "127.0.0.1:8054"

struct watch_options {
	int json;   /* copy the stream's JSON lines as they are; else one readable line each */
	int once;   /* one connection: when it fails or ends, exit 1 with a message */
};

/* Connects to the HTTP API at http_server ("HOST:PORT", "[V6]:PORT", or HOST for port
 * 8054) and writes each change to out as it arrives. When the stream ends (the server
 * shut down, or disconnected a watcher that fell too far behind) or the server cannot be
 * reached, it reconnects with backoff and says so on stderr, for as long as it runs;
 * with options->once it returns 1 instead. Returns 1 on an error that retrying cannot
 * mend (an HTTP error, a failed write), 2 for a bad address; the reason is on stderr. */
int svcdnsctl_watch(const char *http_server, FILE *out, const struct watch_options *options);

#endif
