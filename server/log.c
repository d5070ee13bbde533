/* log.c -- the one logger: a line per event on stderr, filtered by level. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level) { min_level = level; }

int log_enabled(enum log_level level) { return level >= min_level; }

int log_level_parse(const char *text, enum log_level *level)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Writes "TIME LABEL message" as one line. */
static void log_line(const char *label, const char *fmt, va_list ap)
{
	char line[1024];
	struct timeval now;
	struct tm tm;
	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &tm);
	int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ %-5s ",
		      (long)(now.tv_usec / 1000), label);
	int body = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	/* A message longer than the buffer is cut, never split over lines. */
	if (body < 0 || (size_t)(n + body) >= sizeof line - 1)
		n = (int)sizeof line - 2;
	else
		n += body;
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level < min_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_line(level_names[level], fmt, ap);
	va_end(ap);
}

void log_query(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("query", fmt, ap);
	va_end(ap);
}
