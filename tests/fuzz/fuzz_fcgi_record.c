/* fuzz_fcgi_record.c -- fuzz target for the FastCGI record layer:
 * fcgi_record_parse(), fcgi_record_feed() and fcgi_record_append_stdout().
 *
 * Input: the first byte picks a chunking, the rest is what a web server
 * might send on a parked connection.
 *
 * Invariants checked (abort() on violation):
 *   - fcgi_record_parse() never claims more than it was given, returns
 *     exactly 8 + content + padding for a whole record, and only returns 0
 *     when the record really is incomplete;
 *   - fcgi_record_feed(), given the same bytes in pieces (the chunking from
 *     the first byte), reports the same records in the same order as
 *     parsing the whole input does, reports a protocol error exactly when
 *     the whole parse hits one, keeps no more than one incomplete record,
 *     and stops when its callback says so;
 *   - fcgi_record_append_stdout() of the input, parsed back, gives FCGI_STDOUT
 *     records of at most 65535 bytes, each padded to 8 with zeros, whose
 *     contents are the input again.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fcgi_record.h"
#include "fuzz.h"

/* fuzz.h declares it too; declared here so this file stands alone. */
int fuzz_fcgi_record_one(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

#define FUZZ_MAX_RECORDS 4096

struct fuzz_ref {
	size_t off; /* of the record in the input */
	size_t total;
	unsigned type;
	uint16_t request_id;
	uint16_t content_len;
};

struct fuzz_feed {
	const uint8_t *data;
	const struct fuzz_ref *ref;
	size_t nref;
	size_t seen;
	size_t stop_at; /* stop after this many records; 0: never */
};

static bool fuzz_on_record(void *ctx, const struct fcgi_record *rec)
{
	struct fuzz_feed *f = ctx;
	const struct fuzz_ref *r;

	FUZZ_CHECK(f->seen < f->nref);
	r = &f->ref[f->seen];
	FUZZ_CHECK(rec->type == r->type);
	FUZZ_CHECK(rec->request_id == r->request_id);
	FUZZ_CHECK(rec->content_len == r->content_len);
	FUZZ_CHECK(memcmp(rec->content, f->data + r->off + FCGI_HEADER_LEN,
			  rec->content_len) == 0);
	f->seen++;
	return f->stop_at == 0 || f->seen < f->stop_at;
}

/* Parses the whole input record by record: the reference. */
static long fuzz_reference(const uint8_t *data, size_t size,
			   struct fuzz_ref *ref, size_t *nref, size_t *used)
{
	struct fcgi_record rec;
	size_t off = 0;
	long n;

	*nref = 0;
	while ((n = fcgi_record_parse(data + off, size - off, &rec)) > 0) {
		FUZZ_CHECK((size_t)n <= size - off);
		FUZZ_CHECK((size_t)n == (size_t)FCGI_HEADER_LEN +
					    rec.content_len + rec.padding_len);
		FUZZ_CHECK(rec.content == data + off + FCGI_HEADER_LEN);
		FUZZ_CHECK(*nref < FUZZ_MAX_RECORDS);
		ref[*nref] = (struct fuzz_ref){off, (size_t)n, rec.type,
					       rec.request_id, rec.content_len};
		(*nref)++;
		off += (size_t)n;
	}
	if (n == 0 && size - off >= FCGI_HEADER_LEN) {
		/* Incomplete only if the header claims more than is there. */
		const uint8_t *h = data + off;

		FUZZ_CHECK(FCGI_HEADER_LEN + ((size_t)h[4] << 8 | h[5]) + h[6] >
			   size - off);
	}
	*used = off;
	return n;
}

static void fuzz_chunked(const uint8_t *data, size_t size, uint8_t seed,
			 const struct fuzz_ref *ref, size_t nref, long end,
			 size_t used)
{
	struct fuzz_feed f = {.data = data, .ref = ref, .nref = nref};
	struct buf *tail = NULL;
	uint32_t x = seed * 2654435761u + 1;
	enum ecode rc = EC_OK;
	size_t off = 0;

	/* Seeds 0..7 stop after that many records (0: never). */
	f.stop_at = seed < 8 ? seed : 0;
	while (off < size) {
		size_t n;

		x = x * 1103515245u + 12345u;
		n = 1 + (x >> 16) % (seed & 1 ? 7 : 300);
		if (n > size - off)
			n = size - off;
		rc = fcgi_record_feed(&tail, data + off, n, fuzz_on_record, &f);
		off += n;
		if (tail)
			FUZZ_CHECK(tail->len < FCGI_RECORD_MAX_BYTES);
		if (rc != EC_OK || (f.stop_at && f.seen == f.stop_at))
			break;
	}
	if (f.stop_at && f.stop_at <= nref) {
		FUZZ_CHECK(f.seen == f.stop_at);
	} else if (end < 0) {
		FUZZ_CHECK(rc == EC_INVALID_PARAM);
		FUZZ_CHECK(f.seen == nref);
	} else {
		FUZZ_CHECK(rc == EC_OK);
		FUZZ_CHECK(f.seen == nref);
		/* What is left is the start of one record. */
		FUZZ_CHECK((tail ? tail->len : 0) == size - used);
		if (tail && tail->len)
			FUZZ_CHECK(memcmp(tail->data, data + used, tail->len) ==
				   0);
	}
	fcgi_record_tail_free(&tail);
}

static void fuzz_roundtrip(const uint8_t *data, size_t size)
{
	struct fcgi_record rec;
	size_t off = 0, got = 0;
	struct buf b;
	long n;

	buf_init(&b, 2 * size + 64);
	FUZZ_CHECK(fcgi_record_append_stdout(&b, 0x1234, data, size) == EC_OK);
	FUZZ_CHECK(b.len % 8 == 0);
	while (off < b.len) {
		n = fcgi_record_parse(b.data + off, b.len - off, &rec);
		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(rec.type == FCGI_STDOUT);
		FUZZ_CHECK(rec.request_id == 0x1234);
		FUZZ_CHECK(rec.content_len > 0);
		FUZZ_CHECK(rec.padding_len < 8);
		FUZZ_CHECK(memcmp(rec.content, data + got, rec.content_len) ==
			   0);
		for (unsigned i = 0; i < rec.padding_len; i++)
			FUZZ_CHECK(rec.content[rec.content_len + i] == 0);
		got += rec.content_len;
		off += (size_t)n;
	}
	FUZZ_CHECK(got == size);
	buf_release(&b);
}

int fuzz_fcgi_record_one(const uint8_t *data, size_t size)
{
	static struct fuzz_ref ref[FUZZ_MAX_RECORDS];
	size_t nref, used;
	uint8_t seed;
	long end;

	if (size < 1)
		return 0;
	seed = data[0];
	data++;
	size--;
	/* 4096 records need at least 32 KiB. */
	if (size > FUZZ_MAX_RECORDS * FCGI_HEADER_LEN)
		size = FUZZ_MAX_RECORDS * FCGI_HEADER_LEN;
	end = fuzz_reference(data, size, ref, &nref, &used);
	fuzz_chunked(data, size, seed, ref, nref, end, used);
	fuzz_roundtrip(data, size);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_fcgi_record_one(data, size);
}
#endif
