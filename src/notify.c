/* notify.c -- cross-process "events were committed" (see notify.h).
 *
 * One file per database, "<db>-notify".  A poke is a pwrite() of one byte
 * at offset 0 through an O_WRONLY descriptor opened once: the file never
 * grows, and pwrite() on one descriptor from many threads needs no lock.
 * Every process keeps an inotify watch on the file; a write raises
 * IN_MODIFY in all of them, so their hubs wake within a millisecond.
 *
 * Why this and not inotify on the WAL or polling PRAGMA data_version: a
 * writer appends frames to the WAL before it updates the wal-index in
 * shared memory, so a reader woken by the WAL write can look before the
 * commit is visible and then sleep on it; and polling costs a query per
 * interval per process.  A poke is written after COMMIT returned, so a
 * reader woken by it always sees the commit.  (docs/HUB.md has more.)
 *
 * The watch covers IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB (writes, and a
 * touch(1) by hand) and IN_DELETE_SELF | IN_MOVE_SELF (the file was
 * replaced).  An unlink while some process still holds the file open only
 * raises IN_ATTRIB (the link count changed), so after any of the last four
 * notify_drain() compares the path's inode with the watched one and, when
 * it changed or the kernel dropped the watch (IN_IGNORED), re-creates the
 * file if needed and watches it again; the caller checks the store after
 * every drain, so nothing is lost meanwhile.
 * The poke descriptor is not reopened: a process whose file was replaced
 * pokes the old inode until it restarts, and its readers fall back on the
 * hub's periodic check.
 *
 * A database server that notifies by itself (PostgreSQL: the committing
 * connection's NOTIFY, right after its COMMIT, reaches every process on
 * every machine; store_db_listens()) needs no file: a poke does nothing,
 * and the watcher is the store's listening connection (store_listen_*(),
 * store.h; no libpq here).  Its socket changes when it reconnects, so
 * notify_fd() is an epoll instance of our own, stable for the hub's loop,
 * holding the current socket and a timerfd.  When the connection drops,
 * notify_drain() reconnects at once or arms the timer to try again
 * (NOTIFY_RETRY_MIN_MS doubling to NOTIFY_RETRY_MAX_MS); either way the
 * hub checks the store after every drain, reading from its last id, so
 * notifications lost while the connection was down cost nothing.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "notify.h"
#include "store.h"

#define NOTIFY_RETRY_MIN_MS 100
#define NOTIFY_RETRY_MAX_MS 2000

#define NOTIFY_SUFFIX "-notify"
#define NOTIFY_MASK                                                            \
	(IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct notify {
	int ifd;   /* inotify instance, non-blocking */
	int wd;	   /* watch on path, -1 when none */
	int wfd;   /* O_WRONLY on path, for pokes */
	dev_t dev; /* the watched inode */
	ino_t ino;
	/* A server that notifies (store_db_listens()): */
	bool server;
	struct store_listen *ls; /* NULL unless watching */
	int epfd;		 /* notify_fd(): the socket and the timer */
	int tfd;		 /* timerfd: the next reconnect attempt */
	int sock;		 /* the socket in epfd, -1 when none */
	int retry_ms;		 /* the pause after the next failure */
	char path[];
};

static enum ecode notify_server_add(struct notify *n)
{
	struct epoll_event ev = { .events = EPOLLIN };

	n->sock = store_listen_fd(n->ls);
	if (n->sock < 0)
		return EC_IO;
	ev.data.fd = n->sock;
	if (epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->sock, &ev) < 0) {
		log_error("notify: epoll_ctl: %s", strerror(errno));
		n->sock = -1;
		return EC_IO;
	}
	return EC_OK;
}

/* The listening connection dropped (and is closed): try again now, else
 * when the timer fires. */
static void notify_server_lost(struct notify *n)
{
	struct itimerspec it = { 0 };

	/* Closing the socket removed it from epfd already. */
	n->sock = -1;
	if (store_listen_reconnect(n->ls) == EC_OK &&
	    notify_server_add(n) == EC_OK) {
		n->retry_ms = NOTIFY_RETRY_MIN_MS;
		return;
	}
	it.it_value.tv_sec = n->retry_ms / 1000;
	it.it_value.tv_nsec = (long)(n->retry_ms % 1000) * 1000000L;
	if (timerfd_settime(n->tfd, 0, &it, NULL) < 0)
		log_error("notify: timerfd_settime: %s", strerror(errno));
	n->retry_ms *= 2;
	if (n->retry_ms > NOTIFY_RETRY_MAX_MS)
		n->retry_ms = NOTIFY_RETRY_MAX_MS;
}

static void notify_server_drain(struct notify *n)
{
	uint64_t expired;
	bool lost = true;

	if (!n->ls)
		return;
	/* Non-blocking: EAGAIN when the timer did not fire. */
	(void)!read(n->tfd, &expired, sizeof(expired));
	if (n->sock >= 0)
		(void)store_listen_drain(n->ls, &lost);
	if (lost)
		notify_server_lost(n);
}

static enum ecode notify_server_open(struct notify *n, const char *db,
				     bool watch)
{
	struct epoll_event ev = { .events = EPOLLIN };
	enum ecode rc;

	n->server = true;
	n->epfd = n->tfd = n->sock = -1;
	n->retry_ms = NOTIFY_RETRY_MIN_MS;
	if (!watch)
		return EC_OK; /* pokes: the server's NOTIFY does it */
	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	n->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (n->epfd < 0 || n->tfd < 0) {
		log_error("notify: epoll/timerfd: %s", strerror(errno));
		return EC_IO;
	}
	ev.data.fd = n->tfd;
	if (epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->tfd, &ev) < 0) {
		log_error("notify: epoll_ctl: %s", strerror(errno));
		return EC_IO;
	}
	if ((rc = store_listen_open(db, &n->ls)) != EC_OK)
		return rc;
	return n->ls ? notify_server_add(n) : EC_INTERNAL;
}

