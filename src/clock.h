/* clock.h -- the two clocks of emitcgi, fakeable in tests.
 *
 * clock_wall_ms(): wall time (CLOCK_REALTIME), for what is stored in the
 * database and compared across processes (session expiry, last_seen).
 * clock_mono_ms(): CLOCK_MONOTONIC, for timers inside one process (heartbeats,
 * poll timeouts); never goes back.
 *
 * Tests freeze both with clock_fake() and move them with clock_advance(); the
 * fake is process-wide and not meant for threaded code.
 */
#ifndef EMITCGI_CLOCK_H
#define EMITCGI_CLOCK_H

#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);

/* Freezes both clocks at the given values (tests only). */
void clock_fake(int64_t wall_ms, int64_t mono_ms);
/* Moves the frozen clocks forward. */
void clock_advance(int64_t ms);
/* Back to the real clocks. */
void clock_real(void);

#endif
