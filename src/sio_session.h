/* sio_session.h -- Socket.IO v5 sessions over Engine.IO v4 long-polling,
 * kept in the store (issue 11).
 *
 * Owns what a polling request does to an Engine.IO session and what its
 * GETs are answered: the handshake, the one-GET claim, ping/pong deadlines,
 * control packets queued for the next GET, the Socket.IO connect (with the
 * emitcgi_sid session; connection state recovery by pid and offset),
 * client events (through io_emit_client(), exactly as POST /emit) and
 * their acks, and the events of the log after the session's cursor.
 *
 * No sticky sessions: everything a session is lives in its row
 * (store_sio_*, store.h), and every change is one store transaction, so
 * any process sharing the database serves any request of any session.
 * A GET with nothing to take parks in the hub (hub_sio.c), which answers
 * it with sio_session_take() when events come, when a POST queued packets
 * (store_sio_update() with packets runs the commit hook, which wakes every
 * hub) or when a ping or the pong deadline is due.
 *
 *   sio_session_open(st, &set, session_id, now, &payload)       handshake
 *   sio_session_get(st, &set, sid, session, now, &payload, &w)  GET
 *   sio_session_take(st, &set, id, now, final, &payload, &w)    parked GET
 *   sio_session_post(st, &set, sid, body, len, user, now)       POST
 *   sio_session_post_claim(st, sid, now, &claim)  a POST's params came
 *   sio_session_post_release(st, sid)             its body never did
 *   sio_session_abandon(st, id, now)                            GET cancelled
 *
 * Times are wall-clock ms.  May call: store.h, io.h, eio.h, sio.h,
 * json.h, auth.h (random ids), log.h.
 */
#ifndef EMITCGI_SIO_SESSION_H
#define EMITCGI_SIO_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "store.h"

/* An answer to a GET stops growing here (the rest goes to the next). */
#define SIO_SESSION_ANSWER_SOFT (1u << 20)
#define SIO_SESSION_ANSWER_MAX (SIO_SESSION_ANSWER_SOFT + (128u << 10))

struct sio_settings {
	int ping_interval_ms;
	int ping_timeout_ms;
	int max_payload;
	int64_t recovery_ms; /* a closed session's pid recovers this long */
	/* The text of an error code, for error acks (api.c's table). */
	const char *(*error_text)(enum ecode rc);
	/* May session_id emit one more event now?  The rate limits of POST
	 * /emit (issue 9), asked before every client event; a refusal is
	 * acked as rate_limited.  NULL: no limit. */
	bool (*emit_allowed)(void *ctx, int64_t session_id);
	void *emit_ctx;
};

enum sio_get_result {
	SIO_GET_ANSWER,	   /* payload holds the answer */
	SIO_GET_WAIT,	   /* park: wait is filled */
	SIO_GET_UNKNOWN,   /* no such open session: 400, code 1 */
	SIO_GET_DUPLICATE, /* a GET already holds it: 400, code 3; closed */
};

struct sio_wait {
	int64_t row_id;
	int64_t session_id; /* for presence, 0 none */
	int64_t cursor;	    /* events after it wake the GET; INT64_MAX none */
	int64_t due_ms;	    /* wall: ping or pong deadline */
};

/* The handshake: a new session (of emitcgi session session_id, 0 none);
 * payload gets the open packet. */
enum ecode sio_session_open(struct store *st, const struct sio_settings *set,
			    int64_t session_id, int64_t now,
			    struct buf *payload);

/* A GET of session sid: claims it, then answers at once what is there
 * (queued packets, a due ping, events after the cursor), or asks to park.
 * session_id is the request's signed-in session (0 none): a connected
 * socket whose session it no longer is (logout, expiry) is disconnected
 * by the server (41). */
enum ecode sio_session_get(struct store *st, const struct sio_settings *set,
			   const char *sid, int64_t session_id, int64_t now,
			   struct buf *payload, struct sio_wait *wait,
			   enum sio_get_result *result);

/* A parked GET of row id: takes what is there into payload (*answered),
 * or, when nothing is and !final, leaves it parked and updates *wait.  A
 * final take (stop, timer) answers in any case (a noop when empty). */
enum ecode sio_session_take(struct store *st, const struct sio_settings *set,
			    int64_t id, int64_t now, bool final,
			    struct buf *payload, bool *answered,
			    struct sio_wait *wait);

/* sio_session_take() (not final) for many parked GETs in one transaction:
 * one write lock and one commit for all the GETs an event wakes.  Each
 * payload must be buf_init()ed by the caller.  On error none is answered. */
struct sio_take {
	int64_t id;
	struct buf payload;
	bool answered;
	struct sio_wait wait;
};
enum ecode sio_session_take_many(struct store *st,
				 const struct sio_settings *set,
				 struct sio_take *v, size_t n, int64_t now);

/* The parked GET of row id went away without its answer: the protocol
 * closes the session. */
enum ecode sio_session_abandon(struct store *st, int64_t id, int64_t now);

/* One POST at a time per session, as one GET: a FastCGI POST claims its
 * session when its params arrive (conn_job.c), before its body, so that a
 * second POST while the first one's body is still coming is seen.  A
 * claim older than SIO_SESSION_POST_CLAIM_MS is stale (its process died):
 * longer than a body may take to come (conn.h: CONN_BODY_MS). */
#define SIO_SESSION_POST_CLAIM_MS 40000

enum sio_claim {
	SIO_CLAIM_NONE,	     /* not claimed before: the POST checks itself */
	SIO_CLAIM_HELD,	     /* this POST holds the session */
	SIO_CLAIM_DUPLICATE, /* another POST held it: 400, code 3; closed */
	SIO_CLAIM_UNKNOWN,   /* no such open session */
};

/* Claims session sid for a POST whose body is coming.  A session that a
 * POST holds already is closed (the protocol's rule for overlapping
 * requests: its held GET gets the close packet). */
enum ecode sio_session_post_claim(struct store *st, const char *sid,
				  int64_t now, enum sio_claim *claim);

/* Lets go of a claim whose POST never reached sio_session_post() (the
 * connection went, the request was refused). */
enum ecode sio_session_post_release(struct store *st, const char *sid);

enum sio_post_result {
	SIO_POST_OK,	    /* "ok" */
	SIO_POST_UNKNOWN,   /* 400, code 1 */
	SIO_POST_BAD,	    /* 400, code 3: bad payload; the session closed */
	SIO_POST_DUPLICATE, /* 400, code 3: another POST holds it; closed */
};

/* A POST of session sid: its payload, checked whole first.  user is the
 * signed-in session of the request's cookie, or NULL.  claim is what
 * sio_session_post_claim() said for this POST (SIO_CLAIM_NONE when it
 * was not called, as in CGI mode: then a fresh claim of another POST
 * makes this one the duplicate); the POST's claim ends with it. */
enum ecode sio_session_post(struct store *st, const struct sio_settings *set,
			    const char *sid, const char *body, size_t len,
			    const struct store_session *user,
			    enum sio_claim claim, int64_t now,
			    enum sio_post_result *result);

#endif
