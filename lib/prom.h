/*
 * prom.h - a small writer of the Prometheus text exposition format 0.0.4
 * into an sbuf: metric headers, samples with escaped label values, and
 * fixed-bucket histograms that any thread may observe into.
 */
#ifndef SWEEP_PROM_H
#define SWEEP_PROM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

/* "# HELP name help" (help escaped: \\ and \n) and "# TYPE name type";
 * type is "counter", "gauge" or "histogram". */
void prom_header(struct sbuf *sb, const char *name, const char *type,
                 const char *help);
/* One sample line: name, then the NULL-terminated label name/value pairs
 * (values escaped: \\, \", \n), then v (+Inf, -Inf, NaN spelled so). */
void prom_sample(struct sbuf *sb, const char *name, double v, ...)
    __attribute__((sentinel));
/* A header and one unlabelled sample. */
void prom_metric(struct sbuf *sb, const char *name, const char *type,
                 const char *help, double v);
/* A label value with \\, \" and \n escaped. */
void prom_escape(struct sbuf *sb, const char *s);

#define PROM_HIST_MAX 16

/* Fixed buckets (upper bounds, ascending, +Inf implied); observe() and
 * write() lock mu, so the loop may observe while another thread writes. */
struct prom_hist {
    pthread_mutex_t mu;
    size_t nb;
    double bounds[PROM_HIST_MAX];
    uint64_t counts[PROM_HIST_MAX + 1]; /* per bucket, not cumulative */
    double sum;
    uint64_t count;
};

/* Copies n (<= PROM_HIST_MAX) ascending bounds; SWEEP_EINVAL otherwise. */
int prom_hist_init(struct prom_hist *h, const double *bounds, size_t n);
void prom_hist_release(struct prom_hist *h);
void prom_hist_observe(struct prom_hist *h, double v);
/* Header, cumulative name_bucket{le=...}, name_sum, name_count. */
void prom_hist_write(struct sbuf *sb, const char *name, const char *help,
                     struct prom_hist *h);

#endif
