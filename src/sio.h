/* sio.h -- Socket.IO protocol v5 packets (pure).
 *
 * Owns the text of a Socket.IO v5 packet inside an Engine.IO message, as
 * the socket.io repository's docs/socket.io-protocol/v5-current.md defines
 * it:  <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
 * and the packets emitcgi writes: the connect answer 0{"sid","pid"}, the
 * connect error 4{"message"}, an event 2["name",data,"offset"] (offset =
 * the event's id as a string: connection state recovery) and an ack
 * 3<id>[...] -- on the wire each inside an Engine.IO message, so 40{...},
 * 44{...}, 42[...], 43<id>[...].  No I/O, no store: fuzzed by
 * tests/fuzz/fuzz_eio.c.
 *
 *   struct sio_packet p;
 *   rc = sio_parse(text, len, &p);  // p.type, p.nsp, p.ack_id, p.data
 *   sio_event(&out, id, "user count", "3");
 *
 * Invariants: sio_parse() never reads past len and leaves the JSON data
 * unparsed (sio_session.c parses it with json-c); namespace and data point
 * into the caller's text.
 */
#ifndef EMITCGI_SIO_H
#define EMITCGI_SIO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

enum sio_type {
	SIO_CONNECT = 0,
	SIO_DISCONNECT = 1,
	SIO_EVENT = 2,
	SIO_ACK = 3,
	SIO_CONNECT_ERROR = 4,
	SIO_BINARY_EVENT = 5,
	SIO_BINARY_ACK = 6,
};

#define SIO_ACK_ID_MAX 2147483647 /* what the clients count up to */

struct sio_packet {
	enum sio_type type;
	int attachments; /* binary types only */
	const char *nsp; /* "/" when absent */
	size_t nsp_len;
	int64_t ack_id;	  /* -1 when absent */
	const char *data; /* JSON text or NULL when absent */
	size_t data_len;
};

/* Cuts a packet into its parts; EC_INVALID_PARAM when malformed (unknown
 * type, ack id too large, binary type without "<n>-").  A namespace runs
 * to its ',' or, without one, to the end ("0/x" is a connect to "/x"). */
enum ecode sio_parse(const char *s, size_t len, struct sio_packet *out);

/* 0{"sid":"<sock>","pid":"<pid>"} (ids are [A-Za-z0-9_-]). */
enum ecode sio_connect_ok(struct buf *out, const char *sock, const char *pid);
/* 4[<nsp>,]{"message":"<message>"}: nsp NULL or "/" for the main one. */
enum ecode sio_connect_error(struct buf *out, const char *nsp, size_t nsp_len,
			     const char *message);
/* 2["<name>",<data_json>,"<id>"] */
enum ecode sio_event(struct buf *out, int64_t id, const char *name,
		     const char *data_json);
/* 3<ack_id>[<args_json>] (args_json: the array's elements). */
enum ecode sio_ack(struct buf *out, int64_t ack_id, const char *args_json);

#endif
