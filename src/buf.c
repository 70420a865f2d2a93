/* buf.c -- growable, capped byte buffer (see buf.h). */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUF_MIN_ALLOC 64

void buf_init(struct buf *b, size_t max_len)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max_len = max_len;
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Makes room for `extra` more bytes plus the NUL. */
static enum ecode buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max_len - b->len)
		return EC_TOO_LARGE;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return EC_OK;
	cap = b->cap ? b->cap : BUF_MIN_ALLOC;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	if (cap > b->max_len + 1)
		cap = b->max_len + 1;
	p = realloc(b->data, cap);
	if (!p)
		return EC_NOMEM;
	b->data = p;
	b->cap = cap;
	return EC_OK;
}

enum ecode buf_add(struct buf *b, const void *data, size_t len)
{
	enum ecode rc = buf_grow(b, len);

	if (rc != EC_OK)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return EC_OK;
}

enum ecode buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum ecode buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

enum ecode buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;
	enum ecode rc;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0)
		return EC_INTERNAL;
	rc = buf_grow(b, (size_t)n);
	if (rc != EC_OK)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return EC_OK;
}

enum ecode buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	enum ecode rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
