/* sink_io.c -- what every sink shares (see sink.h): the batch, the write
 * call, the pending buffer, opening and closing.
 *
 * A batch gathers the iovecs of one write: payloads are not copied, the
 * framing (FastCGI headers, an END_REQUEST) goes into the batch's own
 * scratch.  sink_flush() makes one sendmsg(MSG_NOSIGNAL | MSG_DONTWAIT)
 * (writev() on a pipe or a file, found out by ENOTSOCK) and copies only
 * what a partial write left into the sink's pending buffer.  While bytes
 * are pending, new bytes are copied behind them (framed), so order holds;
 * the hub sends nothing new until sink_drain() has emptied it.
 *
 * Invariants: a batch never holds more than SINK_BATCH_IOV iovecs,
 * SINK_BATCH_HOLDS held payloads and SINK_BATCH_FRAME framing bytes; a
 * payload larger than a batch is copied and written at once.  Payload
 * framing leaves SINK_END_MAX bytes of scratch for the end of a response.
 * The pending buffer never passes SINK_PENDING_MAX (SINK_FULL instead).
 * Nothing here closes or frees on its own: statuses go back to the hub.
 *
 * May call: buf.h, log.h, the kinds' tables, sendmsg/writev/fcntl/close.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcgi_record.h"
#include "log.h"
#include "sink.h"

const struct sink_ops *const sink_kinds[SINK_KINDS] = {
	[SINK_FCGI] = &sink_fcgi_ops,
	[SINK_RAW] = &sink_raw_ops,
};

void sink_init(struct sink *s, enum sink_kind kind, int fd, uint16_t request_id,
	       loop_io_fn *on_io)
{
	loop_io_init(&s->io, fd, on_io);
	s->out = s->in = NULL;
	s->request_id = request_id;
	s->kind = (uint8_t)kind;
	s->flags = 0;
}

enum sink_status sink_open(struct sink *s)
{
	int fl = fcntl(s->io.fd, F_GETFL);

	if (fl < 0 || (!(fl & O_NONBLOCK) &&
		       fcntl(s->io.fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
		log_warn("hub: fcntl: %s", strerror(errno));
		return SINK_BROKEN;
	}
	return SINK_OK;
}

void sink_close(struct sink *s)
{
	if (s->flags & SINK_F_CLOSED)
		return;
	if (close(s->io.fd) < 0)
		log_debug("hub: close: %s", strerror(errno));
	s->flags |= SINK_F_CLOSED;
}

int sink_detach(struct sink *s)
{
	s->flags |= SINK_F_CLOSED;
	return s->io.fd;
}

static void sink_out_free(struct sink *s)
{
	if (!s->out)
		return;
	buf_release(s->out);
	free(s->out);
	s->out = NULL;
}

void sink_free(struct sink *s)
{
	fcgi_record_tail_free(&s->in);
	sink_out_free(s);
}

static enum sink_status sink_state(const struct sink *s)
{
	if (s->flags & SINK_F_CLOSED)
		return SINK_BROKEN;
	return s->out ? SINK_PENDING : SINK_OK;
}

/* Bytes written (0 when the fd is full), -1 when the peer is gone. */
static ssize_t sink_writev(struct sink *s, struct iovec *iov, int n)
{
	ssize_t r;

	for (;;) {
		if (!(s->flags & SINK_F_NOSOCK)) {
			struct msghdr m = { .msg_iov = iov,
					    .msg_iovlen = (size_t)n };

			r = sendmsg(s->io.fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r < 0 && errno == ENOTSOCK) {
				s->flags |= SINK_F_NOSOCK;
				continue;
			}
		} else {
			r = writev(s->io.fd, iov, n);
		}
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		log_debug("hub: write: %s", strerror(errno));
		return -1;
	}
}

/* Copies bytes behind the pending ones (framed as the sink frames a
 * payload, or as they are).  SINK_PENDING, or SINK_FULL. */
static enum sink_status sink_queue(struct sink *s, const void *data, size_t len,
				   bool framed)
{
	enum ecode rc;

	if (!s->out) {
		s->out = malloc(sizeof(*s->out));
		if (!s->out) {
			rc = EC_NOMEM;
			goto full;
		}
		buf_init(s->out, SINK_PENDING_MAX);
	}
	rc = framed ? sink_ops(s)->frame_copy(s, data, len)
		    : buf_add(s->out, data, len);
	if (rc == EC_OK)
		return SINK_PENDING;
full:
	log_info("hub: a waiter cannot keep up (%s)", ecode_name(rc));
	return SINK_FULL;
}

enum sink_status sink_preload(struct sink *s, const void *data, size_t len)
{
	return sink_queue(s, data, len, true);
}

