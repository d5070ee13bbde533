/* health_probe_http.c -- the HTTP probe's bytes: a GET, and the status line of its reply.
 *
 * 2xx is passing, 429 warning, anything else critical (health.c decides); only the
 * status line is read, the connection is closed after it. */
#include <stdio.h>
#include <string.h>

#include "health_codec.h"

size_t http_probe_request(char *out, size_t size, const char *host, const char *path)
{
	int n = snprintf(out, size,
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: svcdns-health\r\n"
			 "Accept: */*\r\nConnection: close\r\n\r\n", path, host);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/d.d ddd" followed by a space or a line end. */
enum codec_verdict http_status_parse(const uint8_t *buf, size_t len, uint16_t *code)
{
	static const char pattern[] = "HTTP/#.# ###";  /* # is a digit */
	const size_t plen = sizeof pattern - 1;
	for (size_t i = 0; i < plen; i++) {
		if (i == len)
			return CODEC_MORE;
		if (pattern[i] == '#' ? !is_digit(buf[i]) : buf[i] != (uint8_t)pattern[i])
			return CODEC_BAD;
	}
	if (len == plen)
		return CODEC_MORE;
	if (buf[plen] != ' ' && buf[plen] != '\r' && buf[plen] != '\n')
		return CODEC_BAD;
	*code = (uint16_t)((buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0'));
	return *code >= 100 ? CODEC_DONE : CODEC_BAD;
}
