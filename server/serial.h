/* serial.h -- SOA serials: RFC 1982 arithmetic and the time-based scheme.
 *
 * A serial is the Unix time in 100 ms units, mod 2^32, and always at least the previous
 * one plus 1, so it never goes backwards across restarts while the clock does not. */
#ifndef SVCDNS_SERIAL_H
#define SVCDNS_SERIAL_H

#include <stdint.h>

/* Whether a comes before b in RFC 1982 serial number arithmetic (SERIAL_BITS 32);
 * a pair exactly 2^31 apart is unordered and never "before". */
int serial_before(uint32_t a, uint32_t b);
/* The serial for the Unix time wall_ms (milliseconds): tenths of seconds, mod 2^32. */
uint32_t serial_from_time(int64_t wall_ms);
/* The serial of a new version made at wall_ms after prev: the time's, or prev + 1
 * when the time's would not come after prev. */
uint32_t serial_next(uint32_t prev, int64_t wall_ms);

#endif
