/* sink_fcgi.c -- a parked FastCGI connection (see sink.h).
 *
 * Owns: the framing of a response on a connection libfcgi let go of.
 * Payload goes out as FCGI_STDOUT records of the sink's request id (at
 * most FCGI_RECORD_CONTENT_MAX bytes each, padded to a multiple of 8: an
 * 8-byte header in the batch's scratch, the payload where it is, the
 * padding from fcgi_record_zeros); a response ends with an empty
 * FCGI_STDOUT and FCGI_END_REQUEST.  Reading: the web server may still
 * send records; they are cut with fcgi_record_feed() (at most one partial
 * record kept, allocated only when one is split).  FCGI_STDIN and
 * FCGI_PARAMS leftovers and anything else are ignored; FCGI_ABORT_REQUEST
 * for our request id is SINK_ABORTED; EOF, a read error or a protocol
 * error is SINK_BROKEN.
 *
 * May call: fcgi_record.h, sink_io.c's helpers, read().  To extend: a new
 * record type to act on is a case in sink_fcgi_on_record() and, if the
 * hub must act, a status.
 */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fcgi_record.h"
#include "log.h"
#include "sink.h"

#define SINK_FCGI_BATCH_RECORDS 20 /* FCGI_STDOUT records per write */
#define SINK_FCGI_READ_BYTES 16384 /* one read from the connection */

static size_t sink_fcgi_records(size_t len)
{
	return (len + FCGI_RECORD_CONTENT_MAX - 1) / FCGI_RECORD_CONTENT_MAX;
}

static bool sink_fcgi_frame_size(size_t len, int *niov, size_t *nframe)
{
	size_t records = sink_fcgi_records(len);

	*niov = 3 * (int)records;
	*nframe = records * sizeof(FCGI_Header);
	return records <= SINK_FCGI_BATCH_RECORDS && *niov <= SINK_BATCH_IOV;
}

static void sink_fcgi_frame(struct sink_batch *b, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		size_t n = len < FCGI_RECORD_CONTENT_MAX
				   ? len
				   : FCGI_RECORD_CONTENT_MAX;
		FCGI_Header *h = sink_batch_scratch(b, sizeof(*h));
		unsigned pad =
			fcgi_record_header(h, FCGI_STDOUT, b->s->request_id, n);

		sink_batch_iov(b, h, sizeof(*h));
		sink_batch_iov(b, p, n);
		if (pad)
			sink_batch_iov(b, fcgi_record_zeros, pad);
		p += n;
		len -= n;
	}
}

static enum ecode sink_fcgi_frame_copy(struct sink *s, const void *data,
				       size_t len)
{
	return fcgi_record_append_stdout(s->out, s->request_id, data, len);
}

static size_t sink_fcgi_end(struct sink *s, unsigned char *out)
{
	_Static_assert(FCGI_RECORD_END_BYTES <= SINK_END_MAX,
		       "SINK_END_MAX holds an END_REQUEST");
	fcgi_record_end(out, s->request_id);
	return FCGI_RECORD_END_BYTES;
}

struct sink_fcgi_read {
	uint16_t request_id;
	bool abort;
};

static bool sink_fcgi_on_record(void *ctx, const struct fcgi_record *rec)
{
	struct sink_fcgi_read *c = ctx;

	/* FCGI_STDIN and FCGI_PARAMS leftovers and anything else are not
	 * ours to answer: only an abort of our request matters. */
	if (rec->type == FCGI_ABORT_REQUEST &&
	    rec->request_id == c->request_id) {
		c->abort = true;
		return false;
	}
	return true;
}

static enum sink_status sink_fcgi_input(struct sink *s)
{
	struct sink_fcgi_read c = { .request_id = s->request_id };
	char buf[SINK_FCGI_READ_BYTES];
	ssize_t n;

	do
		n = read(s->io.fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return SINK_OK;
	if (n <= 0)
		return SINK_BROKEN;
	if (fcgi_record_feed(&s->in, buf, (size_t)n, sink_fcgi_on_record, &c) !=
	    EC_OK) {
		log_info("hub: FastCGI protocol error on a parked connection");
		return SINK_BROKEN;
	}
	return c.abort ? SINK_ABORTED : SINK_OK;
}

const struct sink_ops sink_fcgi_ops = {
	.name = "fcgi",
	.events = EPOLLIN | EPOLLRDHUP,
	.frame_size = sink_fcgi_frame_size,
	.frame = sink_fcgi_frame,
	.frame_copy = sink_fcgi_frame_copy,
	.end = sink_fcgi_end,
	.input = sink_fcgi_input,
};
