/* sink_raw.c -- plain CGI: the response on stdout (see sink.h).
 *
 * Owns: the framing of a CGI response, which is none: the bytes go out
 * as they are and the response ends when the hub closes stdout.  Nothing
 * is read from stdout; the hub watches stdin for a hang-up when
 * sink_raw_watch_hangup() says it can tell one.  stdout may be a socket
 * (sendmsg), a pipe (writev; the program ignores SIGPIPE) or a regular
 * file (never full; epoll cannot watch it, which the hub handles).
 *
 * May call: sink_io.c's helpers, fstat(), close().
 */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sink.h"

static bool sink_raw_frame_size(size_t len, int *niov, size_t *nframe)
{
	(void)len;
	*niov = 1;
	*nframe = 0;
	return true;
}

static void sink_raw_frame(struct sink_batch *b, const void *data, size_t len)
{
	sink_batch_iov(b, data, len);
}

static enum ecode sink_raw_frame_copy(struct sink *s, const void *data,
				      size_t len)
{
	return buf_add(s->out, data, len);
}

static size_t sink_raw_end(struct sink *s, unsigned char *out)
{
	(void)s;
	(void)out;
	return 0; /* a CGI response ends by closing stdout */
}

static enum sink_status sink_raw_input(struct sink *s)
{
	(void)s;
	return SINK_OK; /* EPOLLIN is never asked for */
}

const struct sink_ops sink_raw_ops = {
	.name = "raw",
	.events = 0,
	.frame_size = sink_raw_frame_size,
	.frame = sink_raw_frame,
	.frame_copy = sink_raw_frame_copy,
	.end = sink_raw_end,
	.input = sink_raw_input,
};

bool sink_raw_watch_hangup(int in_fd)
{
	struct stat st;

	return fstat(in_fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

void sink_raw_close_fd(int fd)
{
	if (fd >= 0 && close(fd) < 0)
		log_debug("hub: close: %s", strerror(errno));
}
