/* runtime.h -- what the FastCGI server and plain CGI share around api.c.
 *
 * Both transports serve requests with api_serve() on store connections of
 * their own and park waiters in a hub; around that they need the same
 * plumbing, kept here once:
 *
 *   struct runtime rt;
 *   runtime_init(&rt, cfg);                    opens the notify file
 *   runtime_store_open(&rt, &st);              a connection whose commits
 *                                              wake this hub and the others
 *   runtime_hub_options(&rt, &opts);           the hub settings of cfg
 *   runtime_set_hub(&rt, hub);                 once the hub exists
 *   runtime_housekeep(&rt, st, ids, n, ...);   presence tick, ended
 *                                              sessions, retention
 *   runtime_signals_block(&set);               SIGTERM, SIGINT, SIGHUP
 *   runtime_answer(&res, &result, &out);       serialise, or a bare 500
 *   runtime_release(&rt);
 *
 * The transport keeps what differs: how requests arrive and how bytes
 * leave (libfcgi threads or stdin/stdout), who runs the housekeeping (a
 * thread of its own, or the hub's touch callback) and when it stops.
 *
 * Threads: runtime_committed() (the store's commit hook) may run on any
 * thread; runtime_set_hub() must happen before any other thread can
 * commit (fcgi.c: before the worker threads start; cgi.c: it has one
 * thread until its hub runs).  runtime_housekeep() uses the caller's
 * store connection and so the caller's thread.
 */
#ifndef EMITCGI_RUNTIME_H
#define EMITCGI_RUNTIME_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "buf.h"
#include "config.h"
#include "error.h"
#include "hub.h"
#include "response.h"

struct notify;
struct store;

/* How often the housekeeping runs (presence, retention), in both modes. */
#define RUNTIME_HOUSEKEEPING_MS 1000

struct runtime {
	const struct config *cfg;
	struct notify *notify; /* pokes the hubs of other processes */
	struct hub *hub;       /* this process's hub; NULL until set */
};

/* Opens the notify file beside cfg->db_path.  On error (logged by the
 * caller, which knows the mode) nothing is held. */
enum ecode runtime_init(struct runtime *rt, const struct config *cfg);
void runtime_release(struct runtime *rt);

void runtime_set_hub(struct runtime *rt, struct hub *hub);

/* The store's commit hook: wakes this process's hub (when there is one)
 * and pokes the notify file for every other process.  ctx is the
 * struct runtime. */
void runtime_committed(void *ctx);

/* store_open() with runtime_committed() as the commit hook. */
enum ecode runtime_store_open(struct runtime *rt, struct store **out);

/* Fills the hub settings that come from the configuration (database,
 * heartbeat, stream length, capacity); the caller sets the rest (touch
 * callback, exit_when_idle, a smaller max_waiters). */
void runtime_hub_options(const struct runtime *rt, struct hub_options *out);

/* One housekeeping round on st: keeps the parked sessions online and takes
 * idle and expired ones offline (presence_tick()), ends the waiters of the
 * parked sessions that have ended (logout, expiry), then trims the log to
 * cfg->retention.  ended is scratch room for n ids.  Failures are logged
 * and retried next round: a round that fails changes nothing. */
void runtime_housekeep(struct runtime *rt, struct store *st,
		       const int64_t *parked, size_t n, int64_t *ended);

/* Blocks the stop signals (SIGTERM, SIGINT, SIGHUP) in the calling thread
 * and, through inheritance, in the threads it starts, and fills *set with
 * them for sigwait(); ignores SIGPIPE (a client gone is an EPIPE). */
void runtime_signals_block(sigset_t *set);

/* A vital thread (the loop, a worker, the housekeeping) failed: logs why
 * and ends the process with status 1 at once, so that a supervisor
 * (systemd Restart=on-failure, the web server) starts a whole one. */
_Noreturn void runtime_die(const char *why);

/* Serialises res into out: the transport's last step for a handler's
 * answer.  A parked poll (API_WAIT_FOR_EVENT with no status) has nothing
 * to write yet, the hub answers it.  When the answer cannot be serialised
 * out holds a bare 500 and *result becomes API_FINISHED. */
void runtime_answer(struct response *res, enum api_result *result,
		    struct buf *out);

#endif