static enum ecode notify_watch(struct notify *n)
{
	struct stat st;

	n->wd = inotify_add_watch(n->ifd, n->path, NOTIFY_MASK);
	if (n->wd < 0) {
		log_error("notify: inotify_add_watch %s: %s", n->path,
			  strerror(errno));
		return EC_IO;
	}
	if (stat(n->path, &st) == 0) {
		n->dev = st.st_dev;
		n->ino = st.st_ino;
	}
	return EC_OK;
}

/* Creates the file if it is missing; returns an O_WRONLY descriptor. */
static int notify_create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0660);

	if (fd < 0)
		log_error("notify: open %s: %s", path, strerror(errno));
	return fd;
}

enum ecode notify_open(const char *db_path, bool watch, struct notify **out)
{
	size_t len = strlen(db_path);
	struct notify *n;
	enum ecode rc;

	*out = NULL;
	n = malloc(sizeof(*n) + len + sizeof(NOTIFY_SUFFIX));
	if (!n)
		return EC_NOMEM;
	memcpy(n->path, db_path, len);
	memcpy(n->path + len, NOTIFY_SUFFIX, sizeof(NOTIFY_SUFFIX));
	n->wd = -1;
	n->ifd = -1;
	n->dev = 0;
	n->ino = 0;
	n->wfd = -1;
	n->server = false;
	n->ls = NULL;
	n->epfd = n->tfd = n->sock = -1;
	if (store_db_listens(db_path)) {
		if ((rc = notify_server_open(n, db_path, watch)) != EC_OK)
			goto out;
		*out = n;
		return EC_OK;
	}
	n->wfd = notify_create(n->path);
	if (n->wfd < 0) {
		rc = EC_IO;
		goto out;
	}
	if (!watch) {
		*out = n;
		return EC_OK;
	}
	/* Out of inotify instances (fs.inotify.max_user_instances, 128 by
	 * default: many CGI processes of one user reach it) is not fatal:
	 * the watcher falls back to its timer. */
	n->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (n->ifd < 0) {
		log_warn("notify: inotify_init1: %s; checking by timer instead",
			 strerror(errno));
		*out = n;
		return EC_OK;
	}
	if ((rc = notify_watch(n)) != EC_OK)
		goto out;
	*out = n;
	return EC_OK;
out:
	notify_close(n);
	return rc;
}

void notify_close(struct notify *n)
{
	if (!n)
		return;
	store_listen_close(n->ls);
	if (n->epfd >= 0 && close(n->epfd) < 0)
		log_warn("notify: close: %s", strerror(errno));
	if (n->tfd >= 0 && close(n->tfd) < 0)
		log_warn("notify: close: %s", strerror(errno));
	if (n->ifd >= 0 && close(n->ifd) < 0)
		log_warn("notify: close: %s", strerror(errno));
	if (n->wfd >= 0 && close(n->wfd) < 0)
		log_warn("notify: close: %s", strerror(errno));
	free(n);
}

void notify_poke(struct notify *n)
{
	ssize_t w;

	if (n->server)
		return;
	do
		w = pwrite(n->wfd, "!", 1, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		log_warn("notify: poke %s: %s", n->path, strerror(errno));
}

int notify_fd(const struct notify *n)
{
	return n->server ? n->epfd : n->ifd;
}

bool notify_quiet(const struct notify *n)
{
	struct pollfd p;
	int r;

	if (!n || n->server || n->ifd < 0 || n->wd < 0)
		return false;
	p = (struct pollfd){ .fd = n->ifd, .events = POLLIN };
	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	return r == 0;
}

void notify_drain(struct notify *n)
{
	/* Aligned as the kernel's struct inotify_event wants. */
	char evbuf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool rewatch = false, check = false;
	struct stat st;
	ssize_t len;

	if (n->server) {
		notify_server_drain(n);
		return;
	}
	if (n->ifd < 0)
		return;

	for (;;) {
		len = read(n->ifd, evbuf, sizeof(evbuf));
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("notify: read: %s", strerror(errno));
			break;
		}
		if (len == 0)
			break;
		for (char *p = evbuf; p < evbuf + len;) {
			const struct inotify_event *ev = (const void *)p;

			/* A watch removed by us below reports IN_IGNORED
			 * later under its old number: not ours any more. */
			if ((ev->mask & IN_IGNORED) && ev->wd == n->wd)
				rewatch = true;
			if (ev->mask &
			    (IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF))
				check = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (check && !rewatch &&
	    (stat(n->path, &st) < 0 || st.st_dev != n->dev ||
	     st.st_ino != n->ino)) {
		/* The watched inode is no longer at path: drop its watch. */
		if (n->wd >= 0)
			(void)inotify_rm_watch(n->ifd, n->wd);
		rewatch = true;
	}
	if (rewatch) {
		int fd = notify_create(n->path);

		if (fd >= 0 && close(fd) < 0)
			log_warn("notify: close: %s", strerror(errno));
		if (notify_watch(n) == EC_OK)
			log_info("notify: %s was replaced, watching it again",
				 n->path);
	}
}
