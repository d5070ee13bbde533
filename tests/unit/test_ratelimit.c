/* Unit tests for ratelimit.c: token buckets from a fixed pool, oldest source reused. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ratelimit.h"
#include "tap.h"

static struct sockaddr_in source(uint32_t addr)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof s);
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = htonl(addr);
	return s;
}

static int allow(struct rate_limiter *rl, uint32_t addr, int64_t now_ms)
{
	struct sockaddr_in s = source(addr);
	return rate_limiter_allow(rl, (struct sockaddr *)&s, now_ms);
}

static void test_rate(void)
{
	struct rate_limiter rl;
	rate_limiter_init(&rl, 5, 5, 100);
	int allowed = 0;
	for (int i = 0; i < 50; i++)
		allowed += allow(&rl, 0x0a000001, 1000);
	is_int(allowed, 5, "a burst of 5: 5 of 50 allowed at once");
	ok(allow(&rl, 0x0a000001, 1200), "a token refills after 200 ms at 5/s");
	ok(!allow(&rl, 0x0a000001, 1200), "... and only one");
	ok(allow(&rl, 0x0a000002, 1200), "another source has its own bucket");
	rate_limiter_free(&rl);

	rate_limiter_init(&rl, 0, 0, 100);
	allowed = 0;
	for (int i = 0; i < 50; i++)
		allowed += allow(&rl, 0x0a000001, 1000);
	is_int(allowed, 50, "rate 0: the limiter is off");
	ok(rl.pool == NULL, "rate 0: no pool allocated");
	rate_limiter_free(&rl);
}

/* A flood from ever new sources must not push out the source it targets. */
static void test_flood(void)
{
	struct rate_limiter rl;
	rate_limiter_init(&rl, 1, 1, 1000);
	int victim_allowed = 0;
	for (uint32_t i = 0; i < 200000; i++) {
		allow(&rl, 0x7f000000 + i, 5000);
		if (i % 10 == 0)
			victim_allowed += allow(&rl, 0x0a0000ff, 5000);
	}
	is_int(victim_allowed, 1, "the victim's bucket survives 200,000 spoofed sources");
	is_int((long)rl.buckets.count, 1000, "the table holds exactly the pool's 1000 sources");
	is_int((long)rl.pool_used, 1000, "no bucket beyond the pool was made");
	ok(allow(&rl, 0x7f000000 + 199999, 5000) == 0, "the newest flood source is still tracked");
	ok(allow(&rl, 0x7f000000, 5000) == 1, "the oldest flood source was forgotten");
	rate_limiter_free(&rl);
}

int main(void)
{
	test_rate();
	test_flood();
	return done_testing();
}
