/*
 * prom.c - the Prometheus text format 0.0.4 writer (see prom.h).
 */
#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sweep.h"

/* The shortest of %.15g, %.16g, %.17g that reads back as v. */
static void fmt_double(char *out, size_t n, double v) {
    for (int p = 15; p <= 17; p++) {
        snprintf(out, n, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void add_value(struct sbuf *sb, double v) {
    char b[40];

    if (isnan(v))
        sbuf_adds(sb, "NaN");
    else if (isinf(v))
        sbuf_adds(sb, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        sbuf_addf(sb, "%lld", (long long)v);
    else {
        fmt_double(b, sizeof(b), v);
        sbuf_adds(sb, b);
    }
}

void prom_escape(struct sbuf *sb, const char *s) {
    for (; *s; s++) {
        if (*s == '\\')
            sbuf_adds(sb, "\\\\");
        else if (*s == '"')
            sbuf_adds(sb, "\\\"");
        else if (*s == '\n')
            sbuf_adds(sb, "\\n");
        else
            sbuf_addc(sb, *s);
    }
}

void prom_header(struct sbuf *sb, const char *name, const char *type,
                 const char *help) {
    sbuf_addf(sb, "# HELP %s ", name);
    for (const char *p = help; *p; p++) { /* HELP escapes no quotes */
        if (*p == '\\')
            sbuf_adds(sb, "\\\\");
        else if (*p == '\n')
            sbuf_adds(sb, "\\n");
        else
            sbuf_addc(sb, *p);
    }
    sbuf_addf(sb, "\n# TYPE %s %s\n", name, type);
}

static void sample_va(struct sbuf *sb, const char *name, double v, va_list ap) {
    const char *k;
    int n = 0;

    sbuf_adds(sb, name);
    while ((k = va_arg(ap, const char *))) {
        const char *val = va_arg(ap, const char *);
        sbuf_addf(sb, "%s%s=\"", n++ ? "," : "{", k);
        prom_escape(sb, val ? val : "");
        sbuf_addc(sb, '"');
    }
    if (n)
        sbuf_addc(sb, '}');
    sbuf_addc(sb, ' ');
    add_value(sb, v);
    sbuf_addc(sb, '\n');
}

void prom_sample(struct sbuf *sb, const char *name, double v, ...) {
    va_list ap;

    va_start(ap, v);
    sample_va(sb, name, v, ap);
    va_end(ap);
}

void prom_metric(struct sbuf *sb, const char *name, const char *type,
                 const char *help, double v) {
    prom_header(sb, name, type, help);
    prom_sample(sb, name, v, (const char *)NULL);
}

int prom_hist_init(struct prom_hist *h, const double *bounds, size_t n) {
    if (n > PROM_HIST_MAX)
        return SWEEP_EINVAL;
    for (size_t i = 1; i < n; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return SWEEP_EINVAL;
    *h = (struct prom_hist){.nb = n};
    for (size_t i = 0; i < n; i++)
        h->bounds[i] = bounds[i];
    if (pthread_mutex_init(&h->mu, NULL))
        return SWEEP_ENOMEM;
    return 0;
}

void prom_hist_release(struct prom_hist *h) {
    pthread_mutex_destroy(&h->mu);
}

void prom_hist_observe(struct prom_hist *h, double v) {
    size_t i = 0;

    while (i < h->nb && v > h->bounds[i]) /* le: v <= bound */
        i++;
    pthread_mutex_lock(&h->mu);
    h->counts[i]++;
    h->sum += v;
    h->count++;
    pthread_mutex_unlock(&h->mu);
}

void prom_hist_write(struct sbuf *sb, const char *name, const char *help,
                     struct prom_hist *h) {
    char bname[160], le[64];
    uint64_t cum = 0;

    prom_header(sb, name, "histogram", help);
    snprintf(bname, sizeof(bname), "%s_bucket", name);
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i <= h->nb; i++) {
        cum += h->counts[i];
        if (i < h->nb)
            fmt_double(le, sizeof(le), h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        prom_sample(sb, bname, (double)cum, "le", le, (const char *)NULL);
    }
    sbuf_addf(sb, "%s_sum ", name);
    add_value(sb, h->sum);
    sbuf_addc(sb, '\n');
    sbuf_addf(sb, "%s_count %llu\n", name, (unsigned long long)h->count);
    pthread_mutex_unlock(&h->mu);
}
