/* log.h -- levelled logging to stderr.
 *
 * Web servers put a FastCGI or CGI program's stderr into their error log
 * (lighttpd, Apache; nginx via FCGI_STDERR is not used: we write fd 2), so
 * one line per message, prefixed "emitcgi[pid]: level: ", is all we need.
 * Thread-safe: each message is one write(2).
 */
#ifndef EMITCGI_LOG_H
#define EMITCGI_LOG_H

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
