/* hub_int.h -- what hub.c shares with its delivery policies (hub_sse.c,
 * hub_poll.c): the waiter, the hub, and the policy table.  Not for any
 * other module: the rest of the program sees hub.h only.
 *
 * The hub decides, sinks write (Redis: blocked.c decides who wakes,
 * networking.c writes bytes).  hub.c owns the waiters' lifetime, the
 * cross-thread queue, the store check and the loop; a policy (one const
 * struct hub_policy per enum hub_kind) owns what a kind of waiter is sent
 * and when: events, heartbeats, its own deadlines.  Both reach the
 * connection only through sink.h, and both hand every sink status to
 * hub_waiter_status(), which is the only place a sink's report turns into
 * a close, a drop or a wait for EPOLLOUT.
 *
 * To add a kind of waiter (a socket.io poll, say): a value of enum
 * hub_kind in hub.h, a file hub_<kind>.c with one struct hub_policy, its
 * line in hub_policies[] (hub_waiter.c) and HUB_KINDS.  A new kind of
 * connection is a sink (sink.h), not a policy.
 */
#ifndef EMITCGI_HUB_INT_H
#define EMITCGI_HUB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "event_ring.h"
#include "hub.h"
#include "list.h"
#include "loop.h"
#include "sink.h"

#define HUB_KINDS 3		      /* values of enum hub_kind */
#define HUB_POLL_BODY_SOFT (1u << 20) /* a poll answer stops growing here */
#define HUB_POLL_BODY_MAX (HUB_POLL_BODY_SOFT + 2 * EVENT_RING_EVENT_MAX)

enum hub_waiter_state {
	HUB_WAITER_QUEUED,
	HUB_WAITER_PARKED,
	HUB_WAITER_CLOSING,
	HUB_WAITER_DEAD,
};

#define HUB_WAITER_NOEPOLL 1u	  /* fd is a regular file: never waits */
#define HUB_WAITER_HAS_IN 2u	  /* a struct hub_waiter_raw watching in_fd */
#define HUB_WAITER_KEEP 4u	  /* FCGI_KEEP_CONN: fd goes back when done */
#define HUB_WAITER_STALLED 8u	  /* SSE: bytes were pending at the last ping */
#define HUB_WAITER_REGISTERED 16u /* fd already in the loop: take it over */
#define HUB_WAITER_SIO_DONE 32u	  /* HUB_SIO: answered (else leaving closes) */
#define HUB_WAITER_SIO_DUE 64u	  /* HUB_SIO: on hub->sio_due (t.ping) */
#define HUB_WAITER_POLL_FIFO 128u /* HUB_POLL: on hub->poll_fifo (t.ping) */

struct waiter {
	struct sink sink; /* first: the fd, pending bytes */
	struct list link; /* queue, parked[kind], closing or dead */
	union {
		struct list ping; /* SSE: the heartbeat FIFO; SIO: sio_due */
		size_t heap_idx;  /* POLL: place in the timeout heap */
	} t;
	int64_t cursor;
	int64_t session_id;
	int64_t user_id;     /* 0: not counted per user */
	int64_t deadline_ms; /* SSE: next ping; POLL: timeout; CLOSING: end */
	int64_t end_ms;	     /* SSE: stream_max; QUEUED: the poll timeout */
	int64_t sio_id;	     /* HUB_SIO: the session's row */
	uint8_t kind;	     /* enum hub_kind */
	uint8_t state;	     /* enum hub_waiter_state */
	uint8_t flags;
};

/* Plain CGI: the waiter also watches stdin for a hang-up. */
struct hub_waiter_raw {
	struct waiter w;
	struct loop_io in_io;
};

struct hub_count {
	int64_t key; /* 0: free */
	int n;
};

struct hub {
	struct hub_options opts;
	char *db_path;
	struct loop *loop;
	struct store *store;
	struct notify *notify;
	struct loop_waker wake; /* park, commit, stop */
	struct loop_io notify_io;

	/* Shared with other threads. */
	pthread_mutex_t mu;
	struct list queue; /* QUEUED waiters */
	bool stopping;	   /* under mu: hub_park() refuses */
	int64_t *ended;	   /* under mu: hub_end_sessions() ids */
	size_t n_ended, cap_ended;
	atomic_bool ended_req;
	atomic_int n_waiters; /* queued, parked and closing */
	/* under mu: waiters per session (key 2*id) and per user (2*id+1),
	 * open addressing, capacity a power of two (hub.c hub_count_*) */
	struct hub_count *counts;
	size_t counts_mask;
	atomic_bool queued, committed, stop_req;
	atomic_int st_parked[HUB_KINDS];
	_Atomic int64_t st_last_id;
	_Atomic uint64_t st_delivered, st_dropped;

