/* main.c -- argv, subcommands, mode detection; wires the modules.
 *
 *   emitcgi                    FastCGI on fd 0 (spawned by a web server or
 *                              spawn-fcgi), or plain CGI when fd 0 is not a
 *                              listening socket
 *   emitcgi --listen SPEC      its own FastCGI server (unix:/path, HOST:PORT)
 *   emitcgi init               create or migrate the database
 *   emitcgi useradd NAME       add a user, password on stdin
 *   emitcgi --help | --version
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "auth.h"
#include "cgi.h"
#include "clock.h"
#include "config.h"
#include "fcgi.h"
#include "log.h"
#include "store.h"

static void main_usage(FILE *out)
{
	fprintf(out,
		"Usage: emitcgi [--listen unix:/path | HOST:PORT]\n"
		"       emitcgi init\n"
		"       emitcgi useradd NAME    (password on stdin)\n"
		"       emitcgi --help | --version\n"
		"\n"
		"Pushes live events (Server-Sent-Events, long-poll) from a FastCGI or\n"
		"CGI program behind Apache, lighttpd or nginx.\n"
		"\n"
		"Without arguments, serves FastCGI on fd 0 when started by a web server\n"
		"or spawn-fcgi, or answers one plain CGI request otherwise.\n"
		"\n"
		"  --listen SPEC   run as a FastCGI server on a unix socket or TCP address\n"
		"  init            create or migrate the database ($EMITCGI_DB)\n"
		"  useradd NAME    register NAME with the password read from stdin\n"
		"\n"
		"Environment (defaults in brackets):\n"
		"  EMITCGI_DB               SQLite database, or a PostgreSQL URL\n"
		"                           (postgresql://..., host=... dbname=...) [%s]\n"
		"  EMITCGI_BASE             URL prefix of the API [/api]\n"
		"  EMITCGI_PRESENCE_TIMEOUT seconds without stream or poll before offline [60]\n"
		"  EMITCGI_POLL_TIMEOUT     default and maximum long-poll wait, 1..60 [25]\n"
		"  EMITCGI_HEARTBEAT        seconds between SSE pings [15]\n"
		"  EMITCGI_STREAM_MAX       seconds a stream lives before a reconnect [600]\n"
		"  EMITCGI_RETENTION        events kept in the log [10000]\n"
		"  EMITCGI_MAX_SUBSCRIBERS  waiting clients per process [16000]\n"
		"  EMITCGI_THREADS          worker threads in FastCGI mode [8]\n"
		"  EMITCGI_SESSION_TTL      session lifetime in seconds [604800]\n"
		"  EMITCGI_METRICS_TOKEN    bearer token for /metrics from afar [unset]\n"
		"  EMITCGI_LOG_LEVEL        error, warn, info or debug [info]\n"
		"  EMITCGI_FCC_TESTING      1 serves /_api/server.js (discloses source) [0]\n"
		"  EMITCGI_RATE_EMIT        POST /emit a minute per session (x10 per address), 0 off [120]\n"
		"  EMITCGI_RATE_LOGIN       POST /login a minute per address, 0 off [60]\n"
		"  EMITCGI_RATE_REGISTER    POST /register a minute per address, 0 off [20]\n"
		"  EMITCGI_COOKIE_SECURE    1: Secure, prefixed cookie behind a TLS terminator [0]\n"
		"  EMITCGI_ORIGINS          allowed Origin values for POST, comma-separated [Host]\n"
		"  EMITCGI_METRICS_LOOPBACK 1: /metrics and /health details from loopback [0]\n"
		"  EMITCGI_MAX_WAITERS_PER_SESSION  streams and polls of one session [8]\n"
		"  EMITCGI_MAX_WAITERS_PER_USER     streams and polls of one user [32]\n"
		"  EMITCGI_MAX_SESSIONS_PER_USER    sessions of one user, oldest end first [20]\n"
		"  EMITCGI_DB_MAX_MB        cap on the database file in MiB, 0 none [0]\n"
		"  EMITCGI_SIO_PATH         path of the socket.io endpoint [/socket.io]\n"
		"  EMITCGI_SIO_PING_INTERVAL  socket.io ping interval in ms [25000]\n"
		"  EMITCGI_SIO_PING_TIMEOUT socket.io pong deadline in ms [20000]\n"
		"  EMITCGI_SIO_MAX_PAYLOAD  largest socket.io POST in bytes [1000000]\n"
		"\n"
		"See emitcgi(8) and %s.\n",
		config_default_db(),
		PACKAGE_URL[0] ? PACKAGE_URL : "the README");
}

static const char *main_getenv(const char *name)
{
	return getenv(name);
}

static int main_init(const struct config *cfg)
{
	int from = 0, to = 0;
	enum ecode rc = store_migrate(cfg->db_path, &from, &to);

	if (rc != EC_OK) {
		fprintf(stderr,
			"emitcgi: %s: cannot initialise the database: %s\n",
			cfg->db_path, ecode_name(rc));
		return 1;
	}
	if (from == to)
		printf("%s: schema version %d, up to date\n", cfg->db_path, to);
	else
		printf("%s: schema version %d -> %d\n", cfg->db_path, from, to);
	return 0;
}

static int main_useradd(const struct config *cfg, const char *name)
{
	char password[AUTH_PASSWORD_MAX + 3];
	char hash[AUTH_HASH_MAX + 1];
	struct store *st = NULL;
	size_t len;
	enum ecode rc;
	int status = 1;

	if (auth_check_username(name) != EC_OK) {
		fprintf(stderr,
			"emitcgi: %s: a username is 1-32 characters of A-Z a-z 0-9 _ . -\n",
			name);
		return 1;
	}
	if (!fgets(password, sizeof(password), stdin)) {
		fprintf(stderr, "emitcgi: useradd: no password on stdin\n");
		return 1;
	}
	len = strcspn(password, "\r\n");
	if (password[len] == '\0' && len > AUTH_PASSWORD_MAX) {
		fprintf(stderr,
			"emitcgi: useradd: password longer than %d bytes\n",
			AUTH_PASSWORD_MAX);
		return 1;
	}
	password[len] = '\0';
	if (auth_check_password(password, len) != EC_OK) {
		fprintf(stderr, "emitcgi: useradd: a password is %d-%d bytes\n",
			AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
		return 1;
	}
	if ((rc = store_migrate(cfg->db_path, NULL, NULL)) != EC_OK ||
	    (rc = store_open(cfg->db_path, &st)) != EC_OK) {
		fprintf(stderr, "emitcgi: %s: %s\n", cfg->db_path,
			ecode_name(rc));
		return 1;
	}
	if ((rc = auth_hash_password(password, hash, sizeof(hash))) != EC_OK)
		fprintf(stderr, "emitcgi: useradd: cannot hash: %s\n",
			ecode_name(rc));
	else if ((rc = store_user_add(st, name, hash, clock_wall_ms())) !=
		 EC_OK)
		fprintf(stderr, "emitcgi: useradd %s: %s\n", name,
			rc == EC_USERNAME_TAKEN ? "username taken"
						: ecode_name(rc));
	else {
		printf("user %s added\n", name);
		status = 0;
	}
	store_close(st);
	return status;
}

/* fds the program needs besides one per waiter: stdio, the listening
 * socket, epoll, eventfds, inotify, and per worker thread a store
 * connection (SQLite: database, -wal, -shm; PostgreSQL: one socket). */
