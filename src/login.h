/* login.h -- the "connection" step of a login (io.on('connection')).
 *
 * In emitcgi a login plays the part of a socket.io connection (SPEC): the
 * new session goes online, the number of online sessions goes up, and the
 * "user count" event with that number, then the "user" event, are emitted
 * to every client.  api_login() checks the password and then calls
 * login_connect(); login.c is the whole of that step, and it is also the
 * text GET /_api/server.js serves to freeCodeCamp's checker when
 * EMITCGI_FCC_TESTING=1 (fcc_source.h).
 *
 *   int64_t n;
 *   rc = login_connect(st, sid, &user, now_ms, expires_ms, &n);
 *
 * Invariant: the session, the count and both events are one transaction;
 * the count is read under its write lock, so every "user count" number is
 * the count at its commit, whatever other processes do.
 */
#ifndef EMITCGI_LOGIN_H
#define EMITCGI_LOGIN_H

#include <stdint.h>

#include "error.h"

struct store;
struct store_user;

/* Creates session sid (64 hex chars) for user, online from now_ms until
 * expires_ms, and emits "user count" (the new number) and "user"
 * ({"username","currentUsers","connected":true}) in the same transaction.
 * *current_users gets the new number.  Errors: EC_NOT_FOUND (no such user
 * any more), EC_DB_BUSY, EC_DB, EC_NOMEM; nothing is stored on error.
 * Called on the request's thread with its store connection. */
enum ecode login_connect(struct store *st, const char *sid,
			 const struct store_user *user, int64_t now_ms,
			 int64_t expires_ms, int64_t *current_users);

/* The same, and first every unexpired session of the user but the newest
 * max_sessions - 1 expires at now_ms (store_user_sessions_cap(); 0: no
 * cap), in the same transaction: sessions per user stay at most
 * max_sessions, the oldest ending first (issue 9). */
enum ecode login_connect_capped(struct store *st, const char *sid,
				const struct store_user *user, int64_t now_ms,
				int64_t expires_ms, int max_sessions,
				int64_t *current_users);

#endif
