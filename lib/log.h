/*
 * log.h - one logging macro for every program: LOG(LOG_WARN, "...", ...).
 *
 * The level is tested before formatting. Lines go to stderr as
 * "2026-11-27T20:56:41.123Z sweep-worker[123] warn: message".
 */
#ifndef SWEEP_LOG_H
#define SWEEP_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

/* Program name shown in each line (borrowed: pass a static string). */
void log_init(const char *progname, enum log_level threshold);
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int log_level_parse(const char *name);
/* librdkafka's syslog levels (3 error ... 7 debug) as ours. */
enum log_level log_level_from_syslog(int level);
void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG(level, ...)                   \
    do {                                  \
        if ((level) <= log_threshold)     \
            log_write((level), __VA_ARGS__); \
    } while (0)

#endif
