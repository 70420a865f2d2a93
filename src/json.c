/* json.c -- strict parsing and compact serialisation over json-c (json.h).
 *
 * json_check() is pass 1 alone: io.c checks event data with it, without
 * building a tree.
 *
 * Parsing is two passes over input of at most 16 KiB:
 *   1. utf8_valid() on the whole input (json-c's JSON_TOKENER_VALIDATE_UTF8
 *      lets overlongs and surrogates through), then json_check() walks the
 *      RFC 8259 grammar with a depth cap, without allocating;
 *   2. json_tokener_parse_ex() builds the tree.  After pass 1 json-c should
 *      not fail; if it does anyway the answer is EC_INVALID_JSON.
 * Pass 1 exists because JSON_TOKENER_STRICT in json-c 0.16 still accepts
 * 'single quotes', NaN, "1." and raw control bytes inside strings.
 *
 * Serialisation uses JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE
 * everywhere, so one value always has one byte form (the event log, the SSE
 * frame and the poll body agree).
 *
 * To extend: grammar changes go in json_check_*(); keep the depth cap in
 * json_check_value() in step with JSON_MAX_DEPTH.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "utf8.h"

#define JSON_SERIALIZE_FLAGS                                                   \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct json_scan {
	const unsigned char *s;
	size_t len;
	size_t pos;
};

static bool json_check_value(struct json_scan *sc, int depth);

static int json_peek(const struct json_scan *sc)
{
	return sc->pos < sc->len ? sc->s[sc->pos] : -1;
}

static void json_check_ws(struct json_scan *sc)
{
	while (sc->pos < sc->len) {
		unsigned char c = sc->s[sc->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->pos++;
	}
}

static bool json_is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static bool json_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 section 7.  Bytes >= 0x80 were checked by utf8_valid(). */
static bool json_check_string(struct json_scan *sc)
{
	int i;

	sc->pos++; /* opening quote */
	while (sc->pos < sc->len) {
		unsigned char c = sc->s[sc->pos++];

		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (sc->pos >= sc->len)
			return false;
		c = sc->s[sc->pos++];
		if (c != '\0' && strchr("\"\\/bfnrt", c))
			continue;
		if (c != 'u')
			return false;
		for (i = 0; i < 4; i++, sc->pos++)
			if (!json_is_hex(json_peek(sc)))
				return false;
	}
	return false;
}

/* RFC 8259 section 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_check_number(struct json_scan *sc)
{
	if (json_peek(sc) == '-')
		sc->pos++;
	if (json_peek(sc) == '0') {
		sc->pos++;
	} else if (json_is_digit(json_peek(sc))) {
		while (json_is_digit(json_peek(sc)))
			sc->pos++;
	} else {
		return false;
	}
	if (json_peek(sc) == '.') {
		sc->pos++;
		if (!json_is_digit(json_peek(sc)))
			return false;
		while (json_is_digit(json_peek(sc)))
			sc->pos++;
	}
	if (json_peek(sc) == 'e' || json_peek(sc) == 'E') {
		sc->pos++;
		if (json_peek(sc) == '+' || json_peek(sc) == '-')
			sc->pos++;
		if (!json_is_digit(json_peek(sc)))
			return false;
		while (json_is_digit(json_peek(sc)))
			sc->pos++;
	}
	return true;
}

static bool json_check_word(struct json_scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return false;
	sc->pos += n;
	return true;
}

/* An object or array; sc->pos is on the opening bracket. */
static bool json_check_container(struct json_scan *sc, int depth)
{
	bool object = json_peek(sc) == '{';
	int close = object ? '}' : ']';

	sc->pos++;
	json_check_ws(sc);
	if (json_peek(sc) == close) {
		sc->pos++;
		return true;
	}
	for (;;) {
		if (object) {
			if (json_peek(sc) != '"' || !json_check_string(sc))
				return false;
			json_check_ws(sc);
			if (json_peek(sc) != ':')
				return false;
			sc->pos++;
		}
		if (!json_check_value(sc, depth))
			return false;
		if (json_peek(sc) == close) {
			sc->pos++;
			return true;
		}
		if (json_peek(sc) != ',')
			return false;
		sc->pos++;
		json_check_ws(sc);
	}
}

/* One value with the white space around it.  depth counts the containers
 * already open. */
