/* fuzz_form.c -- fuzz target for the byte-level parsers of the HTTP layer:
 * form_parse(), utf8_valid() and json_parse_value().
 *
 * Input: any bytes, taken as a form body (or query string), as UTF-8 text
 * and as a JSON document.
 *
 * Invariants checked (abort() on violation):
 *   - form_parse(): EC_OK gives at most FORM_MAX_FIELDS fields, each name
 *     and value valid UTF-8; an error gives no fields; a raw NUL in the input
 *     is always an error; encoding the fields back (every byte as %XX) and
 *     parsing again gives the same fields;
 *   - utf8_valid() agrees with a second, decode-based implementation here
 *     (code point ranges instead of RFC 3629's byte table);
 *   - json_parse_value(): refuses input that is not valid UTF-8 with
 *     EC_INVALID_UTF8, and what it accepts serialises to a document it
 *     accepts again, unchanged.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "form.h"
#include "fuzz.h"
#include "json.h"
#include "utf8.h"

#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond))                                                 \
			abort();                                             \
	} while (0)

/* Reference validator: decode each sequence to a code point, then check the
 * shortest form and the ranges (RFC 3629 section 3). */
static bool fuzz_utf8_ref(const uint8_t *s, size_t len)
{
	size_t i = 0, k, n;
	uint32_t cp, min;

	while (i < len) {
		uint8_t c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Every byte as %XX: decodes back to the same bytes. */
static void fuzz_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[3] = {'%', hex[c >> 4], hex[c & 0xf]};

		FUZZ_CHECK(buf_add(b, e, 3) == EC_OK);
	}
}

static void fuzz_form(const uint8_t *data, size_t size)
{
	struct request_param *p = NULL, *q = NULL;
	size_t n = 0, m = 0, i;
	struct buf b;
	enum ecode rc;

	rc = form_parse((const char *)data, size, &p, &n);
	if (rc != EC_OK) {
		FUZZ_CHECK(p == NULL && n == 0);
		return;
	}
	FUZZ_CHECK(n <= FORM_MAX_FIELDS);
	FUZZ_CHECK(size == 0 || !memchr(data, 0, size));
	FUZZ_CHECK(n == 0 || p != NULL);

	buf_init(&b, 3 * size + 2 * n + 16);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(utf8_valid(p[i].name, strlen(p[i].name)));
		FUZZ_CHECK(utf8_valid(p[i].value, strlen(p[i].value)));
		if (i)
			FUZZ_CHECK(buf_addc(&b, '&') == EC_OK);
		/* "=" is a field too: an empty pair is never skipped. */
		fuzz_encode(&b, p[i].name);
		FUZZ_CHECK(buf_addc(&b, '=') == EC_OK);
		fuzz_encode(&b, p[i].value);
	}
	FUZZ_CHECK(form_parse(buf_str(&b), b.len, &q, &m) == EC_OK);
	FUZZ_CHECK(m == n);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(strcmp(p[i].name, q[i].name) == 0);
		FUZZ_CHECK(strcmp(p[i].value, q[i].value) == 0);
		FUZZ_CHECK(form_find(p, n, p[i].name) != NULL);
	}
	form_free(q, m);
	form_free(p, n);
	buf_release(&b);
}

static void fuzz_json(const uint8_t *data, size_t size, bool utf8)
{
	struct json_object *obj = NULL, *back = NULL;
	char *s1 = NULL, *s2 = NULL;
	size_t n1, n2;
	enum ecode rc;

	rc = json_parse_value((const char *)data, size, &obj);
	if (!utf8)
		FUZZ_CHECK(rc == EC_INVALID_UTF8);
	if (rc != EC_OK) {
		FUZZ_CHECK(obj == NULL);
		return;
	}
	if (json_to_string_compact(obj, &s1, &n1) == EC_OK) {
		FUZZ_CHECK(json_parse_value(s1, n1, &back) == EC_OK);
		if (json_to_string_compact(back, &s2, &n2) == EC_OK)
			FUZZ_CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0);
	}
	free(s1);
	free(s2);
	json_object_put(back);
	json_object_put(obj);
}

int fuzz_form_one(const uint8_t *data, size_t size)
{
	bool utf8 = utf8_valid((const char *)data, size);

	FUZZ_CHECK(utf8 == fuzz_utf8_ref(data, size));
	fuzz_form(data, size);
	fuzz_json(data, size, utf8);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_form_one(data, size);
}
#endif
