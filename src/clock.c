/* clock.c -- wall and monotonic clocks, fakeable (see clock.h). */
#include "autoconfig.h"

#include <stdbool.h>
#include <time.h>

#include "clock.h"

static bool clock_is_fake;
static int64_t fake_wall_ms, fake_mono_ms;

static int64_t clock_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
	return clock_is_fake ? fake_wall_ms : clock_read(CLOCK_REALTIME);
}

int64_t clock_mono_ms(void)
{
	return clock_is_fake ? fake_mono_ms : clock_read(CLOCK_MONOTONIC);
}

void clock_fake(int64_t wall_ms, int64_t mono_ms)
{
	clock_is_fake = true;
	fake_wall_ms = wall_ms;
	fake_mono_ms = mono_ms;
}

void clock_advance(int64_t ms)
{
	fake_wall_ms += ms;
	fake_mono_ms += ms;
}

void clock_real(void)
{
	clock_is_fake = false;
}
