/* dname.h -- domain names in wire format: parse, validate, compare, print. */
#ifndef SVCDNS_DNAME_H
#define SVCDNS_DNAME_H

#include <stddef.h>
#include <stdint.h>

#define DNAME_MAX_WIRE 255   /* RFC 1035 2.3.4: a name is at most 255 octets */
#define DNAME_MAX_LABEL 63
#define DNAME_MAX_TEXT 1024  /* room for a name printed with \DDD escapes */

/* True when label (len bytes) is a valid LDH label: letters, digits, inner hyphens, 1-63. */
int label_is_ldh(const char *label, size_t len);
/* Parses a dotted name ("a.b.", "a.b" or ".") into lowercase wire format; returns length or 0. */
size_t dname_from_text(const char *text, uint8_t wire[DNAME_MAX_WIRE]);
/* True when every label of the wire name is LDH (the root alone is not). */
int dname_is_ldh(const uint8_t *wire);
/* Lowercases a wire name in place. */
void dname_to_lower(uint8_t *wire);
/* Writes a wire name as text with a trailing dot into out (DNAME_MAX_TEXT bytes). */
char *dname_to_text(const uint8_t *wire, char *out);
/* Length of a well-formed uncompressed wire name. */
size_t dname_length(const uint8_t *wire);
/* Number of labels, the root not counted. */
int dname_label_count(const uint8_t *wire);
/* True when name equals parent or lies below it (both lowercase wire). */
int dname_is_subdomain(const uint8_t *name, const uint8_t *parent);
/* Offset in name where parent starts as a suffix, or -1 (both lowercase wire). */
int dname_suffix_offset(const uint8_t *name, size_t len, const uint8_t *parent, size_t plen);
/* Reads an uncompressed name at pkt[*off]: copies it lowercased into out, advances *off.
 * Returns the name length, or 0 when the name is malformed or compressed. */
size_t dname_read_question(const uint8_t *pkt, size_t pktlen, size_t *off,
			   uint8_t out[DNAME_MAX_WIRE]);
/* Skips a possibly compressed name at pkt[*off]; returns 0 or -1 when malformed. */
int dname_skip(const uint8_t *pkt, size_t pktlen, size_t *off);
/* Reads a possibly compressed name at pkt[*off] into out, letter case kept, and steps
 * past it; returns the name length, or 0 when malformed (pointers go backwards only). */
size_t dname_read(const uint8_t *pkt, size_t pktlen, size_t *off, uint8_t out[DNAME_MAX_WIRE]);

#endif
