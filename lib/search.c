/* search.c - dispatch of search_suggest() to grid and random. */
#include "search.h"

#include <stdio.h>

#include "bayes.h"
#include "grid.h"
#include "space.h"
#include "sweep.h"

static long suggest_grid(const struct sweep_config *cfg,
                         const struct runs *prior, size_t count, json_t *out,
                         char *errstr, size_t errstr_size) {
    struct grid *g;
    size_t cursor = 0;
    long made = 0;
    int rc = grid_new(cfg, &g, errstr, errstr_size);

    if (rc)
        return rc;
    for (size_t i = 0; prior && i < prior->n && rc >= 0; i++) {
        json_t *flat = space_flatten(cfg, prior->v[i].params);
        rc = flat ? grid_cover(g, flat) : SWEEP_ENOMEM;
        json_decref(flat);
    }
    while (rc >= 0 && (count == 0 || (size_t)made < count)) {
        json_t *p = grid_next(g, &cursor);
        if (!p)
            break;
        if (json_array_append_new(out, p) < 0)
            rc = SWEEP_ENOMEM;
        else
            made++;
    }
    grid_free(g);
    if (rc < 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
    return made;
}

static long suggest_random(const struct sweep_config *cfg, size_t count,
                           gsl_rng *rng, json_t *out, char *errstr,
                           size_t errstr_size) {
    for (size_t i = 0; i < count; i++) {
        const struct param *bad = NULL;
        int rc;
        json_t *p = space_sample(cfg, rng, &rc, &bad);
        if (p && json_array_append_new(out, p) < 0)
            rc = SWEEP_ENOMEM;
        if (rc) {
            space_draw_strerror(errstr, errstr_size, bad, rc);
            return rc;
        }
    }
    return (long)count;
}

long search_suggest(const struct sweep_config *cfg, const struct runs *prior,
                    size_t count, gsl_rng *rng, json_t *out, char *errstr,
                    size_t errstr_size) {
    size_t nprior = prior ? prior->n : 0;

    if (count == 0 && cfg->method != METHOD_GRID)
        count = 1; /* only a grid has an end of its own */
    if (cfg->run_cap > 0) {
        size_t left = (unsigned long long)cfg->run_cap > nprior
                          ? (size_t)cfg->run_cap - nprior
                          : 0;
        if (count == 0 || count > left)
            count = left;
        if (count == 0)
            return 0;
    }
    switch (cfg->method) {
    case METHOD_GRID:
        return suggest_grid(cfg, prior, count, out, errstr, errstr_size);
    case METHOD_RANDOM:
        return suggest_random(cfg, count, rng, out, errstr,
                              errstr_size);
    case METHOD_BAYES:
        return bayes_suggest(cfg, prior, count, rng, out, errstr, errstr_size);
    }
    snprintf(errstr, errstr_size,
             "method %s cannot suggest runs offline in this version",
             config_method_name(cfg->method));
    return SWEEP_ENOTSUP;
}
