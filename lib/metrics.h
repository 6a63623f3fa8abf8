/*
 * metrics.h - metric values from a program's output lines, from any
 * language with no library:
 *   (a) JSON lines on the file descriptor named by SWEEP_METRICS_FD:
 *       {"loss": 0.31, "_step": 5}
 *   (b) name=value pairs on stdout and stderr lines, when every token of
 *       the line is one: "epoch=3 loss=0.31 acc=0.9"
 */
#ifndef SWEEP_METRICS_H
#define SWEEP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_PER_LINE 256
#define METRICS_MAX_NAME 128

struct metric_set {
    size_t n;
    char names[METRICS_MAX_PER_LINE][METRICS_MAX_NAME];
    double values[METRICS_MAX_PER_LINE];
    int has_step;
    int64_t step; /* from "_step" (which is not itself kept as a metric) */
};

/* Both parsers: any bytes are safe (len is honoured, NULs included); a
 * repeated name keeps its last value; "_step" sets step when its value is
 * an integer (else it is ignored); more than METRICS_MAX_PER_LINE metrics
 * rejects the line. On 0, *out is empty. */

/* (b): returns 1 and fills *out when the whole line is name=number pairs
 * (names [A-Za-z_][A-Za-z0-9_./-]* of at most METRICS_MAX_NAME-1 chars;
 * numbers as strtod reads them, also nan/inf), at least one; else 0. */
int metrics_parse_kv(const char *line, size_t len, struct metric_set *out);

/* (a): returns 1 and fills *out when the line is a JSON object (n may be
 * 0); numeric members are kept, others (booleans, strings, null, arrays,
 * objects) and names of METRICS_MAX_NAME bytes or more are skipped. Bare
 * NaN, Infinity and -Infinity (as Python's json.dumps writes them) are
 * read as numbers. 0 when the line is not a JSON object. */
int metrics_parse_json(const char *line, size_t len, struct metric_set *out);

#endif