static void sink_release(struct sink_hold hold)
{
	if (hold.release)
		hold.release(hold.owner);
}

void sink_batch_init(struct sink_batch *b, struct sink *s)
{
	b->s = s;
	b->niov = b->nholds = 0;
	b->nframe = 0;
}

void sink_batch_iov(struct sink_batch *b, const void *base, size_t len)
{
	b->iov[b->niov++] = (struct iovec){ (void *)base, len };
}

void *sink_batch_scratch(struct sink_batch *b, size_t n)
{
	void *p = b->frame + b->nframe;

	b->nframe += n;
	return p;
}

static void sink_batch_release(struct sink_batch *b)
{
	for (int i = 0; i < b->nholds; i++)
		sink_release(b->holds[i]);
	b->niov = b->nholds = 0;
	b->nframe = 0;
}

enum sink_status sink_flush(struct sink_batch *b)
{
	struct sink *s = b->s;
	enum sink_status st;
	ssize_t n;
	int i;

	if (b->niov == 0 || (s->flags & SINK_F_CLOSED)) {
		st = sink_state(s);
		goto out;
	}
	n = sink_writev(s, b->iov, b->niov);
	if (n < 0) {
		st = SINK_BROKEN;
		goto out;
	}
	for (i = 0; i < b->niov && (size_t)n >= b->iov[i].iov_len; i++)
		n -= (ssize_t)b->iov[i].iov_len;
	st = SINK_OK;
	for (; i < b->niov; i++) {
		st = sink_queue(s, (char *)b->iov[i].iov_base + n,
				b->iov[i].iov_len - (size_t)n, false);
		if (st != SINK_PENDING)
			break;
		n = 0;
	}
out:
	sink_batch_release(b);
	return st;
}

enum sink_status sink_drain(struct sink *s)
{
	struct iovec iov;
	ssize_t n;

	if (!s->out || (s->flags & SINK_F_CLOSED))
		return sink_state(s);
	iov.iov_base = s->out->data;
	iov.iov_len = s->out->len;
	n = sink_writev(s, &iov, 1);
	if (n < 0)
		return SINK_BROKEN;
	buf_consume(s->out, (size_t)n);
	if (s->out->len > 0)
		return SINK_PENDING;
	sink_out_free(s);
	return SINK_OK;
}

enum sink_status sink_deliver(struct sink_batch *b, const void *data,
			      size_t len, struct sink_hold hold)
{
	const struct sink_ops *ops = sink_ops(b->s);
	struct sink *s = b->s;
	enum sink_status st;
	size_t nframe;
	int niov;

	if (len == 0 || (s->flags & SINK_F_CLOSED)) {
		sink_release(hold);
		return sink_state(s);
	}
	if (s->out) {
		sink_release(hold);
		return sink_queue(s, data, len, true);
	}
	if (!ops->frame_size(len, &niov, &nframe)) {
		/* Larger than any batch (a huge poll answer): copy. */
		st = sink_flush(b);
		if (st == SINK_OK || st == SINK_PENDING)
			st = sink_queue(s, data, len, true);
		sink_release(hold);
		return st == SINK_PENDING ? sink_drain(s) : st;
	}
	if (b->niov + niov > SINK_BATCH_IOV ||
	    b->nframe + nframe > SINK_BATCH_FRAME - SINK_END_MAX ||
	    (hold.release && b->nholds == SINK_BATCH_HOLDS)) {
		st = sink_flush(b);
		if (st != SINK_OK) {
			sink_release(hold);
			return st == SINK_PENDING
				       ? sink_queue(s, data, len, true)
				       : st;
		}
	}
	ops->frame(b, data, len);
	if (hold.release)
		b->holds[b->nholds++] = hold;
	return SINK_OK;
}

enum sink_status sink_end(struct sink_batch *b)
{
	struct sink *s = b->s;
	unsigned char end[SINK_END_MAX];
	size_t n = sink_ops(s)->end(s, end);
	enum sink_status st;

	if (n == 0 || (s->flags & SINK_F_CLOSED))
		return sink_state(s);
	if (s->out)
		return sink_queue(s, end, n, false);
	if (b->niov + 1 > SINK_BATCH_IOV || b->nframe + n > SINK_BATCH_FRAME) {
		st = sink_flush(b);
		if (st != SINK_OK)
			return st == SINK_PENDING ? sink_queue(s, end, n, false)
						  : st;
	}
	sink_batch_iov(b, memcpy(sink_batch_scratch(b, n), end, n), n);
	return SINK_OK;
}

enum sink_status sink_input(struct sink *s)
{
	if (s->flags & SINK_F_CLOSED)
		return SINK_BROKEN;
	return sink_ops(s)->input(s);
}
