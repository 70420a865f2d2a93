/* fcgi_client.c -- a tiny FastCGI client for the integration tests: it
 * speaks to `emitcgi --listen unix:PATH` directly, as a web server would,
 * but can misbehave on purpose.
 *
 *   fcgi_client PATH get METHOD URI [NAME=VALUE...]   one request (params
 *        added to REQUEST_METHOD, REQUEST_URI, QUERY_STRING); the body is
 *        read from FCGI_BODY if set; prints the CGI response; exit 0 when
 *        FCGI_END_REQUEST came
 *   fcgi_client PATH keep K METHOD URI [NAME=VALUE...] K requests on one
 *        connection with FCGI_KEEP_CONN; prints "answered N"
 *   fcgi_client PATH stall N METHOD URI [NAME=VALUE...] N connections
 *        that send a request and never read; prints "ready" and holds
 *        them until killed (at most FCGI_HOLD_S, 120 s)
 *   fcgi_client PATH slowbody N URI                   N POSTs that send
 *        their body one byte a second; prints "ready"; until killed or
 *        FCGI_HOLD_S
 *
 * Bounded: every wait has an alarm() of FCGI_HOLD_S (default 120 s).
 * Uses the project's record and params builders (fcgi_record.h,
 * fcgi_params.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "fcgi_params.h"
#include "fcgi_record.h"

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void add_record(struct buf *out, unsigned type, uint16_t id,
		       const void *data, size_t len)
{
	FCGI_Header h;
	unsigned pad = fcgi_record_header(&h, type, id, len);

	buf_add(out, &h, sizeof(h));
	buf_add(out, data, len);
	buf_add(out, fcgi_record_zeros, pad);
}

/* BEGIN_REQUEST and the params; the body (STDIN) is the caller's. */
static void build_head(struct buf *out, uint16_t id, bool keep,
		       const char *method, const char *uri, int nextra,
		       char **extra, size_t content_length)
{
	FCGI_BeginRequestRecord b = { 0 };
	struct buf params;
	const char *q = strchr(uri, '?');
	char num[32];

	fcgi_record_header(&b.header, FCGI_BEGIN_REQUEST, id, sizeof(b.body));
	b.body.roleB0 = FCGI_RESPONDER;
	b.body.flags = keep ? FCGI_KEEP_CONN : 0;
	buf_add(out, &b, sizeof(b));
	buf_init(&params, 1u << 20);
	fcgi_params_append(&params, "REQUEST_METHOD", method);
	fcgi_params_append(&params, "REQUEST_URI", uri);
	fcgi_params_append(&params, "QUERY_STRING", q ? q + 1 : "");
	fcgi_params_append(&params, "REMOTE_ADDR", "127.0.0.1");
	fcgi_params_append(&params, "HTTP_HOST", "localhost");
	if (content_length) {
		snprintf(num, sizeof(num), "%zu", content_length);
		fcgi_params_append(&params, "CONTENT_LENGTH", num);
		fcgi_params_append(&params, "CONTENT_TYPE", "application/json");
	}
	for (int i = 0; i < nextra; i++) {
		char *eq = strchr(extra[i], '=');

		if (!eq)
			continue;
		*eq = '\0';
		fcgi_params_append(&params, extra[i], eq + 1);
		*eq = '=';
	}
	for (size_t off = 0; off < params.len; off += 65535)
		add_record(out, FCGI_PARAMS, id, params.data + off,
			   params.len - off > 65535 ? 65535 : params.len - off);
	add_record(out, FCGI_PARAMS, id, NULL, 0);
	buf_release(&params);
}

static void build_request(struct buf *out, uint16_t id, bool keep,
			  const char *method, const char *uri, int nextra,
			  char **extra)
{
	const char *body = getenv("FCGI_BODY");
	size_t len = body ? strlen(body) : 0;

	build_head(out, id, keep, method, uri, nextra, extra, len);
	if (len)
		add_record(out, FCGI_STDIN, id, body, len);
	add_record(out, FCGI_STDIN, id, NULL, 0);
}

struct reader {
	bool ended;
	bool print;
};

