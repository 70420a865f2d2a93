/* sink.h -- how the hub's bytes reach a parked client: one interface,
 * one const table per kind of connection (nchan's subscribers, curl's
 * vtls backends).
 *
 * Owns: a parked connection's file descriptor(s), the framing of its
 * bytes, the write calls, the bytes a partial write leaves (capped at
 * SINK_PENDING_MAX), and what the web server sends back.  The hub owns
 * everything else: which bytes to send, when, and the waiter's lifetime.
 *
 *   struct sink s;  sink_init(&s, SINK_FCGI, fd, request_id, on_io);
 *   sink_open(&s);                      // non-blocking; SINK_BROKEN if not
 *   struct sink_batch b;  sink_batch_init(&b, &s);
 *   sink_deliver(&b, bytes, len, hold); // framed: FCGI_STDOUT records, ...
 *   sink_end(&b);                       // the end of the response
 *   sink_flush(&b);                     // one sendmsg() for the lot
 *   sink_drain(&s);                     // on EPOLLOUT: the pending bytes
 *   sink_input(&s);                     // on EPOLLIN: read, tell aborts
 *   sink_close(&s);  sink_free(&s);
 *
 * Every call returns a status and does nothing else to the waiter: a sink
 * never closes, frees or ends anything on its own.  SINK_OK: nothing
 * pending.  SINK_PENDING: bytes wait for EPOLLOUT (the hub asks for it and
 * sends nothing new until sink_drain() says SINK_OK).  SINK_FULL: the
 * pending bytes passed SINK_PENDING_MAX (or memory ran out): the hub drops
 * the waiter.  SINK_BROKEN: the peer is gone, or broke the protocol: the
 * hub closes it.  SINK_ABORTED (sink_input only): the web server aborted
 * the request: the hub ends it cleanly.  After sink_close() every call is
 * SINK_BROKEN and does no I/O.
 *
 * A batch points at the caller's bytes (zero-copy); a caller whose bytes
 * must outlive the call hands over one reference in a struct sink_hold,
 * which the sink releases once the bytes are written or copied.
 *
 * May call: fcgi_record.h, buf.h, log.h, and the socket calls (sendmsg,
 * writev, read, fcntl): this is where they live, in sink_*.c only.
 *
 * To add a kind of connection (a WebSocket, say): a value of enum
 * sink_kind, a file sink_<kind>.c filling one struct sink_ops (its epoll
 * events, how it frames bytes, how it ends a response, what it reads),
 * and its line in sink_io.c's table.  The hub does not change.
 */
#ifndef EMITCGI_SINK_H
#define EMITCGI_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "buf.h"
#include "loop.h"

#define SINK_PENDING_MAX (1u << 20) /* unsent bytes per sink */
#define SINK_BATCH_IOV 64	    /* iovecs per write */
#define SINK_BATCH_HOLDS 20	    /* held payloads per write */
#define SINK_BATCH_FRAME 184	    /* framing bytes per write */

enum sink_status {
	SINK_OK,      /* written, nothing pending */
	SINK_PENDING, /* bytes wait for EPOLLOUT */
	SINK_FULL,    /* pending past SINK_PENDING_MAX: drop the waiter */
	SINK_BROKEN,  /* peer gone or protocol error: close the waiter */
	SINK_ABORTED, /* sink_input(): the request was aborted: end it */
};

enum sink_kind {
	SINK_FCGI, /* a FastCGI connection: FCGI_STDOUT records */
	SINK_RAW,  /* CGI stdout: the bytes as they are */
	SINK_KINDS
};

#define SINK_F_NOSOCK 1u /* fd is not a socket: writev(), not sendmsg() */
#define SINK_F_CLOSED 2u /* sink_close() was called */

struct sink {
	struct loop_io io; /* the fd; the hub registers it with the loop */
	struct buf *out;   /* unsent bytes, NULL when none */
	struct buf *in;	   /* FastCGI: a partial record, NULL when none */
	uint16_t request_id;
	uint8_t kind;
	uint8_t flags;
};

/* One reference to whatever owns a payload's bytes; release(owner) is
 * called once, when the sink no longer points at them.  release may be
 * NULL: the bytes live at least until sink_flush(). */
typedef void sink_release_fn(void *owner);
struct sink_hold {
	sink_release_fn *release;
	void *owner;
};

