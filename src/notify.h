/* notify.h -- "events were committed" across every process on one database.
 *
 * Each database has a small companion file, "<db>-notify".  A process that
 * committed events pokes it (one pwrite of one byte, after COMMIT, so a
 * reader woken by it always sees the commit); every process watches it with
 * inotify and so learns of new events within a millisecond without polling.
 * The hub also falls back to a slow PRAGMA-free check of the last event id,
 * for writers that do not poke (the sqlite3 shell, network file systems).
 *
 * With a PostgreSQL EMITCGI_DB (store_db_listens(), store.h) there is no
 * file: the committing connection's NOTIFY (right after its COMMIT) reaches
 * every process on every machine, a poke does nothing, and the watcher's
 * descriptor is readable when the store's LISTEN connection has input, or when
 * it dropped and a reconnect is due; the hub checks the store after every
 * drain, so what was missed while it was down is read from the log.
 *
 *   struct notify *n;
 *   notify_open("/var/lib/emitcgi/emitcgi.db", &n);
 *   notify_poke(n);                 // any thread, after a commit
 *   epoll on notify_fd(n); when readable: notify_drain(n);
 *   notify_close(n);
 */
#ifndef EMITCGI_NOTIFY_H
#define EMITCGI_NOTIFY_H

#include <stdbool.h>

#include "error.h"

struct notify;

/* Opens (creating, mode 0660 less umask) "<db_path>-notify" for pokes and,
 * when watch is true, an inotify watch on it.  A process that only pokes
 * (every committing thread) needs no watch: inotify instances are limited
 * per user.  If no inotify instance can be had, notify_fd() is -1 and the
 * watcher must rely on its timer (logged once). */
enum ecode notify_open(const char *db_path, bool watch, struct notify **out);
void notify_close(struct notify *n);
/* Thread-safe.  Failures are logged, not returned: a missed poke only delays
 * delivery until the fallback check. */
void notify_poke(struct notify *n);
/* Readable (EPOLLIN) after a poke by any process, this one included;
 * -1 when not watching.  The same descriptor for the life of n (with
 * PostgreSQL an epoll instance holding the current socket). */
int notify_fd(const struct notify *n);
/* Consumes pending notifications; re-creates the watch if the file was
 * replaced (PostgreSQL: reconnects a dropped LISTEN connection). */
void notify_drain(struct notify *n);
/* issue 8: true when every poke written before this call has been
 * consumed by notify_drain(): the watch is an inotify watch in place (a
 * poke raises its event before pwrite() returns) and nothing is pending.
 * False when unknown: not watching, or a database server's NOTIFY (it
 * arrives some time after the COMMIT returned).  One poll() call. */
bool notify_quiet(const struct notify *n);

#endif
