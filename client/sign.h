/* sign.h -- request signing: " key=<name> ts=<unix seconds> mac=<hex HMAC-SHA256>" (docs/protocol.md). */
#ifndef SVCDNS_CLIENT_SIGN_H
#define SVCDNS_CLIENT_SIGN_H

#include <stddef.h>
#include <time.h>

#define SIGN_MAC_HEX_SIZE 65   /* 64 lowercase hex digits of a SHA-256 MAC and a NUL */

/* Writes "<body> key=<key_name> ts=<ts> mac=<hex>" into out; the MAC covers everything
 * before " mac=". Returns the length written, or -1 when out is too small or HMAC fails. */
int sign_request(const char *body, const char *key_name, const unsigned char *secret, size_t secret_len,
		 time_t ts, char *out, size_t out_size);

#endif
