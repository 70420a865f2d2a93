/* hub.h -- parked waiters (SSE streams and long-polls) and event delivery.
 *
 * A request that must wait (GET /events, GET /poll with nothing pending) is
 * not given a thread.  Its handler (on a worker) says what goes first (for
 * SSE: headers, retry, maybe the snapshot; a replay is this hub's
 * catch-up), and the transport parks the connection here with hub_park(),
 * that prelude included.  From then on the hub, one
 * epoll loop on its own thread, owns the file descriptor and writes the
 * waiter's bytes through a sink (sink.h): FastCGI records (FCGI_STDOUT,
 * then the empty FCGI_STDOUT and FCGI_END_REQUEST) for HUB_SINK_FCGI
 * (sink_fcgi.c), or raw bytes for HUB_SINK_RAW (plain CGI: stdout,
 * sink_raw.c).  What each kind of waiter is sent, and when, is its policy
 * (hub_sse.c, hub_poll.c); events live in event_ring.c.
 *
 * Delivery: the hub has its own read connection to the store.  When woken
 * (hub_events_committed() from this process, the notify file from any
 * process, or a slow fallback timer) it reads the events after the newest it
 * has seen, serialises each once (SSE frame and long-poll JSON), keeps the
 * recent ones in a ring, and hands the same bytes to every waiter whose
 * cursor is behind: an SSE waiter gets the frame and stays; a poll waiter
 * gets one complete HTTP response with every event after its cursor and is
 * finished.  So every process sharing the database delivers every event, in
 * log order, to all its waiters.
 *
 * Per waiter the hub keeps only: fd, FastCGI request id, kind, cursor,
 * session id, deadlines and unsent bytes (capped; a waiter that cannot keep
 * up is dropped and its client resumes by id).  It sends ": ping" every
 * heartbeat, ends SSE streams after stream_max_ms (the client reconnects
 * with Last-Event-ID) and answers polls at their timeout with no events.  A
 * connection closed or aborted by the web server (EOF, FCGI_ABORT_REQUEST,
 * EPOLLHUP/ERR) frees its waiter at once.  Waiters are freed after the loop
 * iteration, never inside their own callback.
 *
 * Threads: hub_park(), hub_has_room(), hub_events_committed(), hub_stop()
 * and hub_get_stats() may be called from any thread; hub_run() runs on one.
 */
#ifndef EMITCGI_HUB_H
#define EMITCGI_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sio_session.h"

struct hub;

/* Sessions with waiters parked in this hub, handed out about every
 * touch_every_ms so that presence can keep them online; n is 0 (and ids
 * may be NULL) when none is left.  Called on the hub thread; ids is only
 * valid during the call. */
typedef void hub_touch_fn(void *ctx, const int64_t *session_ids, size_t n);

/* The transport that shares the hub's loop (conn.c): its timers and
 * finished work, run by the hub's before-sleep hook.  Returns the ms until
 * its next deadline (-1: none) and sets *busy while it still has requests
 * in hand (a stop waits for them, HUB_STOP_TRANSPORT_MS at most). */
typedef int hub_tick_fn(void *ctx, int64_t now, bool stopping, bool *busy);
/* A waiter parked with keep_conn ended its request cleanly: the
 * connection fd goes back to the transport, which reads the next request
 * on it.  The fd is still in the hub's loop, under no io: the transport
 * takes it with loop_io_take() (or closes it).  Hub thread. */
typedef void hub_give_back_fn(void *ctx, int fd);

struct hub_options {
	const char *db_path;   /* the hub opens its own store and notify */
	int heartbeat_ms;      /* ": ping" interval per SSE waiter */
	int stream_max_ms;     /* SSE streams end after this */
	int max_waiters;       /* hub_has_room() false at this many */
	int fallback_check_ms; /* last-id check without a wake-up; 0 = 1000 */
	bool exit_when_idle;   /* plain CGI: hub_run() returns when empty */
	hub_touch_fn *touch;   /* may be NULL */
	void *touch_ctx;
	int touch_every_ms;
	/* issue 9: hub_park() refuses (EC_TOO_MANY_WAITERS) past this many
	 * waiters of one session / of one user; 0 = no cap. */
	int max_per_session;
	int max_per_user;
	/* Set with hub_set_transport(); NULL: none. */
	hub_tick_fn *tick;
	hub_give_back_fn *give_back; /* NULL: kept fds are closed */
	void *transport_ctx;
	struct sio_settings sio; /* HUB_SIO waiters (hub_sio.c) */
};

enum hub_kind {
	HUB_SSE,
	HUB_POLL,
	HUB_SIO, /* a Socket.IO long-polling GET (hub_sio.c) */
};

enum hub_sink {
	HUB_SINK_FCGI, /* fd is a FastCGI connection; frame with request_id */
	HUB_SINK_RAW,  /* fd is CGI stdout; write bytes as they are */
};

