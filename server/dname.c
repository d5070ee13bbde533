/* dname.c -- domain names in wire format: parse, validate, compare, print. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dname.h"

static int is_ldh_char(unsigned char c)
{
	return isalnum(c) || c == '-';
}

int label_is_ldh(const char *label, size_t len)
{
	if (len == 0 || len > DNAME_MAX_LABEL)
		return 0;
	if (label[0] == '-' || label[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_ldh_char((unsigned char)label[i]))
			return 0;
	return 1;
}

size_t dname_from_text(const char *text, uint8_t wire[DNAME_MAX_WIRE])
{
	size_t out = 0;
	if (strcmp(text, ".") == 0) {
		wire[0] = 0;
		return 1;
	}
	const char *p = text;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len > DNAME_MAX_LABEL || out + len + 2 > DNAME_MAX_WIRE)
			return 0;
		wire[out++] = (uint8_t)len;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c <= ' ' || c >= 0x7f)
				return 0;
			wire[out++] = (uint8_t)tolower(c);
		}
		p += len;
		if (*p == '.')
			p++;
	}
	wire[out++] = 0;
	return out;
}

int dname_is_ldh(const uint8_t *wire)
{
	if (wire[0] == 0)
		return 0;
	for (; *wire; wire += *wire + 1)
		if (!label_is_ldh((const char *)wire + 1, *wire))
			return 0;
	return 1;
}

void dname_to_lower(uint8_t *wire)
{
	for (; *wire; wire += *wire + 1)
		for (int i = 1; i <= *wire; i++)
			wire[i] = (uint8_t)tolower(wire[i]);
}

char *dname_to_text(const uint8_t *wire, char *out)
{
	size_t n = 0;
	if (*wire == 0) {
		strcpy(out, ".");
		return out;
	}
	for (; *wire; wire += *wire + 1) {
		for (int i = 1; i <= *wire; i++) {
			unsigned char c = wire[i];
			if (isalnum(c) || c == '-' || c == '_' || c == '*')
				out[n++] = (char)c;
			else
				n += (size_t)sprintf(out + n, "\\%03u", c);
		}
		out[n++] = '.';
	}
	out[n] = 0;
	return out;
}

size_t dname_length(const uint8_t *wire)
{
	const uint8_t *p = wire;
	while (*p)
		p += *p + 1;
	return (size_t)(p - wire) + 1;
}

int dname_label_count(const uint8_t *wire)
{
	int n = 0;
	for (; *wire; wire += *wire + 1)
		n++;
	return n;
}

int dname_suffix_offset(const uint8_t *name, size_t len, const uint8_t *parent, size_t plen)
{
	size_t off = 0;
	while (len - off > plen)
		off += name[off] + 1u;
	if (len - off == plen && memcmp(name + off, parent, plen) == 0)
		return (int)off;
	return -1;
}

int dname_is_subdomain(const uint8_t *name, const uint8_t *parent)
{
	return dname_suffix_offset(name, dname_length(name), parent, dname_length(parent)) >= 0;
}

size_t dname_read_question(const uint8_t *pkt, size_t pktlen, size_t *off,
			   uint8_t out[DNAME_MAX_WIRE])
{
	size_t pos = *off, n = 0;
	for (;;) {
		if (pos >= pktlen)
			return 0;
		uint8_t len = pkt[pos];
		if (len > DNAME_MAX_LABEL)  /* compression pointer or extended label */
			return 0;
		if (n + len + 1 > DNAME_MAX_WIRE || pos + len + 1 > pktlen)
			return 0;
		out[n++] = len;
		pos++;
		if (len == 0)
			break;
		for (int i = 0; i < len; i++)
			out[n++] = (uint8_t)tolower(pkt[pos++]);
	}
	*off = pos;
	return n;
}

int dname_skip(const uint8_t *pkt, size_t pktlen, size_t *off)
{
	size_t pos = *off, total = 0;
	for (;;) {
		if (pos >= pktlen)
			return -1;
		uint8_t len = pkt[pos];
		if ((len & 0xc0) == 0xc0) {
			/* A pointer ends the name here; where it points does not matter to us. */
			if (pos + 2 > pktlen)
				return -1;
			*off = pos + 2;
			return 0;
		}
		if (len > DNAME_MAX_LABEL)
			return -1;
		total += len + 1u;
		if (total > DNAME_MAX_WIRE || pos + len + 1 > pktlen)
			return -1;
		pos += len + 1u;
		if (len == 0)
			break;
	}
	*off = pos;
	return 0;
}

size_t dname_read(const uint8_t *pkt, size_t pktlen, size_t *off, uint8_t out[DNAME_MAX_WIRE])
{
	size_t pos = *off, n = 0, end = 0;
	for (int hops = 0;;) {
		if (pos >= pktlen)
			return 0;
		uint8_t len = pkt[pos];
		if ((len & 0xc0) == 0xc0) {
			if (pos + 2 > pktlen)
				return 0;
			size_t target = (size_t)(len & 0x3f) << 8 | pkt[pos + 1];
			/* Only backwards, and a bounded number of times: no loop can trap us. */
			if (target >= pos || ++hops > DNAME_MAX_WIRE / 2)
				return 0;
			if (!end)
				end = pos + 2;
			pos = target;
			continue;
		}
		if (len > DNAME_MAX_LABEL || n + len + 1 > DNAME_MAX_WIRE || pos + len + 1 > pktlen)
			return 0;
		memcpy(out + n, pkt + pos, len + 1u);
		n += len + 1u;
		pos += len + 1u;
		if (len == 0)
			break;
	}
	*off = end ? end : pos;
	return n;
}
