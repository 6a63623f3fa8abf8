/*
 * fuzz_config.c - libFuzzer target for the config loader and everything a
 * loaded config feeds: diagnostics formatting, grid enumeration, random
 * sampling and the flat <-> nested reshaping of a point.
 *
 * Besides crashes, leaks and hangs it checks the loader's contract: a
 * config comes back exactly when the file has no errors.
 *
 * Built with -DFUZZ_REPLAY_MAIN it is a plain program instead, with no
 * libFuzzer: every file named on the command line (a directory means each
 * regular file in it; no arguments means tests/fuzz/corpus and
 * tests/fuzz/regressions) is run once through LLVMFuzzerTestOneInput, so
 * the corpus replays under the normal (or asan) build. It ends with the
 * line "fuzz_replay: N passed, N failed" that scripts/run-tests.sh reads.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "grid.h"
#include "sbuf.h"
#include "search.h"
#include "space.h"

#define FUZZ_GRID_POINTS 50
#define FUZZ_RANDOM_RUNS 3
#define FUZZ_SEED 20240611UL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: abort so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                     \
            abort();                                                      \
        }                                                                 \
    } while (0)

static void fuzz_diags(const struct diags *d) {
    struct sbuf sb = SBUF_INIT;

    FUZZ_CHECK(d->n <= DIAGS_MAX);
    FUZZ_CHECK(d->n <= d->nerrors + d->nwarnings);
    for (size_t i = 0; i < d->n; i++) {
        sbuf_reset(&sb);
        diags_format(d, i, &sb);
        FUZZ_CHECK(sbuf_oom(&sb) || strlen(sbuf_str(&sb)) == sb.len);
        if (i > 0) /* config_load_buffer() sorts them */
            FUZZ_CHECK(d->v[i - 1].line < d->v[i].line ||
                       (d->v[i - 1].line == d->v[i].line &&
                        d->v[i - 1].col <= d->v[i].col));
    }
    sbuf_release(&sb);
}

/* A point must nest and flatten back to itself. */
static void fuzz_reshape(const struct sweep_config *cfg, const json_t *flat) {
    json_t *nested = space_nest(cfg, flat);
    json_t *back = nested ? space_flatten(cfg, nested) : NULL;

    if (back)
        FUZZ_CHECK(json_equal(back, (json_t *)flat));
    json_decref(back);
    json_decref(nested);
}

static void fuzz_grid(const struct sweep_config *cfg) {
    char errstr[256];
    struct grid *g = NULL;
    size_t cursor = 0, made = 0;

    if (grid_new(cfg, &g, errstr, sizeof(errstr)) < 0)
        return;
    FUZZ_CHECK(grid_size(g) >= 1);
    while (made < FUZZ_GRID_POINTS) {
        json_t *p = grid_next(g, &cursor);
        if (!p)
            break;
        made++;
        FUZZ_CHECK(json_object_size(p) == cfg->nparams);
        if (made == 1) {
            fuzz_reshape(cfg, p);
            FUZZ_CHECK(grid_cover(g, p) == 1); /* a point of the grid */
            FUZZ_CHECK(grid_cover(g, p) == 0); /* and only once */
        }
        json_decref(p);
    }
    FUZZ_CHECK(made <= grid_size(g));
    FUZZ_CHECK(made == FUZZ_GRID_POINTS || made == grid_size(g));
    grid_free(g);
}

static void fuzz_random(const struct sweep_config *cfg) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *out = json_array();
    char errstr[256];
    long n;

    if (!rng || !out)
        goto out;
    gsl_rng_set(rng, FUZZ_SEED);
    n = search_suggest(cfg, NULL, FUZZ_RANDOM_RUNS, rng, out, errstr,
                       sizeof(errstr));
    if (n >= 0) {
        FUZZ_CHECK((size_t)n == json_array_size(out));
        FUZZ_CHECK(n <= FUZZ_RANDOM_RUNS);
    }
    if (json_array_size(out) > 0)
        fuzz_reshape(cfg, json_array_get(out, 0));
out:
    json_decref(out);
    gsl_rng_free(rng);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    gsl_set_error_handler_off();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct diags d;
    struct sweep_config *cfg;

    diags_init(&d, "fuzz.yaml");
    cfg = config_load_buffer((const char *)data, size, "fuzz.yaml", &d);
    if (cfg)
        FUZZ_CHECK(d.nerrors == 0 && !d.oom);
    else
        FUZZ_CHECK(d.nerrors > 0 || d.oom);
    fuzz_diags(&d);
    if (cfg && cfg->method == METHOD_GRID)
        fuzz_grid(cfg);
    else if (cfg && cfg->method == METHOD_RANDOM)
        fuzz_random(cfg);
    config_free(cfg);
    diags_release(&d);
    return 0;
}

#ifdef FUZZ_REPLAY_MAIN
#include <dirent.h>
#include <sys/stat.h>

static int replay_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    int rc = -1;

    if (!fp) {
        fprintf(stderr, "replay: cannot open '%s'\n", path);
        return -1;
    }
    if (fseek(fp, 0, SEEK_END) < 0 || (len = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) < 0)
        goto out;
    /* exactly len bytes, so asan sees any read past the input */
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, fp) != (size_t)len)
        goto out;
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "replay: cannot read '%s'\n", path);
    free(buf);
    fclose(fp);
    return rc;
}

/* Every regular file directly in dir; returns failures, counts *ran. */
static int replay_dir(const char *dir, int *ran) {
    DIR *dp = opendir(dir);
    struct dirent *de;
    int failed = 0;

    if (!dp) {
        fprintf(stderr, "replay: cannot open directory '%s'\n", dir);
        return 1;
    }
    while ((de = readdir(dp))) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        failed += replay_file(path) < 0;
        (*ran)++;
    }
    closedir(dp);
    return failed;
}

/* With no arguments (as scripts/run-tests.sh runs it, from the
 * repository root): the checked-in corpus and regressions. */
int main(int argc, char **argv) {
    static char *defaults[] = {"tests/fuzz/corpus", "tests/fuzz/regressions"};
    char **paths = argc > 1 ? argv + 1 : defaults;
    int npaths = argc > 1 ? argc - 1 : 2, ran = 0, failed = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            failed += replay_dir(paths[i], &ran);
        } else {
            failed += replay_file(paths[i]) < 0;
            ran++;
        }
    }
    printf("fuzz_replay: %d passed, %d failed\n", ran - failed, failed);
    return failed ? 1 : 0;
}
#endif
