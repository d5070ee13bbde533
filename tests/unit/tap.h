/* tap.h -- a tiny TAP producer for unit tests: ok(), is_int(), is_str(), done_testing(). */
#ifndef SVCDNS_TAP_H
#define SVCDNS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static inline int ok(int cond, const char *desc)
{
	tap_count++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, desc);
	if (!cond)
		tap_failed++;
	return cond;
}

static inline int is_int(long got, long want, const char *desc)
{
	if (!ok(got == want, desc))
		printf("#   got: %ld\n#   want: %ld\n", got, want);
	return got == want;
}

static inline int is_str(const char *got, const char *want, const char *desc)
{
	int same = got && want && strcmp(got, want) == 0;
	if (!ok(same, desc))
		printf("#   got: '%s'\n#   want: '%s'\n", got ? got : "(null)", want ? want : "(null)");
	return same;
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
