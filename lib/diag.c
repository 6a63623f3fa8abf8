/* diag.c - collecting and printing a config file's diagnostics. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diags_init(struct diags *d, const char *file) {
    memset(d, 0, sizeof(*d));
    d->file = strdup(file ? file : "<config>");
    if (!d->file)
        d->oom = 1;
}

void diags_release(struct diags *d) {
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].path);
        free(d->v[i].msg);
    }
    free(d->v);
    free(d->file);
    memset(d, 0, sizeof(*d));
}

void diags_add(struct diags *d, enum diag_level level, int line, int col,
               const char *path, const char *fmt, ...) {
    struct sbuf sb = SBUF_INIT;
    struct diag *dg;
    va_list ap;

    /* Count even when out of memory, so callers still see the failure. */
    if (level == DIAG_ERROR)
        d->nerrors++;
    else
        d->nwarnings++;
    /* A hostile file can hold millions of mistakes; a reader wants the
     * first few hundred, and diags_print() says how many were left out. */
    if (d->n >= DIAGS_MAX)
        return;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        struct diag *nv = realloc(d->v, ncap * sizeof(*nv));
        if (!nv) {
            d->oom = 1;
            return;
        }
        d->v = nv;
        d->cap = ncap;
    }
    va_start(ap, fmt);
    sbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    dg = &d->v[d->n];
    dg->level = level;
    dg->line = line;
    dg->col = col;
    dg->path = strdup(path ? path : "");
    dg->msg = sbuf_detach(&sb);
    if (!dg->path || !dg->msg) {
        free(dg->path);
        free(dg->msg);
        d->oom = 1;
        return;
    }
    d->n++;
}

void diags_format(const struct diags *d, size_t i, struct sbuf *sb) {
    const struct diag *dg = &d->v[i];

    sbuf_addf(sb, "%s:%d:%d: ", d->file, dg->line, dg->col);
    if (dg->level == DIAG_WARNING)
        sbuf_adds(sb, "warning: ");
    if (dg->path[0])
        sbuf_addf(sb, "%s: ", dg->path);
    sbuf_adds(sb, dg->msg);
}

void diags_print(const struct diags *d, FILE *fp) {
    struct sbuf sb = SBUF_INIT;

    for (size_t i = 0; i < d->n; i++) {
        sbuf_reset(&sb);
        diags_format(d, i, &sb);
        fprintf(fp, "%s\n", sbuf_str(&sb));
    }
    if (d->nerrors + d->nwarnings > d->n && !d->oom)
        fprintf(fp, "%s: %zu more diagnostics not shown\n", d->file,
                d->nerrors + d->nwarnings - d->n);
    if (d->oom)
        fprintf(fp, "%s: out of memory while reporting errors\n", d->file);
    sbuf_release(&sb);
}

static int diag_cmp(const void *pa, const void *pb) {
    const struct diag *a = pa, *b = pb;

    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return 0;
}

void diags_sort(struct diags *d) {
    /* qsort is not stable: insertion sort keeps equal positions in the
     * order they were found (the file is small, so is n). */
    for (size_t i = 1; i < d->n; i++) {
        struct diag tmp = d->v[i];
        size_t j = i;
        while (j > 0 && diag_cmp(&d->v[j - 1], &tmp) > 0) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = tmp;
    }
}
