/* watch.h -- `svcdnsctl watch`: follow the server's change stream (GET /v1/watch). */
#ifndef SVCDNS_CLIENT_WATCH_H
#define SVCDNS_CLIENT_WATCH_H

#include <stdio.h>

#define SVCDNSCTL_HTTP_DEFAULT "127.0.0.1:8054"

/* Connects to the HTTP API at http_server ("HOST:PORT", "[V6]:PORT", or HOST for port
 * 8054) and copies each change line ({"event":...}) to out as it arrives, until the
 * server ends the stream (it shut down, or disconnected a watcher that fell too far
 * behind). Returns 0 when the stream ended, 1 on an error (the reason is on stderr). */
int svcdnsctl_watch(const char *http_server, FILE *out);

#endif
