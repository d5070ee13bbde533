/* log_limit.h -- summarising a flood of log lines of one kind, as NSD and Knot do.
 *
 * The first LOG_LIMIT_BURST events of a kind in an interval are logged in full; the
 * rest are only counted, and once the interval is over one line says how many there
 * were. Metrics count every event regardless: only the log is thinned. */
#ifndef SVCDNS_LOG_LIMIT_H
#define SVCDNS_LOG_LIMIT_H

#include <stdint.h>

#define LOG_LIMIT_BURST 10            /* lines in full per kind and interval */
#define LOG_LIMIT_INTERVAL_MS 10000   /* the interval, and the summary's period */

struct log_limit {
	const char *what;          /* the kind, for the summary line: "register: ERR 429" */
	int64_t window_start_ms;   /* the interval being counted */
	uint32_t logged;           /* events logged in full in it */
	uint64_t suppressed;       /* events only counted in it */
};

/* Names the kind (a string that outlives the limiter). */
void log_limit_init(struct log_limit *l, const char *what);
/* True when this event is to be logged in full; false when it is only counted. A new
 * interval first writes the summary of the one before. */
int log_limit_allow(struct log_limit *l, int64_t now_ms);
/* Writes the summary once the interval has passed; call it now and then (a timer), so
 * the count of the flood's last interval is not left unsaid. */
void log_limit_flush(struct log_limit *l, int64_t now_ms);

#endif
