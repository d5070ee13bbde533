/* clock.h -- the monotonic clock, read once per batch by whoever needs it. */
#ifndef SVCDNS_CLOCK_H
#define SVCDNS_CLOCK_H

#include <stdint.h>

/* Milliseconds of the monotonic clock: lease deadlines never jump with the wall clock. */
int64_t monotonic_ms(void);
/* Microseconds of the monotonic clock, for the answer latency histogram. */
int64_t monotonic_us(void);

#endif