#define MAIN_FDS_RESERVED 64
#define MAIN_FDS_PER_THREAD 4

/* Issue 9: under spawn-fcgi, lighttpd's bin-path or Apache the soft
 * RLIMIT_NOFILE is often 1024 while EMITCGI_MAX_SUBSCRIBERS is 16000: every
 * waiter past it would fail on accept with EMFILE.  Raise the soft limit
 * to the hard one, then lower max_subscribers to what fits, saying so. */
static void main_fit_fds(struct config *cfg)
{
	struct rlimit rl;
	rlim_t reserved, fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("setrlimit(RLIMIT_NOFILE, %llu): %s",
				 (unsigned long long)rl.rlim_max,
				 strerror(errno));
			rl.rlim_cur = was;
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	reserved =
		MAIN_FDS_RESERVED + (rlim_t)cfg->threads * MAIN_FDS_PER_THREAD;
	fit = rl.rlim_cur > reserved ? rl.rlim_cur - reserved : 1;
	if ((rlim_t)cfg->max_subscribers > fit) {
		log_warn("EMITCGI_MAX_SUBSCRIBERS=%d lowered to %llu: open "
			 "files are limited to %llu (raise LimitNOFILE= or "
			 "ulimit -n)",
			 cfg->max_subscribers, (unsigned long long)fit,
			 (unsigned long long)rl.rlim_cur);
		cfg->max_subscribers = (int)fit;
	}
}

