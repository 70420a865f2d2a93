/* json.h -- small helpers over json-c (pure).
 *
 * Parsing request bodies strictly, serialising compactly, escaping strings:
 *
 *   struct json_object *obj;
 *   rc = json_parse_object(body, len, &obj);   // EC_OK: obj is owned
 *   ...
 *   json_object_put(obj);
 *
 *   rc = json_append_compact(&out, obj);       // {"a":1}, no slash escapes
 *   rc = json_append_string(&out, s, strlen(s)); // "quoted and escaped"
 *   rc = json_check(text, len);                // EC_OK: one JSON text
 *
 * Parsing is RFC 8259 strict: json-c's JSON_TOKENER_STRICT still takes
 * single quotes, NaN, "1." and raw control characters in strings, so the
 * input is checked against the RFC grammar first and json-c only builds the
 * tree.  The whole input must be one value with optional white space around
 * it; containers nest at most JSON_MAX_DEPTH deep.
 *
 * Errors: EC_INVALID_UTF8 (the input is not strict UTF-8, see utf8.h),
 * EC_INVALID_JSON (anything else wrong, including NUL bytes, too deep, and
 * for json_parse_object a top level that is not an object), EC_TOO_LARGE
 * (input over INT_MAX bytes, json-c's limit), EC_NOMEM.
 *
 * Strings json-c builds from "\u0000" contain a NUL: use
 * json_object_get_string_len() where it matters.  A lone surrogate escape
 * ("\ud800") becomes U+FFFD, so every string in a parsed tree is valid UTF-8.
 *
 * Serialising goes through json_object_to_json_string_length(), which writes
 * into the object's own buffer: do not serialise one object from two threads
 * at once.
 */
#ifndef EMITCGI_JSON_H
#define EMITCGI_JSON_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

struct json_object;

/* Deepest nesting of arrays and objects a parsed document may have. */
#define JSON_MAX_DEPTH 32

/* Whether s[0..len) is one RFC 8259 JSON text (one value, optional white
 * space around it, nesting at most JSON_MAX_DEPTH): EC_OK,
 * EC_INVALID_UTF8 or EC_INVALID_JSON.  Builds nothing, allocates nothing;
 * the same check json_parse_value() makes first.  io.c checks every
 * event's data with it. */
enum ecode json_check(const char *s, size_t len);

/* Any JSON value.  *out is NULL for JSON null (and on error). */
enum ecode json_parse_value(const char *s, size_t len,
			    struct json_object **out);

/* A JSON object (a request body). */
enum ecode json_parse_object(const char *s, size_t len,
			     struct json_object **out);

/* Compact serialisation of obj (NULL is "null") as a new malloc'd,
 * NUL-terminated string; *len (may be NULL) gets its length. */
enum ecode json_to_string_compact(struct json_object *obj, char **out,
				  size_t *len);

/* Appends the compact serialisation of obj (NULL is "null") to b.  On error
 * b is left as it was (EC_TOO_LARGE past its cap). */
enum ecode json_append_compact(struct buf *b, struct json_object *obj);

/* Appends s[0..len) as a quoted JSON string (same escapes as json-c, '/'
 * not escaped).  s must be valid UTF-8 (EC_INVALID_UTF8); NUL bytes become
 * \u0000.  On error b is left as it was. */
enum ecode json_append_string(struct buf *b, const char *s, size_t len);

#endif
