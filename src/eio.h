/* eio.h -- Engine.IO protocol v4 packets and payloads (pure).
 *
 * Owns the text of Engine.IO v4 over HTTP long-polling as the socket.io
 * repository's docs/engine.io-protocol/v4-current.md defines it: a packet
 * is one type character ('0' open .. '6' noop) and its data; a payload is
 * packets joined by the record separator 0x1e; a binary packet travels as
 * 'b' + base64.  No I/O, no store, no allocation beyond the caller's buf:
 * fuzzed by tests/fuzz/fuzz_eio.c.
 *
 *   rc = eio_payload_parse(body, len, NULL, NULL);  // whole payload valid?
 *   rc = eio_payload_parse(body, len, on_packet, ctx); // then each packet
 *   eio_open_packet(&out, sid, 25000, 20000, 1000000);
 *   eio_payload_add(&out, "2", 1);                  // '\x1e' between
 *   eio_error_json(&out, EIO_ERR_SID);              // {"code":1,...}
 *
 * Invariants: a payload is checked whole before its first packet reaches
 * the callback, so a bad payload changes nothing.  sio_session.c owns what
 * packets do; sio.h owns the Socket.IO packets inside message packets.
 */
#ifndef EMITCGI_EIO_H
#define EMITCGI_EIO_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

#define EIO_SEPARATOR '\x1e'
#define EIO_SID_LEN 20 /* the session ids emitcgi gives */

enum eio_type {
	EIO_OPEN = '0',
	EIO_CLOSE = '1',
	EIO_PING = '2',
	EIO_PONG = '3',
	EIO_MESSAGE = '4',
	EIO_UPGRADE = '5',
	EIO_NOOP = '6',
};

/* The error codes of the protocol's HTTP answers ({"code","message"}). */
enum eio_error {
	EIO_ERR_TRANSPORT = 0, /* Transport unknown */
	EIO_ERR_SID = 1,       /* Session ID unknown */
	EIO_ERR_METHOD = 2,    /* Bad handshake method */
	EIO_ERR_REQUEST = 3,   /* Bad request */
	EIO_ERR_FORBIDDEN = 4, /* Forbidden */
	EIO_ERR_VERSION = 5,   /* Unsupported protocol version */
};

struct eio_packet {
	char type;	  /* enum eio_type; EIO_MESSAGE for binary too */
	bool binary;	  /* 'b' + base64: data is the base64 text */
	const char *data; /* after the type character; not NUL-terminated */
	size_t len;
};

typedef enum ecode eio_packet_fn(void *ctx, const struct eio_packet *p);

/* Checks the whole payload (every packet a known type, base64 well-formed,
 * no empty packet), then, if fn, calls fn for each packet in order; fn's
 * first non-EC_OK return stops and is returned.  A bad payload is
 * EC_INVALID_PARAM before any call. */
enum ecode eio_payload_parse(const char *data, size_t len, eio_packet_fn *fn,
			     void *ctx);

/* Appends one packet (type + data) to a payload, with the separator before
 * it when out is not empty. */
enum ecode eio_payload_add(struct buf *out, const char *packet, size_t len);

/* The open packet: 0{"sid":..,"upgrades":[],"pingInterval":..,
 * "pingTimeout":..,"maxPayload":..}. sid is [A-Za-z0-9_-]. */
enum ecode eio_open_packet(struct buf *out, const char *sid, int ping_interval,
			   int ping_timeout, int max_payload);

/* The message of an error code ("Session ID unknown", ...). */
const char *eio_error_message(enum eio_error code);
/* {"code":N,"message":"..."} */
enum ecode eio_error_json(struct buf *out, enum eio_error code);

/* A session id as emitcgi gives them: 1..32 of [A-Za-z0-9_-]. */
bool eio_sid_valid(const char *sid);

#endif