	/* Hub thread only. */
	struct list parked[HUB_KINDS]; /* PARKED, in park order */
	struct list closing, dead;
	struct list sse_pings;	   /* hub_sse.c: next heartbeat first */
	struct waiter **poll_heap; /* hub_poll.c: earliest timeout first */
	struct list poll_fifo;	   /* hub_poll.c: the same, in park order */
	size_t poll_heap_len, poll_heap_cap;
	struct event_ring ring;
	bool check_now;
	bool retry_pump; /* a catch-up failed on a store error */
	bool stop_begun;
	int64_t stop_deadline_ms;
	int64_t next_check_ms, next_touch_ms;
	int64_t *touch_ids;
	size_t touch_cap;
	struct buf body;      /* scratch: one poll answer */
	bool transport_busy;  /* opts.tick: requests still in hand */
	uint64_t checks;      /* store checks so far (hub_check) */
	uint64_t sio_checked; /* hub_sio.c: checks when it last looked */
	bool sio_recheck;     /* hub_sio.c: look at the queues now */
	struct list sio_due;  /* hub_sio.c: GETs to answer this tick */
	/* issue 8: hub_sessions_current().  Bumped for every "user" event
	 * read (a login, logout, reap: a session began or ended) and when
	 * the database was replaced; check_ok: the last store check read
	 * up to the newest id. */
	uint64_t sessions_gen;
	bool check_ok;
};

/* What a kind of waiter is sent, and when.  Every hook runs on the hub
 * thread; hooks never free a waiter (hub_waiter_close() defers it). */
struct hub_policy {
	const char *name;
	/* Adopted: start its timers (w->end_ms holds the spec's timeout
	 * until here).  An error fails the park (the request is closed). */
	enum ecode (*adopt)(struct hub *hub, struct waiter *w, int64_t now);
	/* Leaving PARKED: out of its timers. */
	void (*unpark)(struct hub *hub, struct waiter *w);
	/* The hub knows events after w's cursor and w has nothing pending:
	 * send what it lacks. */
	void (*pump)(struct hub *hub, struct waiter *w);
	/* End it now (stop, session ended, database replaced): with the
	 * events it has unless !with_events. */
	void (*end)(struct hub *hub, struct waiter *w, bool with_events);
	/* Runs what is due at now: heartbeats, stream ends, timeouts. */
	void (*timers)(struct hub *hub, int64_t now);
	/* The earliest deadline of this kind, INT64_MAX if none. */
	int64_t (*next_due)(const struct hub *hub);
};

extern const struct hub_policy hub_sse_policy;
extern const struct hub_policy hub_poll_policy;
extern const struct hub_policy hub_sio_policy;

/* hub.c, for the policies. */
/* Acts on a sink's status: SINK_PENDING waits for EPOLLOUT, SINK_FULL
 * drops, SINK_BROKEN closes.  True while w is still alive. */
bool hub_waiter_status(struct hub *hub, struct waiter *w, enum sink_status st);
/* Sends data (if len) and the end of the response (if end) in one write. */
void hub_waiter_send(struct hub *hub, struct waiter *w, const void *data,
		     size_t len, bool end);
/* Ends the request cleanly (SSE: the client reconnects with its id). */
void hub_waiter_end(struct hub *hub, struct waiter *w);
/* The request's last bytes are written or queued: close when they are
 * out, HUB_CLOSE_MS at most. */
void hub_waiter_finish(struct hub *hub, struct waiter *w);
/* The request ended cleanly and its last bytes are out: the fd goes back
 * to the transport (FCGI_KEEP_CONN) or is closed. */
void hub_waiter_done(struct hub *hub, struct waiter *w);
/* Closes the connection at once, without another byte; frees later. */
void hub_waiter_close(struct hub *hub, struct waiter *w);

/* hub_caps.c: waiters per session and per user (issue 9); under hub->mu. */
bool hub_count_room(struct hub *hub, int64_t session_id, int64_t user_id);
void hub_count_claim(struct hub *hub, const struct waiter *w);
void hub_count_release(struct hub *hub, const struct waiter *w);

/* hub_waiter.c: the policy of w's kind, and the steps of its life that
 * hub.c drives (see hub_waiter.c). */
extern const struct hub_policy *const hub_policies[HUB_KINDS];
const struct hub_policy *hub_policy(const struct waiter *w);
void hub_waiter_unpark(struct hub *hub, struct waiter *w);
void hub_waiter_free(struct waiter *w);
void hub_waiter_want_out(struct hub *hub, struct waiter *w, bool want);
void hub_waiter_drain(struct hub *hub, struct waiter *w);
void hub_waiter_pump(struct hub *hub, struct waiter *w);

#endif
