/* hub.h -- parked waiters (SSE streams and long-polls) and event delivery.
 *
 * A request that must wait (GET /events, GET /poll with nothing pending) is
 * not given a thread.  The accepting thread writes what it can at once (for
 * SSE: headers, retry, snapshot or replay), detaches the connection from
 * libfcgi and parks it here with hub_park().  From then on the hub, one
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
	int64_t sio_id;	     /* HUB_SIO: its row (store_sio) */
};

enum ecode hub_new(const struct hub_options *opts, struct hub **out);
/* Closes every waiter still parked (ending their requests) and frees. */
void hub_free(struct hub *hub);

/* Parks a waiter.  On EC_OK the hub owns spec->fd (and in_fd) and will
 * close it.  On error (EC_TOO_MANY_WAITERS, EC_UNAVAILABLE when stopping,
 * EC_NOMEM) the caller still owns them. */
enum ecode hub_park(struct hub *hub, const struct hub_waiter_spec *spec);

/* False when max_waiters are parked: the caller answers 503 instead. */
bool hub_has_room(struct hub *hub);

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
 * answered with the events it has (maybe none). */
enum ecode hub_run(struct hub *hub);
void hub_stop(struct hub *hub);

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
