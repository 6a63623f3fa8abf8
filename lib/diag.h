/*
 * diag.h - the diagnostics of one config file: every error and warning with
 * its position and key path, so all of them can be reported at once.
 *
 * Printed form: "FILE:LINE:COL: PATH: MESSAGE" for errors and
 * "FILE:LINE:COL: warning: PATH: MESSAGE" for warnings.
 */
#ifndef SWEEP_DIAG_H
#define SWEEP_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "sbuf.h"

/* Diagnostics kept per file; further ones are only counted. */
#define DIAGS_MAX 500

enum diag_level { DIAG_ERROR, DIAG_WARNING };

struct diag {
    enum diag_level level;
    int line; /* 1-based; 0 when unknown */
    int col;  /* 1-based; 0 when unknown */
    char *path; /* key path such as "parameters.lr.max"; "" for the root */
    char *msg;
};

struct diags {
    char *file; /* name used when printing */
    struct diag *v;
    size_t n, cap;
    size_t nerrors, nwarnings;
    int oom;
};

void diags_init(struct diags *d, const char *file);
void diags_release(struct diags *d);
void diags_add(struct diags *d, enum diag_level level, int line, int col,
               const char *path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Appends diagnostic i in printed form (no newline). */
void diags_format(const struct diags *d, size_t i, struct sbuf *sb);
/* Prints every diagnostic, one a line, in file order. */
void diags_print(const struct diags *d, FILE *fp);
/* Sorts by line, then column (stable), as a reader goes through the file. */
void diags_sort(struct diags *d);

#endif