/* No reference to release: the bytes outlive the batch. */
#define SINK_NO_HOLD ((struct sink_hold){ NULL, NULL })

/* Bytes for one sink gathered into one write, on the caller's stack. */
struct sink_batch {
	struct sink *s;
	int niov, nholds;
	size_t nframe;
	struct sink_hold holds[SINK_BATCH_HOLDS];
	unsigned char frame[SINK_BATCH_FRAME];
	struct iovec iov[SINK_BATCH_IOV];
};

/* One table per kind of sink (sink_fcgi.c, sink_raw.c). */
struct sink_ops {
	const char *name;
	/* Epoll events to watch while parked, besides EPOLLOUT. */
	uint32_t events;
	/* Iovecs and framing bytes that len payload bytes take in a batch;
	 * false if more than any batch holds (the bytes are copied). */
	bool (*frame_size)(size_t len, int *niov, size_t *nframe);
	/* Appends the payload, framed, to a batch that has room. */
	void (*frame)(struct sink_batch *b, const void *data, size_t len);
	/* Appends the payload, framed, to the pending buffer. */
	enum ecode (*frame_copy)(struct sink *s, const void *data, size_t len);
	/* Writes the end of a response into out[SINK_END_MAX]; its
	 * length, 0 when the response ends by closing. */
	size_t (*end)(struct sink *s, unsigned char *out);
	/* The fd is readable: SINK_OK, SINK_ABORTED or SINK_BROKEN. */
	enum sink_status (*input)(struct sink *s);
};
#define SINK_END_MAX 24

extern const struct sink_ops sink_fcgi_ops;
extern const struct sink_ops sink_raw_ops;

/* Indexed by enum sink_kind (sink_io.c). */
extern const struct sink_ops *const sink_kinds[SINK_KINDS];

static inline const struct sink_ops *sink_ops(const struct sink *s)
{
	return sink_kinds[s->kind];
}

static inline bool sink_pending(const struct sink *s)
{
	return s->out != NULL;
}

static inline uint32_t sink_events(const struct sink *s)
{
	return sink_ops(s)->events;
}

void sink_init(struct sink *s, enum sink_kind kind, int fd, uint16_t request_id,
	       loop_io_fn *on_io);
/* Makes the fd non-blocking: SINK_OK or SINK_BROKEN (logged). */
enum sink_status sink_open(struct sink *s);
/* Closes the fd (not the loop registration: stop that first). */
void sink_close(struct sink *s);
/* Lets go of the fd without closing it (FCGI_KEEP_CONN: the transport
 * takes it back); the sink is closed from then on.  Returns the fd. */
int sink_detach(struct sink *s);
/* Queues bytes before anything is written (framed as the sink frames a
 * payload): the head a transport wrote for the request.  SINK_PENDING,
 * or SINK_FULL when they cannot be held. */
enum sink_status sink_preload(struct sink *s, const void *data, size_t len);
/* Frees what the sink allocated (after sink_close()). */
void sink_free(struct sink *s);

void sink_batch_init(struct sink_batch *b, struct sink *s);
/* Adds len payload bytes, framed as the sink frames them. */
enum sink_status sink_deliver(struct sink_batch *b, const void *data,
			      size_t len, struct sink_hold hold);
/* Adds the end of the response (nothing for a sink that ends by
 * closing). */
enum sink_status sink_end(struct sink_batch *b);
/* Writes the batch; copies what the fd did not take.  Always releases
 * the batch's holds. */
enum sink_status sink_flush(struct sink_batch *b);
/* Writes pending bytes (EPOLLOUT). */
enum sink_status sink_drain(struct sink *s);
/* Reads what the peer sent (EPOLLIN). */
enum sink_status sink_input(struct sink *s);

/* For sink_*.c: adds one iovec to a batch (room checked by frame_size)
 * and takes n framing bytes of the batch's scratch. */
void sink_batch_iov(struct sink_batch *b, const void *base, size_t len);
void *sink_batch_scratch(struct sink_batch *b, size_t n);

/* Plain CGI: is stdin worth watching for a hang-up?  Only a socket tells
 * one (a pipe whose writer closed after the body reports EPOLLHUP at
 * once, a file never does). */
bool sink_raw_watch_hangup(int in_fd);
/* Closes a file descriptor the hub was given besides the sink's. */
void sink_raw_close_fd(int fd);

#endif
