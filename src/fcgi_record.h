/* fcgi_record.h -- FastCGI records for parked connections (pure).
 *
 * Once a request is parked in the hub, libfcgi no longer owns its
 * connection: the hub writes the FCGI_STDOUT and FCGI_END_REQUEST records
 * itself and reads whatever the web server still sends (in practice an
 * FCGI_ABORT_REQUEST when the browser goes away).  This module is the
 * record layer for that, after OpenBSD slowcgi: building headers, and a
 * parser that only looks at bytes and returns how many one whole record
 * took, so it is trivial to fuzz.  The layouts are those of <fastcgi.h>
 * (FastCGI Specification 1.0, section 3.3).
 *
 *   FCGI_Header h;
 *   unsigned pad = fcgi_record_header(&h, FCGI_STDOUT, id, len);
 *   writev: &h (8), data (len), fcgi_record_zeros (pad)
 *
 *   fcgi_record_append_stdout(&out, id, data, len);  // split + padded
 *   fcgi_record_append_end(&out, id);  // empty STDOUT + END_REQUEST
 *
 *   struct fcgi_record rec;
 *   long n = fcgi_record_parse(p, len, &rec);  // >0 used, 0 more, -1 bad
 *
 *   fcgi_record_feed(&tail, bytes, n, fn, ctx); // chunked input, see below
 *
 * Invariants: every record built here has content_len <= 65535 and a total
 * length that is a multiple of 8; fcgi_record_parse() never reads past len
 * and, when it returns n > 0, n == 8 + content_len + padding_len <= len.
 *
 * To extend: a new record type to act on is a case in the caller's
 * fcgi_record_fn (the hub's); the parser does not care about types.
 */
#ifndef EMITCGI_FCGI_RECORD_H
#define EMITCGI_FCGI_RECORD_H

#include <fastcgi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* Content bytes one record can carry (FastCGI's 16-bit length). */
#define FCGI_RECORD_CONTENT_MAX 65535u
/* The largest record on the wire: header, content, 255 bytes of padding. */
#define FCGI_RECORD_MAX_BYTES (FCGI_HEADER_LEN + 65535u + 255u)
/* An empty FCGI_STDOUT record followed by FCGI_END_REQUEST. */
#define FCGI_RECORD_END_BYTES (FCGI_HEADER_LEN + sizeof(FCGI_EndRequestRecord))

/* Eight zero bytes: the source of padding for writev(). */
extern const unsigned char fcgi_record_zeros[8];

/* Padding that brings content_len to a multiple of 8 (0..7). */
unsigned fcgi_record_padding(size_t content_len);

/* Fills *h for a record of `type` carrying content_len bytes (must be
 * <= FCGI_RECORD_CONTENT_MAX) padded to a multiple of 8; returns the
 * padding length. */
unsigned fcgi_record_header(FCGI_Header *h, unsigned type, uint16_t request_id,
			    size_t content_len);

/* Fills an FCGI_END_REQUEST record. */
void fcgi_record_end_request(FCGI_EndRequestRecord *r, uint16_t request_id,
			     uint32_t app_status, unsigned protocol_status);

/* Writes the end of a request to out: an empty FCGI_STDOUT (end of stream)
 * and FCGI_END_REQUEST with appStatus 0, FCGI_REQUEST_COMPLETE. */
void fcgi_record_end(unsigned char out[FCGI_RECORD_END_BYTES],
		     uint16_t request_id);

/* Appends data as FCGI_STDOUT records of at most 65535 content bytes, each
 * padded to a multiple of 8.  len 0 appends nothing (an empty STDOUT record
 * means end of stream: use fcgi_record_end()).  On error (EC_TOO_LARGE at
 * the buf's cap, EC_NOMEM) out is left as it was. */
enum ecode fcgi_record_append_stdout(struct buf *out, uint16_t request_id,
				     const void *data, size_t len);
/* Appends fcgi_record_end()'s bytes.  On error out is left as it was. */
enum ecode fcgi_record_append_end(struct buf *out, uint16_t request_id);

/* One parsed record; content points into the parsed bytes. */
struct fcgi_record {
	unsigned type;
	uint16_t request_id;
	uint16_t content_len;
	uint8_t padding_len;
	const unsigned char *content;
};

/* Parses the record at the start of data[0..len).  Returns the bytes it
 * takes (header + content + padding) when all of them are there, 0 when
 * more bytes are needed, -1 on a protocol error (version other than
 * FCGI_VERSION_1, or type 0).  Types it does not know are returned as
 * they are: the caller ignores them. */
long fcgi_record_parse(const void *data, size_t len, struct fcgi_record *rec);

/* Called per whole record by fcgi_record_feed(); return false to stop. */
typedef bool fcgi_record_fn(void *ctx, const struct fcgi_record *rec);

/* Feeds bytes read from a connection, in whatever pieces they came: calls
 * fn for each complete record, in order, and keeps an incomplete tail in
 * *tail (a buf allocated on first need, capped at FCGI_RECORD_MAX_BYTES;
 * NULL while nothing is held; free with fcgi_record_tail_free()).
 * Returns EC_OK (also when fn stopped: the bytes after that record are
 * dropped, the caller is ending the connection), EC_INVALID_PARAM on a
 * protocol error, EC_NOMEM.  After an error the connection is unusable. */
enum ecode fcgi_record_feed(struct buf **tail, const void *data, size_t len,
			    fcgi_record_fn *fn, void *ctx);
void fcgi_record_tail_free(struct buf **tail);

/* ---- the client side (the benchmark client, tests/bench/) ----
 *
 * A web server's half of the protocol: records it sends to a FastCGI
 * application.  Same rules as above: pure, capped by the buf, and on error
 * out is left as it was.
 *
 *   fcgi_record_append_begin(&out, 1, FCGI_RESPONDER, 0);
 *   fcgi_record_append_param(&params, "REQUEST_METHOD", 14, "GET", 3);
 *   fcgi_record_append(&out, FCGI_PARAMS, 1, params.data, params.len);
 *   fcgi_record_append(&out, FCGI_PARAMS, 1, NULL, 0);  // end of params
 */

/* Appends one record of `type` carrying data[0..len), padded to a multiple
 * of 8.  len 0 appends the empty record that ends a stream (data may then
 * be NULL).  EC_TOO_LARGE when len > FCGI_RECORD_CONTENT_MAX or at the
 * buf's cap, EC_NOMEM. */
enum ecode fcgi_record_append(struct buf *out, unsigned type,
			      uint16_t request_id, const void *data,
			      size_t len);

/* Appends FCGI_BEGIN_REQUEST with role (FCGI_RESPONDER, ...) and flags
 * (FCGI_KEEP_CONN or 0). */
enum ecode fcgi_record_append_begin(struct buf *out, uint16_t request_id,
				    unsigned role, unsigned flags);

/* Appends one name-value pair, the content of FCGI_PARAMS (FastCGI 1.0,
 * section 3.4): each length in one byte when below 128, else in four with
 * the top bit set.  EC_TOO_LARGE for a length over 0x7fffffff or at the
 * buf's cap.  The caller splits the pairs into records of at most
 * FCGI_RECORD_CONTENT_MAX bytes. */
enum ecode fcgi_record_append_param(struct buf *out, const char *name,
				    size_t name_len, const char *value,
				    size_t value_len);

#endif