static bool json_check_value(struct json_scan *sc, int depth)
{
	bool ok;

	json_check_ws(sc);
	switch (json_peek(sc)) {
	case '{':
	case '[':
		ok = depth < JSON_MAX_DEPTH &&
		     json_check_container(sc, depth + 1);
		break;
	case '"':
		ok = json_check_string(sc);
		break;
	case 't':
		ok = json_check_word(sc, "true");
		break;
	case 'f':
		ok = json_check_word(sc, "false");
		break;
	case 'n':
		ok = json_check_word(sc, "null");
		break;
	default:
		ok = json_check_number(sc);
		break;
	}
	if (ok)
		json_check_ws(sc);
	return ok;
}

enum ecode json_check(const char *s, size_t len)
{
	struct json_scan sc = { (const unsigned char *)s, len, 0 };

	if (!utf8_valid(s, len))
		return EC_INVALID_UTF8;
	if (!json_check_value(&sc, 0) || sc.pos != len)
		return EC_INVALID_JSON;
	return EC_OK;
}

enum ecode json_parse_value(const char *s, size_t len, struct json_object **out)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	enum ecode rc;

	*out = NULL;
	if (len > INT_MAX - 1)
		return EC_TOO_LARGE;
	if ((rc = json_check(s, len)) != EC_OK)
		return rc;

	/* Slack on the depth: json-c counts levels a little differently, and
	 * json_check_value() has already enforced JSON_MAX_DEPTH. */
	tok = json_tokener_new_ex(JSON_MAX_DEPTH + 8);
	if (!tok)
		return EC_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, s, (int)len);
	if (json_tokener_get_error(tok) == json_tokener_continue) {
		/* A top-level number or literal ends only at the terminator,
		 * which json-c wants to see (json_tokener.h). */
		obj = json_tokener_parse_ex(tok, "", 1);
	}
	if (json_tokener_get_error(tok) != json_tokener_success) {
		rc = json_tokener_get_error(tok) ==
				     json_tokener_error_parse_utf8_string
			     ? EC_INVALID_UTF8
			     : EC_INVALID_JSON;
		goto out;
	}
	*out = obj;
	obj = NULL;
	rc = EC_OK;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

enum ecode json_parse_object(const char *s, size_t len,
			     struct json_object **out)
{
	struct json_object *obj;
	enum ecode rc;

	*out = NULL;
	rc = json_parse_value(s, len, &obj);
	if (rc != EC_OK)
		return rc;
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return EC_INVALID_JSON;
	}
	*out = obj;
	return EC_OK;
}

enum ecode json_to_string_compact(struct json_object *obj, char **out,
				  size_t *len)
{
	const char *s;
	size_t n = 0;
	char *copy;

	*out = NULL;
	if (len)
		*len = 0;
	s = json_object_to_json_string_length(obj, JSON_SERIALIZE_FLAGS, &n);
	if (!s)
		return EC_NOMEM;
	copy = malloc(n + 1);
	if (!copy)
		return EC_NOMEM;
	memcpy(copy, s, n);
	copy[n] = '\0';
	*out = copy;
	if (len)
		*len = n;
	return EC_OK;
}

enum ecode json_append_compact(struct buf *b, struct json_object *obj)
{
	const char *s;
	size_t n = 0;

	s = json_object_to_json_string_length(obj, JSON_SERIALIZE_FLAGS, &n);
	if (!s)
		return EC_NOMEM;
	return buf_add(b, s, n);
}

enum ecode json_append_string(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = b->len, i;
	enum ecode rc;

	if (!utf8_valid(s, len))
		return EC_INVALID_UTF8;
	rc = buf_addc(b, '"');
	for (i = 0; i < len && rc == EC_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		switch (c) {
		case '"':
			rc = buf_add(b, "\\\"", 2);
			break;
		case '\\':
			rc = buf_add(b, "\\\\", 2);
			break;
		case '\b':
			rc = buf_add(b, "\\b", 2);
			break;
		case '\f':
			rc = buf_add(b, "\\f", 2);
			break;
		case '\n':
			rc = buf_add(b, "\\n", 2);
			break;
		case '\r':
			rc = buf_add(b, "\\r", 2);
			break;
		case '\t':
			rc = buf_add(b, "\\t", 2);
			break;
		default:
			if (c >= 0x20) {
				rc = buf_addc(b, (char)c);
				break;
			}
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			rc = buf_add(b, esc, 6);
			break;
		}
	}
	if (rc == EC_OK)
		rc = buf_addc(b, '"');
	if (rc != EC_OK && b->data) {
		/* Undo the partial string: buf.h has no truncate. */
		b->len = start;
		b->data[start] = '\0';
	}
	return rc;
}
