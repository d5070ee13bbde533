/* health_state.c -- the health state machine: fall=/rise= consecutive results.
 *
 * An instance starts critical: no traffic goes to an instance that was never seen
 * healthy, so even its first passing result needs rise= in a row. */
#include "health.h"

void health_counter_init(struct health_counter *c)
{
	c->state = HEALTH_CRITICAL;
	c->candidate = HEALTH_CRITICAL;
	c->streak = 0;
}

bool health_counter_step(struct health_counter *c, enum health_state result, uint8_t fall, uint8_t rise)
{
	if (result == c->state) {
		c->streak = 0;
		c->candidate = c->state;
		return false;
	}
	if (result != c->candidate) {
		c->candidate = (uint8_t)result;
		c->streak = 0;
	}
	if (c->streak < 255)
		c->streak++;
	/* passing < warning < critical: a worse result needs fall=, a better one rise=. */
	uint8_t needed = result > c->state ? fall : rise;
	if (c->streak < (needed ? needed : 1))
		return false;
	c->state = (uint8_t)result;
	c->streak = 0;
	return true;
}