static int main_serve_fcgi(struct config *cfg, int listen_fd)
{
	enum ecode rc = store_migrate(cfg->db_path, NULL, NULL);

	if (rc != EC_OK) {
		fprintf(stderr, "emitcgi: %s: cannot open the database: %s\n",
			cfg->db_path, ecode_name(rc));
		return 1;
	}
	return fcgi_serve(cfg, listen_fd);
}

int main(int argc, char **argv)
{
	struct config cfg;
	char msg[512];
	const char *listen_spec = NULL;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			main_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("emitcgi %s\n", PACKAGE_VERSION);
			return 0;
		}
	}
	if (config_load(&cfg, main_getenv, msg, sizeof(msg)) != EC_OK) {
		fprintf(stderr, "emitcgi: %s\n", msg);
		return 1;
	}
	log_set_level((enum log_level)cfg.log_level);
	store_set_max_bytes((int64_t)cfg.db_max_mb * 1024 * 1024);

	if (argc >= 2 && !strcmp(argv[1], "init")) {
		if (argc != 2) {
			fprintf(stderr, "emitcgi: init takes no arguments\n");
			return 2;
		}
		return main_init(&cfg);
	}
	if (argc >= 2 && !strcmp(argv[1], "useradd")) {
		if (argc != 3) {
			fprintf(stderr,
				"emitcgi: usage: emitcgi useradd NAME < password\n");
			return 2;
		}
		return main_useradd(&cfg, argv[2]);
	}
	if (argc >= 2 && !strcmp(argv[1], "--listen")) {
		if (argc != 3) {
			fprintf(stderr,
				"emitcgi: usage: emitcgi --listen unix:/path | HOST:PORT\n");
			return 2;
		}
		listen_spec = argv[2];
	} else if (argc >= 2 && !strncmp(argv[1], "--listen=", 9) &&
		   argc == 2) {
		listen_spec = argv[1] + 9;
	} else if (argc != 1) {
		fprintf(stderr, "emitcgi: unknown argument '%s' (see --help)\n",
			argv[1]);
		return 2;
	}

	if (listen_spec) {
		/* Fitted before the socket is bound: from then on clients
		 * can connect, and the process must be as it will serve. */
		main_fit_fds(&cfg);
		if (fcgi_listen(listen_spec, &fd, msg, sizeof(msg)) != EC_OK) {
			fprintf(stderr, "emitcgi: --listen %s\n", msg);
			return 1;
		}
		return main_serve_fcgi(&cfg, fd);
	}
	if (!FCGX_IsCGI()) {
		main_fit_fds(&cfg);
		return main_serve_fcgi(&cfg, 0);
	}
	if (!getenv("REQUEST_METHOD") && !getenv("GATEWAY_INTERFACE")) {
		fprintf(stderr,
			"emitcgi: not started by a web server (no FastCGI socket on fd 0,\n"
			"no CGI environment). Use --listen, or see --help.\n");
		return 2;
	}
	return cgi_serve(&cfg);
}
