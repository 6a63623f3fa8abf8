/* log.c - timestamped log lines on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;
static const char *log_prog = "sweep";
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *progname, enum log_level threshold) {
    log_prog = progname;
    log_threshold = threshold;
}

int log_level_parse(const char *name) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, level_names[i]))
            return i;
    return -1;
}

void log_write(enum log_level level, const char *fmt, ...) {
    char msg[2048], stamp[32];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One fprintf per line, so lines from threads do not interleave. */
    fprintf(stderr, "%s.%03dZ %s[%d] %s: %s\n", stamp, (int)(tv.tv_usec / 1000),
            log_prog, (int)getpid(), level_names[level], msg);
}

enum log_level log_level_from_syslog(int level) {
    if (level <= 3)
        return LOG_ERROR;
    if (level == 4)
        return LOG_WARN;
    return level <= 6 ? LOG_INFO : LOG_DEBUG;
}
