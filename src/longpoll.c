/* longpoll.c -- the long-poll response body (see longpoll.h).
 *
 * The body is built in pieces so that the hub can keep each event's
 * fragment, serialised once, and splice many of them into one response:
 * longpoll_add() with *first true writes the fragment alone
 * ({"id":7,"event":"user count","data":3}); with *first false it writes a
 * comma and then the same bytes.  The hub relies on exactly that.
 *
 * The name is escaped as json-c escapes strings ('"', '\\', \b \f \n \r \t
 * by name, other bytes below 0x20 as \u00XX; '/' and bytes from 0x7F are
 * left as they are).  data_json is inserted as it is: it is JSON from the
 * log; an empty data is written as null so the body stays valid JSON.
 *
 * On error (EC_TOO_LARGE at the buf's cap, EC_NOMEM) out is left as it was.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "longpoll.h"

static void longpoll_truncate(struct buf *out, size_t len)
{
	if (out->data) {
		out->len = len;
		out->data[len] = '\0';
	}
}

enum ecode longpoll_begin(struct buf *out)
{
	return buf_adds(out, "{\"events\":[");
}

static enum ecode longpoll_add_string(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	enum ecode rc;
	size_t n;

	if ((rc = buf_addc(out, '"')) != EC_OK)
		return rc;
	for (;;) {
		char esc[7];
		size_t esc_len = 2;
		unsigned char c;

		/* Runs of bytes that need no escape go in one append. */
		for (n = 0;
		     (unsigned char)s[n] >= 0x20 && s[n] != '"' && s[n] != '\\';
		     n++)
			;
		if ((rc = buf_add(out, s, n)) != EC_OK)
			return rc;
		s += n;
		c = (unsigned char)*s;
		if (!c)
			break;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esc_len = 6;
		}
		if ((rc = buf_add(out, esc, esc_len)) != EC_OK)
			return rc;
		s++;
	}
	return buf_addc(out, '"');
}

enum ecode longpoll_add(struct buf *out, bool *first, int64_t id,
			const char *name, const char *data_json)
{
	size_t old_len = out->len;
	enum ecode rc;

	if (!data_json || !*data_json)
		data_json = "null";
	if ((rc = buf_printf(out, "%s{\"id\":%" PRId64 ",\"event\":",
			     *first ? "" : ",", id)) != EC_OK ||
	    (rc = longpoll_add_string(out, name)) != EC_OK ||
	    (rc = buf_adds(out, ",\"data\":")) != EC_OK ||
	    (rc = buf_adds(out, data_json)) != EC_OK ||
	    (rc = buf_addc(out, '}')) != EC_OK) {
		longpoll_truncate(out, old_len);
		return rc;
	}
	*first = false;
	return EC_OK;
}

enum ecode longpoll_end(struct buf *out, int64_t last_id, bool reset)
{
	return buf_printf(out, "],\"lastEventId\":%" PRId64 "%s}", last_id,
			  reset ? ",\"reset\":true" : "");
}