static bool on_record(void *ctx, const struct fcgi_record *rec)
{
	struct reader *r = ctx;

	if (rec->type == FCGI_STDOUT && r->print && rec->content_len)
		fwrite(rec->content, 1, rec->content_len, stdout);
	if (rec->type == FCGI_END_REQUEST) {
		r->ended = true;
		return false;
	}
	return true;
}

/* Reads one response; 0 when its END_REQUEST came. */
static int read_response(int fd, bool print)
{
	struct reader r = { .print = print };
	struct buf *tail = NULL;
	char data[16384];

	while (!r.ended) {
		ssize_t n = read(fd, data, sizeof(data));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fcgi_record_feed(&tail, data, (size_t)n, on_record, &r) !=
		    EC_OK)
			break;
	}
	fcgi_record_tail_free(&tail);
	return r.ended ? 0 : 1;
}

static void hold(void)
{
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause(); /* until killed, or the alarm */
}

int main(int argc, char **argv)
{
	const char *path, *mode, *hold_s = getenv("FCGI_HOLD_S");
	struct buf out;
	int fd, rc;

	if (argc < 4) {
		fprintf(stderr, "usage: see the comment in fcgi_client.c\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	alarm(hold_s ? (unsigned)strtol(hold_s, NULL, 10) : 120);
	path = argv[1];
	mode = argv[2];
	buf_init(&out, 8u << 20);
	if (!strcmp(mode, "get") && argc >= 5) {
		if ((fd = connect_unix(path)) < 0)
			return 1;
		build_request(&out, 1, false, argv[3], argv[4], argc - 5,
			      argv + 5);
		rc = write_all(fd, out.data, out.len) != 0 ||
		     read_response(fd, true) != 0;
		buf_release(&out);
		return rc;
	}
	if (!strcmp(mode, "keep") && argc >= 6) {
		int k = (int)strtol(argv[3], NULL, 10), answered = 0;

		if ((fd = connect_unix(path)) < 0)
			return 1;
		for (int i = 0; i < k; i++) {
			buf_reset(&out);
			build_request(&out, 1, true, argv[4], argv[5], argc - 6,
				      argv + 6);
			if (write_all(fd, out.data, out.len) != 0 ||
			    read_response(fd, false) != 0)
				break;
			answered++;
		}
		printf("answered %d\n", answered);
		buf_release(&out);
		return answered == k ? 0 : 1;
	}
	if (!strcmp(mode, "stall") && argc >= 6) {
		int n = (int)strtol(argv[3], NULL, 10);

		build_request(&out, 1, false, argv[4], argv[5], argc - 6,
			      argv + 6);
		for (int i = 0; i < n; i++) {
			/* Kept open (never read) until the process ends. */
			if ((fd = connect_unix(path)) < 0 ||
			    write_all(fd, out.data, out.len) != 0)
				return 1;
		}
		buf_release(&out);
		hold();
	}
	if (!strcmp(mode, "slowbody") && argc >= 5) {
		int n = (int)strtol(argv[3], NULL, 10), fds[1024];
		static const char body[] = "{\"username\":\"slow\","
					   "\"password\":\"slow-body-sender\"}";

		if (n > 1024)
			n = 1024;
		build_head(&out, 1, false, "POST", argv[4], 0, NULL,
			   sizeof(body) - 1);
		for (int i = 0; i < n; i++)
			if ((fds[i] = connect_unix(path)) < 0 ||
			    write_all(fds[i], out.data, out.len) != 0)
				return 1;
		printf("ready\n");
		fflush(stdout);
		for (size_t b = 0;; b = (b + 1) % (sizeof(body) - 1)) {
			buf_reset(&out);
			add_record(&out, FCGI_STDIN, 1, body + b, 1);
			for (int i = 0; i < n; i++)
				if (fds[i] >= 0 &&
				    write_all(fds[i], out.data, out.len) != 0) {
					close(fds[i]);
					fds[i] = -1;
				}
			sleep(1);
		}
	}
	fprintf(stderr, "fcgi_client: bad arguments\n");
	return 2;
}
