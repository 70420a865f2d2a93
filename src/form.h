/* form.h -- application/x-www-form-urlencoded decoding (pure).
 *
 * Used for POST bodies with that Content-Type and for QUERY_STRING (the same
 * syntax, WHATWG URL "application/x-www-form-urlencoded parser").
 *
 *   struct request_param *p;
 *   size_t n;
 *   rc = form_parse(s, len, &p, &n);   // p[0..n) decoded, in input order
 *   value = form_find(p, n, "since");  // first match or NULL
 *   form_free(p, n);
 *
 * Rules: fields are separated by '&'; empty fields ("a=1&&b=2", a leading or
 * trailing '&') are skipped; a field without '=' has the value ""; only the
 * first '=' splits name from value.  '+' decodes to a space, "%XX" (either
 * case) to the byte 0xXX.
 *
 * Errors (on error *out is NULL and *n is 0):
 *   EC_INVALID_FORM  a '%' not followed by two hex digits; a NUL byte, raw or
 *                    as %00; more than FORM_MAX_FIELDS fields
 *   EC_INVALID_UTF8  a decoded name or value is not valid UTF-8
 *   EC_NOMEM
 * (request.c reports query-string errors as EC_INVALID_PARAM instead of
 * EC_INVALID_FORM.)
 *
 * Invariants: every name and value handed out is a malloc'd, NUL-terminated,
 * valid UTF-8 string without embedded NUL.  With n == 0, *out is NULL.
 */
#ifndef EMITCGI_FORM_H
#define EMITCGI_FORM_H

#include <stddef.h>

#include "error.h"
#include "request.h"

/* Most fields one form or query string may carry; more is EC_INVALID_FORM.
 * No route takes more than a handful. */
#define FORM_MAX_FIELDS 64

enum ecode form_parse(const char *s, size_t len, struct request_param **out,
		      size_t *n);

/* Frees p and its strings; p may be NULL. */
void form_free(struct request_param *p, size_t n);

/* The value of the first field named name, or NULL.  Borrowed. */
const char *form_find(const struct request_param *p, size_t n,
		      const char *name);

#endif
