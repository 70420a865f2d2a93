/* presence.h -- when a session counts as online (SPEC "Semantics").
 *
 * Online at login (login_connect), and again whenever a signed-in
 * client streams or polls (presence_seen).  Offline at logout, at session
 * expiry, or after idle_ms (EMITCGI_PRESENCE_TIMEOUT) with no open stream and
 * no poll (presence_tick, run about once a second by the housekeeping thread
 * with the sessions that have waiters parked in this process).
 *
 * To keep writes off the hot path, presence_seen() writes only when the
 * session is offline or its last_seen is older than idle_ms / 4.
 * Not thread-safe beyond what the given store connection is.
 */
#ifndef EMITCGI_PRESENCE_H
#define EMITCGI_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* A client of session s streams or polls now.  out may be NULL. */
enum ecode presence_seen(struct store *st, const struct store_session *s,
			 int64_t idle_ms, int64_t now_ms,
			 struct store_presence *out);

/* Touches the parked sessions (ids may repeat; n may be 0), then takes
 * offline the idle and expired ones.  *changes (may be NULL) counts
 * sessions that went online or offline.  Parked ids whose session has
 * ended (logout, expiry) go to ended (room for n; may be NULL), so that
 * the caller can end their waiters. */
enum ecode presence_tick(struct store *st, const int64_t *parked, size_t n,
			 int64_t idle_ms, int64_t now_ms, int *changes,
			 int64_t *ended, size_t *n_ended);

#endif
