/* buf.h -- growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * A buf always keeps a NUL byte after its contents, so buf_str() is a valid
 * C string (the contents themselves may hold NUL bytes).  Every buf has a
 * cap fixed at buf_init(): an append that would pass it fails with
 * EC_TOO_LARGE and leaves the buffer as it was, so one oversized input can
 * never grow memory without bound.
 *
 *   struct buf b;
 *   buf_init(&b, 4096);
 *   if ((rc = buf_printf(&b, "id: %lld\n", id)) != EC_OK) goto out;
 *   ... buf_str(&b), b.len ...
 * out:
 *   buf_release(&b);
 *
 * Not thread-safe; owned by whoever called buf_init().
 */
#ifndef EMITCGI_BUF_H
#define EMITCGI_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "error.h"

struct buf {
	char *data;	/* NULL until the first append */
	size_t len;	/* bytes in use, not counting the trailing NUL */
	size_t cap;	/* bytes allocated */
	size_t max_len; /* the cap on len */
};

void buf_init(struct buf *b, size_t max_len);
/* Frees the memory; the buf may be used again (empty, same cap). */
void buf_release(struct buf *b);
/* Empties the buf but keeps its memory. */
void buf_reset(struct buf *b);

enum ecode buf_add(struct buf *b, const void *data, size_t len);
enum ecode buf_adds(struct buf *b, const char *s);
enum ecode buf_addc(struct buf *b, char c);
enum ecode buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
enum ecode buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Drops the first n bytes (n <= len), as after a partial write. */
void buf_consume(struct buf *b, size_t n);

/* The contents as a C string; "" for an empty buf.  Borrowed. */
const char *buf_str(const struct buf *b);

/* Hands the memory to the caller (free() it); the buf is left empty.
 * Returns NULL (and *len = 0) for an empty buf. */
char *buf_detach(struct buf *b, size_t *len);

#endif
