/* fuzz_eio.c -- fuzz target for the Engine.IO payload parser and the
 * Socket.IO packet parser (eio.h, sio.h): what a POST to /socket.io/
 * carries.
 *
 * Input: any bytes, taken as one Engine.IO payload.
 *
 * Invariants checked (abort() on violation):
 *   - eio_payload_parse() with a callback calls it only when the payload
 *     is valid as a whole (the same answer as without one), once per
 *     packet, with packets that lie inside the input, end to end;
 *   - joining the packets back with 0x1e (and their type or 'b') gives the
 *     input again;
 *   - sio_parse() on each message packet stays inside it, and what it
 *     accepts has a known type, a namespace starting with '/', an ack id in
 *     0..SIO_ACK_ID_MAX or -1, and data that ends where the packet ends.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "eio.h"
#include "fuzz.h"
#include "sio.h"

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

struct fuzz_eio {
	const char *in;
	size_t len;
	struct buf again;
	size_t calls;
};

static enum ecode fuzz_eio_packet(void *ctx, const struct eio_packet *p)
{
	struct fuzz_eio *f = ctx;
	struct sio_packet s;

	FUZZ_CHECK(p->data >= f->in + 1 && p->data + p->len <= f->in + f->len);
	FUZZ_CHECK(eio_payload_add(&f->again, "", 0) == EC_OK);
	FUZZ_CHECK(buf_addc(&f->again, p->binary ? 'b' : p->type) == EC_OK);
	FUZZ_CHECK(buf_add(&f->again, p->data, p->len) == EC_OK);
	f->calls++;
	if (p->type != EIO_MESSAGE || p->binary)
		return EC_OK;
	if (sio_parse(p->data, p->len, &s) != EC_OK)
		return EC_OK;
	FUZZ_CHECK((int)s.type >= 0 && (int)s.type <= 6);
	FUZZ_CHECK(s.nsp_len >= 1 && s.nsp[0] == '/');
	FUZZ_CHECK(s.ack_id >= -1 && s.ack_id <= SIO_ACK_ID_MAX);
	if (s.data)
		FUZZ_CHECK(s.data > p->data &&
			   s.data + s.data_len == p->data + p->len);
	return EC_OK;
}

int fuzz_eio_one(const uint8_t *data, size_t size)
{
	struct fuzz_eio f = { .in = (const char *)data, .len = size };
	enum ecode whole, rc;

	buf_init(&f.again, size + 16);
	whole = eio_payload_parse(f.in, size, NULL, NULL);
	rc = eio_payload_parse(f.in, size, fuzz_eio_packet, &f);
	FUZZ_CHECK(rc == whole);
	if (rc != EC_OK) {
		FUZZ_CHECK(f.calls == 0);
	} else {
		FUZZ_CHECK(f.again.len == size);
		FUZZ_CHECK(size == 0 || memcmp(f.again.data, data, size) == 0);
	}
	buf_release(&f.again);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_eio_one(data, size);
}
#endif
