/* log_limit.c -- the first lines of a kind in full, then one summary per interval. */
#include "log.h"
#include "log_limit.h"

void log_limit_init(struct log_limit *l, const char *what)
{
	l->what = what;
	l->window_start_ms = 0;
	l->logged = 0;
	l->suppressed = 0;
}

void log_limit_flush(struct log_limit *l, int64_t now_ms)
{
	if (now_ms - l->window_start_ms < LOG_LIMIT_INTERVAL_MS)
		return;
	if (l->suppressed > 0)
		log_warn("%s: %llu more in the last %lld s, not logged one by one (every one is counted in /metrics)",
			 l->what, (unsigned long long)l->suppressed,
			 (long long)((now_ms - l->window_start_ms + 500) / 1000));
	l->window_start_ms = now_ms;
	l->logged = 0;
	l->suppressed = 0;
}

int log_limit_allow(struct log_limit *l, int64_t now_ms)
{
	log_limit_flush(l, now_ms);
	if (l->logged < LOG_LIMIT_BURST) {
		l->logged++;
		return 1;
	}
	l->suppressed++;
	return 0;
}
