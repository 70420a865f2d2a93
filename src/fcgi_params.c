/* fcgi_params.c -- FastCGI name-value pairs (see fcgi_params.h).
 *
 * Pure: the parser only looks at bytes; fcgi_params_env() makes one
 * allocation holding the pointer array and the strings, so a request's
 * environment is freed with one free().
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_params.h"

/* One length: 1 byte below 128, else 4 bytes, high bit set.  Returns the
 * bytes taken, 0 when data runs out. */
static size_t fcgi_params_len(const unsigned char *p, size_t avail, size_t *out)
{
	if (avail < 1)
		return 0;
	if (!(p[0] & 0x80)) {
		*out = p[0];
		return 1;
	}
	if (avail < 4)
		return 0;
	*out = ((size_t)(p[0] & 0x7f) << 24) | ((size_t)p[1] << 16) |
	       ((size_t)p[2] << 8) | p[3];
	return 4;
}

enum ecode fcgi_params_parse(const void *data, size_t len, fcgi_params_fn *fn,
			     void *ctx)
{
	const unsigned char *p = data;
	size_t off = 0;

	while (off < len) {
		size_t nl, vl, a, b;

		if (!(a = fcgi_params_len(p + off, len - off, &nl)) ||
		    !(b = fcgi_params_len(p + off + a, len - off - a, &vl)))
			return EC_INVALID_PARAM;
		off += a + b;
		if (nl > len - off || vl > len - off - nl || nl == 0)
			return EC_INVALID_PARAM;
		if (memchr(p + off, '=', nl) || memchr(p + off, '\0', nl))
			return EC_INVALID_PARAM;
		if (!fn(ctx, (const char *)p + off, nl,
			(const char *)p + off + nl, vl))
			return EC_OK;
		off += nl + vl;
	}
	return EC_OK;
}

struct fcgi_params_fill {
	struct fcgi_params_env *env;
	char *strings; /* where the next string goes; NULL: count only */
	size_t n, bytes;
};

static bool fcgi_params_fill_one(void *ctx, const char *name, size_t name_len,
				 const char *value, size_t value_len)
{
	struct fcgi_params_fill *f = ctx;

	if (f->strings) {
		char *s = f->strings;

		memcpy(s, name, name_len);
		s[name_len] = '=';
		memcpy(s + name_len + 1, value, value_len);
		s[name_len + 1 + value_len] = '\0';
		f->env->envp[f->n] = s;
		f->strings += name_len + value_len + 2;
	}
	f->n++;
	f->bytes += name_len + value_len + 2;
	return true;
}

enum ecode fcgi_params_env(const void *data, size_t len,
			   struct fcgi_params_env *env)
{
	struct fcgi_params_fill f = { .env = env };
	enum ecode rc;
	char *mem;

	env->envp = NULL;
	env->n = 0;
	if ((rc = fcgi_params_parse(data, len, fcgi_params_fill_one, &f)) !=
	    EC_OK)
		return rc;
	mem = malloc((f.n + 1) * sizeof(char *) + f.bytes);
	if (!mem)
		return EC_NOMEM;
	env->envp = (char **)(void *)mem;
	f.strings = mem + (f.n + 1) * sizeof(char *);
	f.n = f.bytes = 0;
	/* The same bytes again: cannot fail now. */
	(void)fcgi_params_parse(data, len, fcgi_params_fill_one, &f);
	env->envp[f.n] = NULL;
	env->n = f.n;
	return EC_OK;
}

void fcgi_params_env_free(struct fcgi_params_env *env)
{
	free(env->envp);
	env->envp = NULL;
	env->n = 0;
}

static enum ecode fcgi_params_add_len(struct buf *out, size_t n)
{
	unsigned char b[4];

	if (n < 128) {
		b[0] = (unsigned char)n;
		return buf_add(out, b, 1);
	}
	if (n > 0x7fffffffu)
		return EC_TOO_LARGE;
	b[0] = (unsigned char)(0x80 | (n >> 24));
	b[1] = (unsigned char)(n >> 16);
	b[2] = (unsigned char)(n >> 8);
	b[3] = (unsigned char)n;
	return buf_add(out, b, 4);
}

enum ecode fcgi_params_append(struct buf *out, const char *name,
			      const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), old = out->len;
	enum ecode rc;

	if ((rc = fcgi_params_add_len(out, nl)) != EC_OK ||
	    (rc = fcgi_params_add_len(out, vl)) != EC_OK ||
	    (rc = buf_add(out, name, nl)) != EC_OK ||
	    (rc = buf_add(out, value, vl)) != EC_OK) {
		if (out->data) {
			out->len = old;
			out->data[old] = '\0';
		}
	}
	return rc;
}
