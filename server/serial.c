/* serial.c -- SOA serials: RFC 1982 arithmetic and the time-based scheme. */
#include "serial.h"

int serial_before(uint32_t a, uint32_t b)
{
	/* RFC 1982 3.2: a < b when 0 < b - a < 2^31 in modular arithmetic. */
	uint32_t d = b - a;
	return d != 0 && d < 0x80000000u;
}

uint32_t serial_from_time(int64_t wall_ms)
{
	return (uint32_t)(uint64_t)(wall_ms / 100);
}

uint32_t serial_next(uint32_t prev, int64_t wall_ms)
{
	uint32_t now = serial_from_time(wall_ms);
	return serial_before(prev, now) ? now : prev + 1;
}