struct hub_waiter_spec {
	enum hub_kind kind;
	enum hub_sink sink;
	int fd;	   /* connection (FCGI) or stdout (RAW); made non-blocking */
	int in_fd; /* RAW: stdin to watch for hang-up, or -1 */
	uint16_t request_id; /* FCGI */
	int64_t cursor;	     /* deliver events with id > cursor */
	int64_t session_id;  /* for presence */
	int timeout_ms;	     /* HUB_POLL: answer with no events after this;
				HUB_SIO: ms until its ping or pong is due */
	int64_t user_id;     /* for max_per_user; 0: not counted */
	/* FCGI: the web server asked for FCGI_KEEP_CONN: after the end of
	 * the request the fd goes back through opts.give_back. */
	bool keep_conn;
	/* Answered at once (a poll whose events are already there): not
	 * counted against max_waiters. */
	bool immediate;
	/* The fd is in the hub's loop already (the caller is on the hub
	 * thread, serving the connection in the same loop), and non-blocking:
	 * it is adopted at once and taken over with loop_io_take(); on EC_OK
	 * the caller loop_io_forget()s its own io. */
	bool registered;
	/* Bytes to send before any event (the SSE head), copied at park;
	 * FCGI framing is the sink's. */
	const void *prelude;
	size_t prelude_len;
	int64_t sio_id; /* HUB_SIO: its row (store_sio) */
};

enum ecode hub_new(const struct hub_options *opts, struct hub **out);
/* Closes every waiter still parked (ending their requests) and frees. */
void hub_free(struct hub *hub);

/* Parks a waiter.  On EC_OK the hub owns spec->fd (and in_fd) and will
 * close it.  On error (EC_TOO_MANY_WAITERS when max_waiters, or the
 * session's or user's cap, is reached; EC_UNAVAILABLE when stopping;
 * EC_NOMEM) the caller still owns them. */
enum ecode hub_park(struct hub *hub, const struct hub_waiter_spec *spec);

/* False when max_waiters are parked: the caller answers 503 instead. */
bool hub_has_room(struct hub *hub);

/* False when session_id (or user_id, if > 0) already has its cap of
 * waiters (hub_options max_per_session, max_per_user): a check before the
 * work of a stream; hub_park() checks again under its lock. */
bool hub_has_room_for(struct hub *hub, int64_t session_id, int64_t user_id);

/* These sessions have ended (logout, expiry: presence_tick() tells): end
 * their waiters as hub_stop() would, streams closed, polls answered with
 * what they have.  The clients' next requests get 401.  Thread-safe; ids
 * are copied. */
void hub_end_sessions(struct hub *hub, const int64_t *ids, size_t n);

/* Events were committed by this process: check the store now.  Cheap,
 * async-signal-safe (an eventfd write). */
void hub_events_committed(struct hub *hub);

/* Runs the loop until hub_stop() (or, with exit_when_idle, until no waiter
 * is left).  On stop every SSE stream is ended cleanly and every poll is
 * answered with the events it has (maybe none).  An error return means the
 * loop failed: it is logged here, and the caller must end the process with
 * a non-zero status (issue 9: nothing vital dies silently). */
enum ecode hub_run(struct hub *hub);
/* The hub's loop, for a transport that serves its connections on the hub
 * thread (opts.tick).  Hub thread only, after hub_new(). */
struct loop *hub_loop(struct hub *hub);
/* Makes the transport's tick and give-back part of the hub's loop (see
 * hub_tick_fn).  Before hub_run(). */
void hub_set_transport(struct hub *hub, hub_tick_fn *tick,
		       hub_give_back_fn *give_back, void *ctx);
void hub_stop(struct hub *hub);

/* issue 8: whether the transport may trust what it cached about sessions
 * (conn_fast.c).  True when every commit that returned before this call,
 * in any process, has been read by this hub: no local commit, notify poke
 * or session end waits to be looked at, the last store check succeeded,
 * and the watcher is exact (an inotify watch; PostgreSQL's NOTIFY is
 * not, so there it is always false).  *gen gets the sessions generation:
 * it changes whenever an event that may end or change a session (the
 * "user" event of a login, a logout, a reap) is read, or the database is
 * replaced; *last_id the newest event id the hub has.  !exact leaves the
 * notify descriptor out (no system call): for a first look that the
 * caller repeats with exact before it relies on the answer.  Hub thread
 * only. */
bool hub_sessions_current(struct hub *hub, bool exact, uint64_t *gen,
			  int64_t *last_id);
/* Whether the events after since are in the hub's ring, ids one after
 * the other up to the newest, and at most max of them: a poll with that
 * since needs neither a reset nor the store (hub_poll.c).  Hub thread. */
bool hub_poll_ring_follows(struct hub *hub, int64_t since, int64_t max);
/* The sessions generation now (as above), current or not.  Hub thread. */
uint64_t hub_sessions_gen(const struct hub *hub);

struct hub_stats {
	int sse_waiters;
	int poll_waiters;
	int sio_waiters;	   /* parked socket.io GETs */
	int64_t last_event_id;	   /* newest event the hub has seen */
	uint64_t events_delivered; /* event frames written to waiters */
	uint64_t waiters_dropped;  /* closed because they could not keep up */
};
void hub_get_stats(struct hub *hub, struct hub_stats *out);

#endif
