/* log.h -- the one logger: a line per event on stderr, filtered by level. */
#ifndef SVCDNS_LOG_H
#define SVCDNS_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level that is written. */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn" or "error"; returns 0 on success. */
int log_level_parse(const char *text, enum log_level *level);
/* True when a message at this level would be written (to skip costly formatting). */
int log_enabled(enum log_level level);
/* Writes "TIME LEVEL message" as one line on stderr. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes "TIME query message" whatever the level: the query log (log-queries) is asked
 * for by itself. */
void log_query(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
