/* form.c -- application/x-www-form-urlencoded decoding (see form.h).
 *
 * One pass counts the fields (so the cap is checked before anything is
 * allocated), a second decodes each field's name and value into its own
 * malloc'd string.  Decoding never grows a string: "%XX" is three bytes in
 * and one out, so a buffer of the encoded length is always enough.
 *
 * Stricter than browsers on purpose: WHATWG's parser passes a bad escape
 * through as-is, we refuse it (SPEC "Bad input": malformed form is a 400), and
 * we refuse NUL because every value ends up as a C string.
 *
 * To extend (e.g. ';' as a separator): change form_count() and the split loop
 * in form_parse() together.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "utf8.h"

static int form_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) into a new string. */
static enum ecode form_decode(const char *s, size_t len, char **out)
{
	char *d;
	size_t i, j = 0;
	enum ecode rc;

	*out = NULL;
	d = malloc(len + 1);
	if (!d)
		return EC_NOMEM;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int h, l;

			if (len - i < 3) {
				rc = EC_INVALID_FORM;
				goto out;
			}
			h = form_hex(s[i + 1]);
			l = form_hex(s[i + 2]);
			if (h < 0 || l < 0) {
				rc = EC_INVALID_FORM;
				goto out;
			}
			c = (char)(h << 4 | l);
			i += 2;
		}
		if (c == '\0') {
			rc = EC_INVALID_FORM;
			goto out;
		}
		d[j++] = c;
	}
	d[j] = '\0';
	if (!utf8_valid(d, j)) {
		rc = EC_INVALID_UTF8;
		goto out;
	}
	*out = d;
	return EC_OK;
out:
	free(d);
	return rc;
}

/* Number of non-empty '&'-separated fields. */
static size_t form_count(const char *s, size_t len)
{
	size_t i, n = 0, start = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '&') {
			if (i > start)
				n++;
			start = i + 1;
		}
	}
	return n;
}

enum ecode form_parse(const char *s, size_t len, struct request_param **out,
		      size_t *n)
{
	struct request_param *p = NULL;
	size_t count, i, k = 0, start = 0;
	enum ecode rc = EC_OK;

	*out = NULL;
	*n = 0;
	count = form_count(s, len);
	if (count == 0)
		return EC_OK;
	if (count > FORM_MAX_FIELDS)
		return EC_INVALID_FORM;
	p = calloc(count, sizeof(*p));
	if (!p)
		return EC_NOMEM;
	for (i = 0; i <= len; i++) {
		const char *f, *eq;
		size_t flen, nlen;

		if (i < len && s[i] != '&')
			continue;
		f = s + start;
		flen = i - start;
		start = i + 1;
		if (flen == 0)
			continue;
		eq = memchr(f, '=', flen);
		nlen = eq ? (size_t)(eq - f) : flen;
		rc = form_decode(f, nlen, &p[k].name);
		if (rc != EC_OK)
			goto out;
		if (eq)
			rc = form_decode(eq + 1, flen - nlen - 1, &p[k].value);
		else
			rc = form_decode("", 0, &p[k].value);
		k++; /* p[k-1] is freed on error even if half-filled */
		if (rc != EC_OK)
			goto out;
	}
	*out = p;
	*n = count;
	return EC_OK;
out:
	form_free(p, k);
	return rc;
}

void form_free(struct request_param *p, size_t n)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

const char *form_find(const struct request_param *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].value;
	return NULL;
}
