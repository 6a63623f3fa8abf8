/*
 * config.c - loading and validating a W&B sweep config (COMPAT.md 1-4).
 *
 * The YAML tree (ytree) is walked once; every problem is recorded in the
 * caller's diags with the node's position and the literal key path, and
 * the walk goes on, so a user sees every error of the file at once.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "sweep.h"
#include "ytree.h"

struct loader {
    struct diags *d;
    struct sweep_config *cfg;
    size_t capparams;
    long budget; /* nodes left for alias expansion */
    int method_ok; /* method read: method-specific checks can run */
    int oom;
};

static const char *const top_keys[] = {
    "method", "parameters", "metric", "early_terminate", "run_cap",
    "program", "command", "name", "description", "project", "entity",
    "controller", "kind", "apiVersion", NULL};

static const char *const param_keys[] = {
    "distribution", "value", "values", "probabilities", "min", "max", "mu",
    "sigma", "q", "a", "b", "parameters", NULL};

static const char *const metric_keys[] = {
    "name", "goal", "target", "impute", "impute_while_running", NULL};

static const char *const et_keys[] = {
    "type", "min_iter", "max_iter", "s", "eta", "strict", NULL};

static const char *const method_names[] = {"grid", "random", "bayes", NULL};

static const char *const dist_names[] = {
#define PARAM_X_NAME(e, s) s,
    PARAM_DISTS(PARAM_X_NAME)
#undef PARAM_X_NAME
    NULL};

/* Which keys (besides "distribution") each distribution takes. */
enum {
    K_VALUE = 1 << 0, K_VALUES = 1 << 1, K_PROBS = 1 << 2, K_MIN = 1 << 3,
    K_MAX = 1 << 4, K_MU = 1 << 5, K_SIGMA = 1 << 6, K_Q = 1 << 7,
    K_A = 1 << 8, K_B = 1 << 9
};

static const unsigned dist_keys[DIST__COUNT] = {
    [DIST_CONSTANT] = K_VALUE,
    [DIST_CATEGORICAL] = K_VALUES,
    [DIST_CATEGORICAL_W_PROBS] = K_VALUES | K_PROBS,
    [DIST_INT_UNIFORM] = K_MIN | K_MAX,
    [DIST_UNIFORM] = K_MIN | K_MAX,
    [DIST_Q_UNIFORM] = K_MIN | K_MAX | K_Q,
    [DIST_LOG_UNIFORM_VALUES] = K_MIN | K_MAX,
    [DIST_INV_LOG_UNIFORM_VALUES] = K_MIN | K_MAX,
    [DIST_Q_LOG_UNIFORM_VALUES] = K_MIN | K_MAX | K_Q,
    [DIST_LOG_UNIFORM] = K_MIN | K_MAX,
    [DIST_INV_LOG_UNIFORM] = K_MIN | K_MAX,
    [DIST_Q_LOG_UNIFORM] = K_MIN | K_MAX | K_Q,
    [DIST_NORMAL] = K_MU | K_SIGMA,
    [DIST_Q_NORMAL] = K_MU | K_SIGMA | K_Q,
    [DIST_LOG_NORMAL] = K_MU | K_SIGMA,
    [DIST_Q_LOG_NORMAL] = K_MU | K_SIGMA | K_Q,
    [DIST_BETA] = K_A | K_B,
    [DIST_Q_BETA] = K_A | K_B | K_Q,
};

static const struct {
    const char *key;
    unsigned bit;
} key_bits[] = {{"value", K_VALUE}, {"values", K_VALUES},
                {"probabilities", K_PROBS}, {"min", K_MIN}, {"max", K_MAX},
                {"mu", K_MU}, {"sigma", K_SIGMA}, {"q", K_Q}, {"a", K_A},
                {"b", K_B}};

const char *config_method_name(enum sweep_method m) {
    return (unsigned)m < 3 ? method_names[m] : "?";
}

const char *config_dist_name(enum param_dist dist) {
    return (unsigned)dist < DIST__COUNT ? dist_names[dist] : "?";
}

/* ---- diagnostics ---- */

static void report(struct loader *L, enum diag_level lvl,
                   const struct ynode *n, const char *path, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

static void report(struct loader *L, enum diag_level lvl,
                   const struct ynode *n, const char *path, const char *fmt,
                   ...) {
    struct sbuf sb = SBUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    sbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    diags_add(L->d, lvl, n ? n->line : 0, n ? n->col : 0, path, "%s",
              sbuf_str(&sb));
    sbuf_release(&sb);
}

#define ERR(L, n, path, ...) report(L, DIAG_ERROR, n, path, __VA_ARGS__)
#define WARN(L, n, path, ...) report(L, DIAG_WARNING, n, path, __VA_ARGS__)

/* "parameters" + "lr" -> "parameters.lr"; caller frees. */
static char *path_join(const char *a, const char *b) {
    struct sbuf sb = SBUF_INIT;

    if (a && *a) {
        sbuf_adds(&sb, a);
        sbuf_addc(&sb, '.');
    }
    sbuf_adds(&sb, b);
    return sbuf_detach(&sb);
}

/* ---- nearest-key suggestions ---- */

/* Optimal string alignment distance: a swap of two neighbours counts as
 * one edit, the commonest typo in keys ("valuse"). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), d[64][64];

    if (la >= 63 || lb >= 63)
        return (size_t)-1;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* The candidate nearest to word, if near enough to be a likely typo; on a
 * tie the one of the same length (a swap rather than a cut). */
static const char *suggest(const char *word, const char *const *cands) {
    const char *best = NULL;
    size_t bestd = (size_t)-1, limit = strlen(word) / 3 + 1, wl = strlen(word);

    for (; *cands; cands++) {
        size_t dist = edit_distance(word, *cands);
        if (dist < bestd || (dist == bestd && best && strlen(*cands) == wl &&
                             strlen(best) != wl)) {
            bestd = dist;
            best = *cands;
        }
    }
    return bestd <= limit ? best : NULL;
}

static void unknown_key(struct loader *L, const struct ynode *k,
                        const char *parent, const char *const *valid,
                        const char *what) {
    char *path = path_join(parent, k->text);
    const char *s = suggest(k->text, valid);

    if (s)
        ERR(L, k, path, "unknown key '%s' in %s (did you mean '%s'?)",
            k->text, what, s);
    else
        ERR(L, k, path, "unknown key '%s' in %s", k->text, what);
    free(path);
}

/* Reports every key of map not in valid; returns how many. */
static int check_keys(struct loader *L, const struct ynode *map,
                      const char *path, const char *const *valid,
                      const char *what) {
    int unknown = 0;

    for (size_t i = 0; i < ynode_map_len(map); i++) {
        const struct ynode *k = ynode_key(map, i);
        const char *const *v;
        for (v = valid; *v && strcmp(*v, k->text); v++)
            ;
        if (!*v) {
            unknown_key(L, k, path, valid, what);
            unknown++;
        }
    }
    return unknown;
}

/* ---- typed getters: each reports its own error and returns -1 ---- */

static int get_string(struct loader *L, const struct ynode *n,
                      const char *path, char **out) {
    if (n->kind != YN_STR) {
        ERR(L, n, path, "must be a string, not %s", ynode_kind_name(n));
        return -1;
    }
    *out = strdup(n->text);
    if (!*out)
        L->oom = 1;
    return *out ? 0 : -1;
}

static int get_number(struct loader *L, const struct ynode *n,
                      const char *path, double *out) {
    if (!ynode_is_number(n)) {
        ERR(L, n, path, "must be a number, not %s", ynode_kind_name(n));
        return -1;
    }
    *out = ynode_number(n);
    if (!isfinite(*out)) {
        ERR(L, n, path, "must be a finite number, not %s", n->text);
        return -1;
    }
    return 0;
}

static int get_int(struct loader *L, const struct ynode *n, const char *path,
                   long long *out) {
    if (n->kind != YN_INT) {
        ERR(L, n, path, "must be an integer, not %s", ynode_kind_name(n));
        return -1;
    }
    *out = n->i;
    return 0;
}

/* One of `names`, by index. */
static int get_enum(struct loader *L, const struct ynode *n, const char *path,
                    const char *const *names, const char *what) {
    struct sbuf sb = SBUF_INIT;
    const char *s;

    if (n->kind == YN_STR) {
        for (int i = 0; names[i]; i++)
            if (!strcmp(n->text, names[i]))
                return i;
    }
    for (int i = 0; names[i]; i++)
        sbuf_addf(&sb, "%s%s", i ? ", " : "", names[i]);
    s = n->kind == YN_STR ? suggest(n->text, names) : NULL;
    if (n->kind != YN_STR)
        ERR(L, n, path, "must be one of %s, not %s", sbuf_str(&sb),
            ynode_kind_name(n));
    else if (s)
        ERR(L, n, path, "unknown %s '%s' (did you mean '%s'?); expected one of %s",
            what, n->text, s, sbuf_str(&sb));
    else
        ERR(L, n, path, "unknown %s '%s'; expected one of %s", what, n->text,
            sbuf_str(&sb));
    sbuf_release(&sb);
    return -1;
}

static json_t *get_json(struct loader *L, const struct ynode *n,
                        const char *path) {
    const struct ynode *bad = NULL;
    json_t *j = ynode_to_json(n, &L->budget, &bad);

    if (j)
        return j;
    if (bad)
        ERR(L, bad, path, "non-finite number '%s' cannot be a value", bad->text);
    else if (L->budget < 0)
        ERR(L, n, path, "too large: more than %d values, counting alias expansion",
            YTREE_MAX_EXPANDED);
    else
        L->oom = 1;
    return NULL;
}

/* ---- parameters ---- */

static int valid_name(const char *s, size_t len) {
    if (!len || strlen(s) != len)
        return 0;
    if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return 0;
    for (s++; *s; s++) {
        if (!(*s == '_' || *s == '.' || *s == '-' || (*s >= '0' && *s <= '9') ||
              (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
            return 0;
    }
    return 1;
}

struct pspec { /* the keys of one parameter's mapping */
    const struct ynode *n[12]; /* indexed like param_keys */
    const struct ynode *k[12];
};

enum { P_DIST, P_VALUE, P_VALUES, P_PROBS, P_MIN, P_MAX, P_MU, P_SIGMA,
       P_Q, P_A, P_B, P_PARAMS };

static void read_pspec(const struct ynode *spec, struct pspec *ps) {
    memset(ps, 0, sizeof(*ps));
    for (int i = 0; param_keys[i]; i++)
        ps->n[i] = ynode_get(spec, param_keys[i], &ps->k[i]);
}

static struct param *new_param(struct loader *L) {
    struct sweep_config *cfg = L->cfg;

    if (cfg->nparams == L->capparams) {
        size_t ncap = L->capparams ? L->capparams * 2 : 8;
        struct param *nv = realloc(cfg->params, ncap * sizeof(*nv));
        if (!nv) {
            L->oom = 1;
            return NULL;
        }
        cfg->params = nv;
        L->capparams = ncap;
    }
    memset(&cfg->params[cfg->nparams], 0, sizeof(struct param));
    return &cfg->params[cfg->nparams++];
}

static int infer_dist(struct loader *L, const struct pspec *ps,
                      const struct ynode *spec, const char *path,
                      int had_unknown) {
    if (ps->n[P_DIST]) {
        char *kp = path_join(path, "distribution");
        int d = get_enum(L, ps->n[P_DIST], kp, dist_names, "distribution");
        free(kp);
        if (d == DIST_CATEGORICAL && ps->n[P_PROBS])
            d = DIST_CATEGORICAL_W_PROBS;
        return d;
    }
    if (ps->n[P_VALUES])
        return ps->n[P_PROBS] ? DIST_CATEGORICAL_W_PROBS : DIST_CATEGORICAL;
    if (ps->n[P_VALUE])
        return DIST_CONSTANT;
    if (ps->n[P_MIN] && ps->n[P_MAX]) {
        if (ps->n[P_MIN]->kind == YN_INT && ps->n[P_MAX]->kind == YN_INT)
            return DIST_INT_UNIFORM;
        return DIST_UNIFORM;
    }
    if (had_unknown) /* the misspelt key already explains it */
        return -1;
    ERR(L, spec, path,
        "cannot tell the distribution: give 'distribution', 'values', "
        "'value', 'min' and 'max', or 'parameters'");
    return -1;
}

static void check_dist_keys(struct loader *L, const struct pspec *ps,
                            enum param_dist dist, const char *path) {
    for (size_t i = 0; i < sizeof(key_bits) / sizeof(key_bits[0]); i++) {
        int idx = (int)i + P_VALUE; /* key_bits follows param_keys' order */
        char *kp;
        if (!ps->n[idx] || (dist_keys[dist] & key_bits[i].bit))
            continue;
        kp = path_join(path, key_bits[i].key);
        ERR(L, ps->k[idx], kp, "key '%s' does not apply to distribution %s",
            key_bits[i].key, dist_names[dist]);
        free(kp);
    }
}

/* Reads the number at key idx into *out; missing keys keep *out (the
 * default) unless required. Returns -1 on a reported error. */
static int num_key(struct loader *L, const struct pspec *ps, int idx,
                   const struct ynode *spec, const char *path, int required,
                   double *out) {
    char *kp = path_join(path, param_keys[idx]);
    int rc = 0;

    if (ps->n[idx])
        rc = get_number(L, ps->n[idx], kp, out);
    else if (required) {
        ERR(L, spec, path, "distribution needs '%s'", param_keys[idx]);
        rc = -1;
    }
    free(kp);
    return rc;
}

static void load_values(struct loader *L, const struct pspec *ps,
                        const struct ynode *spec, struct param *p,
                        const char *path) {
    const struct ynode *v = ps->n[P_VALUES];
    char *kp = path_join(path, "values");

    if (!v)
        ERR(L, spec, path, "distribution %s needs 'values'", dist_names[p->dist]);
    else if (v->kind != YN_SEQ)
        ERR(L, v, kp, "must be a list, not %s", ynode_kind_name(v));
    else if (v->n == 0)
        ERR(L, v, kp, "must have at least one value");
    else
        p->values = get_json(L, v, kp);
    free(kp);
}

static void load_probs(struct loader *L, const struct pspec *ps,
                       const struct ynode *spec, struct param *p,
                       const char *path) {
    const struct ynode *pr = ps->n[P_PROBS];
    char *kp = path_join(path, "probabilities");
    double sum = 0;
    int bad = 0;

    if (!pr) {
        ERR(L, spec, path, "distribution %s needs 'probabilities'",
            dist_names[p->dist]);
        goto out;
    }
    if (pr->kind != YN_SEQ) {
        ERR(L, pr, kp, "must be a list of numbers, not %s", ynode_kind_name(pr));
        goto out;
    }
    if (ps->n[P_VALUES] && ps->n[P_VALUES]->kind == YN_SEQ &&
        pr->n != ps->n[P_VALUES]->n) {
        ERR(L, pr, kp, "has %zu items but values has %zu", pr->n,
            ps->n[P_VALUES]->n);
        goto out;
    }
    p->probs = calloc(pr->n ? pr->n : 1, sizeof(double));
    if (!p->probs) {
        L->oom = 1;
        goto out;
    }
    for (size_t i = 0; i < pr->n; i++) {
        if (get_number(L, pr->items[i], kp, &p->probs[i]) < 0) {
            bad = 1;
        } else if (p->probs[i] < 0) {
            ERR(L, pr->items[i], kp, "probability %s is negative",
                pr->items[i]->text);
            bad = 1;
        }
        sum += p->probs[i];
    }
    if (!bad && fabs(sum - 1.0) > 1e-8)
        ERR(L, pr, kp, "probabilities sum to %.10g, not 1", sum);
out:
    free(kp);
}

static void load_range(struct loader *L, const struct pspec *ps,
                       const struct ynode *spec, struct param *p,
                       const char *path) {
    int ok = num_key(L, ps, P_MIN, spec, path, 1, &p->min) == 0;
    char *kp;

    ok &= num_key(L, ps, P_MAX, spec, path, 1, &p->max) == 0;
    if (p->dist == DIST_INT_UNIFORM) {
        kp = path_join(path, "min");
        if (ps->n[P_MIN] && get_int(L, ps->n[P_MIN], kp, &p->imin) < 0)
            ok = 0;
        free(kp);
        kp = path_join(path, "max");
        if (ps->n[P_MAX] && get_int(L, ps->n[P_MAX], kp, &p->imax) < 0)
            ok = 0;
        free(kp);
    }
    if (!ok)
        return;
    kp = path_join(path, "max");
    if (!(p->min < p->max) ||
        (p->dist == DIST_INT_UNIFORM && !(p->imin < p->imax)))
        ERR(L, ps->n[P_MAX], kp, "min %s is not less than max %s",
            ps->n[P_MIN]->text, ps->n[P_MAX]->text);
    free(kp);
    if ((p->dist == DIST_LOG_UNIFORM_VALUES ||
         p->dist == DIST_INV_LOG_UNIFORM_VALUES ||
         p->dist == DIST_Q_LOG_UNIFORM_VALUES) &&
        p->min <= 0) {
        kp = path_join(path, "min");
        ERR(L, ps->n[P_MIN], kp, "must be greater than 0 for %s, not %s",
            dist_names[p->dist], ps->n[P_MIN]->text);
        free(kp);
    }
}

/* An optional number with a default that must be >= lo (or > lo when
 * strict). */
static int shape_key(struct loader *L, const struct pspec *ps, int idx,
                     const struct ynode *spec, const char *path, double lo,
                     int strict, double *out) {
    char *kp;

    if (num_key(L, ps, idx, spec, path, 0, out) < 0 || !ps->n[idx])
        return -1;
    if (strict ? *out > lo : *out >= lo)
        return 0;
    kp = path_join(path, param_keys[idx]);
    ERR(L, ps->n[idx], kp, "must be %s %g, not %s", strict ? ">" : ">=", lo,
        ps->n[idx]->text);
    free(kp);
    return -1;
}

static void load_shape(struct loader *L, const struct pspec *ps,
                       const struct ynode *spec, struct param *p,
                       const char *path) {
    unsigned keys = dist_keys[p->dist];

    p->mu = 0, p->sigma = 1, p->a = 1, p->b = 1, p->q = 1.0;
    if (keys & K_MU)
        num_key(L, ps, P_MU, spec, path, 0, &p->mu);
    if (keys & K_SIGMA)
        shape_key(L, ps, P_SIGMA, spec, path, 0, 0, &p->sigma);
    if (keys & K_A)
        shape_key(L, ps, P_A, spec, path, 0, 0, &p->a);
    if (keys & K_B)
        shape_key(L, ps, P_B, spec, path, 0, 0, &p->b);
    if ((keys & K_Q) && shape_key(L, ps, P_Q, spec, path, 0, 1, &p->q) == 0)
        p->q_is_int = ps->n[P_Q]->kind == YN_INT;
}

static void load_dist(struct loader *L, const struct pspec *ps,
                      const struct ynode *spec, struct param *p,
                      const char *path) {
    unsigned keys = dist_keys[p->dist];

    check_dist_keys(L, ps, p->dist, path);
    if (p->dist == DIST_CONSTANT) {
        char *kp = path_join(path, "value");
        if (!ps->n[P_VALUE])
            ERR(L, spec, path, "distribution constant needs 'value'");
        else
            p->value = get_json(L, ps->n[P_VALUE], kp);
        free(kp);
    }
    if (keys & K_VALUES)
        load_values(L, ps, spec, p, path);
    if (keys & K_PROBS)
        load_probs(L, ps, spec, p, path);
    if (keys & K_MIN)
        load_range(L, ps, spec, p, path);
    load_shape(L, ps, spec, p, path);
}

static void warn_deprecated(struct loader *L, const struct pspec *ps,
                            enum param_dist dist, const char *path) {
    const char *repl = dist == DIST_LOG_UNIFORM       ? "log_uniform_values"
                       : dist == DIST_INV_LOG_UNIFORM ? "inv_log_uniform_values"
                       : dist == DIST_Q_LOG_UNIFORM   ? "q_log_uniform_values"
                                                      : NULL;
    char *kp;

    if (!repl)
        return;
    kp = path_join(path, "distribution");
    WARN(L, ps->n[P_DIST], kp,
         "distribution %s is deprecated (its min and max are natural-log "
         "exponents); use %s with the values themselves",
         dist_names[dist], repl);
    free(kp);
}

static void load_params(struct loader *L, const struct ynode *map,
                        const char *path, char **prefix, size_t nprefix);

static int set_param_path(struct param *p, char **prefix, size_t nprefix,
                          const char *name) {
    struct sbuf sb = SBUF_INIT;

    p->path = calloc(nprefix + 1, sizeof(char *));
    if (!p->path)
        return -1;
    for (size_t i = 0; i < nprefix; i++) {
        p->path[p->npath] = strdup(prefix[i]);
        if (!p->path[p->npath++])
            return -1;
        sbuf_addf(&sb, "%s.", prefix[i]);
    }
    p->path[p->npath] = strdup(name);
    if (!p->path[p->npath++])
        return -1;
    sbuf_adds(&sb, name);
    p->name = sbuf_detach(&sb);
    return p->name ? 0 : -1;
}

static void load_group(struct loader *L, const struct pspec *ps,
                       const char *path, char **prefix, size_t nprefix,
                       const char *name) {
    char *gpath = path_join(path, "parameters");
    char **np = malloc((nprefix + 1) * sizeof(char *));

    for (int i = 0; i < P_PARAMS; i++) {
        if (ps->n[i]) {
            char *kp = path_join(path, param_keys[i]);
            ERR(L, ps->k[i], kp,
                "a parameter group (with 'parameters') cannot also have '%s'",
                param_keys[i]);
            free(kp);
        }
    }
    if (!np || !gpath) {
        L->oom = 1;
    } else {
        if (nprefix)
            memcpy(np, prefix, nprefix * sizeof(char *));
        np[nprefix] = (char *)name;
        load_params(L, ps->n[P_PARAMS], gpath, np, nprefix + 1);
    }
    free(np);
    free(gpath);
}

static void load_param(struct loader *L, const struct ynode *key,
                       const struct ynode *spec, const char *path,
                       char **prefix, size_t nprefix) {
    struct pspec ps;
    struct param *p;
    int dist, unknown;

    if (spec->kind != YN_MAP) {
        ERR(L, spec, path,
            "a parameter must be a mapping (values, value, min/max, "
            "distribution or parameters), not %s",
            ynode_kind_name(spec));
        return;
    }
    unknown = check_keys(L, spec, path, param_keys, "a parameter");
    read_pspec(spec, &ps);
    if (ps.n[P_PARAMS]) {
        load_group(L, &ps, path, prefix, nprefix, key->text);
        return;
    }
    dist = infer_dist(L, &ps, spec, path, unknown);
    if (dist < 0)
        return;
    warn_deprecated(L, &ps, (enum param_dist)dist, path);
    p = new_param(L);
    if (!p)
        return;
    p->dist = (enum param_dist)dist;
    p->line = key->line;
    p->col = key->col;
    if (set_param_path(p, prefix, nprefix, key->text) < 0 ||
        !(p->key_path = strdup(path)))
        L->oom = 1;
    load_dist(L, &ps, spec, p, path);
}

static void load_params(struct loader *L, const struct ynode *map,
                        const char *path, char **prefix, size_t nprefix) {
    if (map->kind != YN_MAP) {
        ERR(L, map, path, "must be a mapping of parameter names, not %s",
            ynode_kind_name(map));
        return;
    }
    if (ynode_map_len(map) == 0) {
        ERR(L, map, path, "must define at least one parameter");
        return;
    }
    for (size_t i = 0; i < ynode_map_len(map) && !L->oom; i++) {
        const struct ynode *k = ynode_key(map, i);
        char *kp = path_join(path, k->text);
        if (!valid_name(k->text, k->len))
            ERR(L, k, kp,
                "invalid parameter name '%s': use letters, digits, '_', '.' "
                "and '-', starting with a letter or '_'",
                k->text);
        else
            load_param(L, k, ynode_val(map, i), kp, prefix, nprefix);
        free(kp);
    }
}

static int param_cmp(const void *pa, const void *pb) {
    return strcmp(((const struct param *)pa)->name,
                  ((const struct param *)pb)->name);
}

static void finish_params(struct loader *L) {
    struct sweep_config *cfg = L->cfg;

    if (!cfg->nparams)
        return;
    qsort(cfg->params, cfg->nparams, sizeof(*cfg->params), param_cmp);
    for (size_t i = 1; i < cfg->nparams; i++) {
        struct param *p = &cfg->params[i];
        if (strcmp(p->name, cfg->params[i - 1].name))
            continue;
        diags_add(L->d, DIAG_ERROR, p->line, p->col, p->key_path,
                  "two parameters flatten to the same name '%s' (the other "
                  "is at line %d)",
                  p->name, cfg->params[i - 1].line);
    }
}

static void check_grid(struct loader *L) {
    for (size_t i = 0; i < L->cfg->nparams; i++) {
        const struct param *p = &L->cfg->params[i];
        if (p->dist == DIST_CONSTANT || p->dist == DIST_CATEGORICAL ||
            p->dist == DIST_INT_UNIFORM || p->dist == DIST_Q_UNIFORM)
            continue;
        diags_add(L->d, DIAG_ERROR, p->line, p->col, p->key_path,
                  "method grid cannot enumerate distribution %s: use values, "
                  "value, int_uniform or q_uniform",
                  dist_names[p->dist]);
    }
}

/* ---- metric, early_terminate, the rest ---- */

static void load_metric(struct loader *L, const struct ynode *m) {
    static const char *const goals[] = {"minimize", "maximize", NULL};
    static const char *const imputes[] = {"worst", "latest", "best", NULL};
    static const char *const iwr[] = {"false", "worst", "latest", "best", NULL};
    struct metric *mt = &L->cfg->metric;
    const struct ynode *v;
    int e;

    if (m->kind != YN_MAP) {
        ERR(L, m, "metric", "must be a mapping with a name, not %s",
            ynode_kind_name(m));
        return;
    }
    check_keys(L, m, "metric", metric_keys, "metric");
    if (!(v = ynode_get(m, "name", NULL)))
        ERR(L, m, "metric", "needs 'name', the metric to optimise");
    else if (get_string(L, v, "metric.name", &mt->name) == 0 && !*mt->name)
        ERR(L, v, "metric.name", "must not be empty");
    if ((v = ynode_get(m, "goal", NULL)) &&
        (e = get_enum(L, v, "metric.goal", goals, "goal")) >= 0)
        mt->maximize = e;
    if ((v = ynode_get(m, "target", NULL)) &&
        get_number(L, v, "metric.target", &mt->target) == 0)
        mt->has_target = 1;
    if ((v = ynode_get(m, "impute", NULL)) &&
        (e = get_enum(L, v, "metric.impute", imputes, "impute")) >= 0)
        mt->impute = (enum impute)e;
    if ((v = ynode_get(m, "impute_while_running", NULL))) {
        if (v->kind == YN_BOOL && !v->b)
            mt->impute_while_running = IWR_FALSE;
        else if ((e = get_enum(L, v, "metric.impute_while_running", iwr,
                               "impute_while_running")) >= 0)
            mt->impute_while_running = (enum impute_running)e;
    }
}

long config_hyperband_bands(long min_iter, long max_iter, long s, double eta,
                            long **out) {
    long *b = malloc(HYPERBAND_MAX_BANDS * sizeof(long));
    long n = 0;

    *out = NULL;
    if (!b)
        return -1;
    if (!(eta > 1)) {
        free(b);
        return 0;
    }
    if (max_iter > 0 && s > 0) {
        double band = (double)max_iter;
        for (long i = 0; i < s && n < HYPERBAND_MAX_BANDS; i++) {
            band /= eta;
            if (band < 1)
                break;
            b[n++] = (long)band;
        }
        for (long i = 0; i < n / 2; i++) { /* descending -> ascending */
            long t = b[i];
            b[i] = b[n - 1 - i];
            b[n - 1 - i] = t;
        }
    } else if (min_iter > 0) {
        double band = (double)min_iter;
        while (n < HYPERBAND_MAX_BANDS && band <= HYPERBAND_MAX_BAND) {
            b[n++] = (long)band;
            band *= eta;
        }
    }
    if (!n) {
        free(b);
        return 0;
    }
    *out = b;
    return n;
}

static void et_int(struct loader *L, const struct ynode *et, const char *key,
                   long *out) {
    const struct ynode *v = ynode_get(et, key, NULL);
    char *kp = path_join("early_terminate", key);
    long long x;

    if (v && get_int(L, v, kp, &x) == 0) {
        if (x < 1 || x > 1000000000LL)
            ERR(L, v, kp, "must be between 1 and 1000000000, not %s", v->text);
        else
            *out = (long)x;
    }
    free(kp);
}

/* The keys each early_terminate type takes besides "type", as bits in
 * et_keys' order. */
enum { ET_K_MIN = 1 << 1, ET_K_MAX = 1 << 2, ET_K_S = 1 << 3, ET_K_ETA = 1 << 4,
       ET_K_STRICT = 1 << 5 };
static const char *const et_types[] = {"hyperband", "median", "asha", NULL};
static const unsigned et_type_keys[] = {
    ET_K_MIN | ET_K_MAX | ET_K_S | ET_K_ETA | ET_K_STRICT, /* hyperband */
    ET_K_MIN,                                              /* median */
    ET_K_MIN | ET_K_MAX | ET_K_ETA,                        /* asha */
};

static void et_check_type_keys(struct loader *L, const struct ynode *et,
                               int t) {
    for (int i = 1; et_keys[i]; i++) {
        const struct ynode *k;
        char *kp;
        if ((et_type_keys[t] & (1u << i)) || !ynode_get(et, et_keys[i], &k))
            continue;
        kp = path_join("early_terminate", et_keys[i]);
        ERR(L, k, kp, "key '%s' does not apply to early_terminate type %s",
            et_keys[i], et_types[t]);
        free(kp);
    }
}

static void et_read_keys(struct loader *L, const struct ynode *et, int t) {
    struct early_terminate *e = &L->cfg->et;
    unsigned keys = et_type_keys[t];
    const struct ynode *v;

    if (keys & ET_K_MIN)
        et_int(L, et, "min_iter", &e->min_iter);
    if (keys & ET_K_MAX)
        et_int(L, et, "max_iter", &e->max_iter);
    if (keys & ET_K_S)
        et_int(L, et, "s", &e->s);
    if ((keys & ET_K_ETA) && (v = ynode_get(et, "eta", NULL)) &&
        get_number(L, v, "early_terminate.eta", &e->eta) == 0 && !(e->eta > 1))
        ERR(L, v, "early_terminate.eta", "must be greater than 1, not %s", v->text);
    if ((keys & ET_K_STRICT) && (v = ynode_get(et, "strict", NULL))) {
        if (v->kind != YN_BOOL)
            ERR(L, v, "early_terminate.strict", "must be true or false, not %s",
                ynode_kind_name(v));
        else
            e->strict = v->b;
    }
}

static void et_hyperband_bands(struct loader *L, const struct ynode *et) {
    struct early_terminate *e = &L->cfg->et;
    long n;

    if (!e->min_iter && !(e->max_iter && e->s)) {
        ERR(L, et, "early_terminate",
            "hyperband needs min_iter, or max_iter and s");
        return;
    }
    n = config_hyperband_bands(e->min_iter, e->max_iter, e->s, e->eta, &e->bands);
    if (n < 0)
        L->oom = 1;
    else if (n == 0)
        ERR(L, et, "early_terminate",
            "gives no bands: max_iter %ld divided by eta %g is below 1",
            e->max_iter, e->eta);
    e->nbands = n > 0 ? (size_t)n : 0;
}

/* Rungs min_iter * eta^k, capped like hyperband's min_iter form and kept
 * below max_iter when it is given. */
static void et_asha_rungs(struct loader *L, const struct ynode *et) {
    struct early_terminate *e = &L->cfg->et;
    long n;

    if (!e->min_iter)
        e->min_iter = 1;
    n = config_hyperband_bands(e->min_iter, 0, 0, e->eta, &e->bands);
    if (n < 0) {
        L->oom = 1;
        return;
    }
    while (n > 0 && e->max_iter && e->bands[n - 1] >= e->max_iter)
        n--;
    e->nbands = (size_t)n;
    if (n == 0)
        ERR(L, et, "early_terminate",
            "gives no rungs: min_iter %ld is not below max_iter %ld",
            e->min_iter, e->max_iter);
}

static void load_et(struct loader *L, const struct ynode *et) {
    struct early_terminate *e = &L->cfg->et;
    const struct ynode *v;
    size_t errors_before = L->d->nerrors;
    int t;

    e->eta = 3;
    e->strict = 1;
    if (et->kind != YN_MAP) {
        ERR(L, et, "early_terminate", "must be a mapping, not %s",
            ynode_kind_name(et));
        return;
    }
    check_keys(L, et, "early_terminate", et_keys, "early_terminate");
    if (!(v = ynode_get(et, "type", NULL))) {
        ERR(L, et, "early_terminate", "needs 'type' (hyperband, median or asha)");
        return;
    }
    if ((t = get_enum(L, v, "early_terminate.type", et_types,
                      "early_terminate type")) < 0)
        return;
    e->type = (enum et_type)(ET_HYPERBAND + t);
    et_check_type_keys(L, et, t);
    et_read_keys(L, et, t);
    if (L->d->nerrors != errors_before)
        return; /* bands from half-read keys would only add noise */
    if (e->type == ET_HYPERBAND)
        et_hyperband_bands(L, et);
    else if (e->type == ET_ASHA)
        et_asha_rungs(L, et);
    else if (!e->min_iter)
        ERR(L, et, "early_terminate",
            "median needs min_iter, the values a run logs before it is judged");
}

static void load_command(struct loader *L, const struct ynode *c) {
    struct sweep_config *cfg = L->cfg;

    if (c->kind != YN_SEQ) {
        ERR(L, c, "command", "must be a list of strings, not %s",
            ynode_kind_name(c));
        return;
    }
    cfg->command = calloc(c->n + 1, sizeof(char *));
    if (!cfg->command) {
        L->oom = 1;
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct ynode *t = c->items[i];
        /* A bare number or boolean is taken as written (PyYAML users
         * write `- 10` and mean the text). */
        if (!ynode_is_scalar(t) || t->kind == YN_NULL) {
            ERR(L, t, "command", "item %zu must be a string, not %s", i + 1,
                ynode_kind_name(t));
            continue;
        }
        cfg->command[cfg->ncommand] = strdup(t->text);
        if (!cfg->command[cfg->ncommand++])
            L->oom = 1;
    }
}

static void load_text(struct loader *L, const struct ynode *root,
                      const char *key, char **out) {
    const struct ynode *v = ynode_get(root, key, NULL);

    if (!v)
        return;
    if (!ynode_is_scalar(v) || v->kind == YN_NULL) {
        ERR(L, v, key, "must be a string, not %s", ynode_kind_name(v));
        return;
    }
    *out = strdup(v->text);
    if (!*out)
        L->oom = 1;
}

static void load_method(struct loader *L, const struct ynode *root) {
    const struct ynode *v = ynode_get(root, "method", NULL);
    int m;

    if (!v) {
        ERR(L, root, "method", "missing required key 'method' (grid, random or bayes)");
        return;
    }
    if (v->kind == YN_STR && !strcmp(v->text, "custom")) {
        ERR(L, v, "method",
            "method custom needs W&B's hosted controller and is not supported; "
            "use grid, random or bayes");
        return;
    }
    if ((m = get_enum(L, v, "method", method_names, "method")) >= 0) {
        L->cfg->method = (enum sweep_method)m;
        L->method_ok = 1;
    }
}

static void load_run_cap(struct loader *L, const struct ynode *root) {
    const struct ynode *v = ynode_get(root, "run_cap", NULL);
    long long x;

    if (v && get_int(L, v, "run_cap", &x) == 0) {
        if (x <= 0)
            ERR(L, v, "run_cap", "must be greater than 0, not %s", v->text);
        else
            L->cfg->run_cap = x;
    }
}

static void load_root(struct loader *L, const struct ynode *root) {
    struct sweep_config *cfg = L->cfg;
    const struct ynode *v;
    check_keys(L, root, "", top_keys, "the sweep config");
    load_method(L, root);
    if (!(v = ynode_get(root, "parameters", NULL)))
        ERR(L, root, "parameters", "missing required key 'parameters'");
    else
        load_params(L, v, "parameters", NULL, 0);
    finish_params(L);
    if (L->method_ok && cfg->method == METHOD_GRID)
        check_grid(L);
    if ((v = ynode_get(root, "metric", NULL)))
        load_metric(L, v);
    if ((v = ynode_get(root, "early_terminate", NULL)))
        load_et(L, v);
    load_run_cap(L, root);
    load_text(L, root, "program", &cfg->program);
    if ((v = ynode_get(root, "command", NULL)))
        load_command(L, v);
    load_text(L, root, "name", &cfg->name);
    load_text(L, root, "description", &cfg->description);
    load_text(L, root, "project", &cfg->project);
    load_text(L, root, "entity", &cfg->entity);
    if (L->method_ok && cfg->method == METHOD_BAYES && !cfg->metric.name &&
        !ynode_get(root, "metric", NULL))
        ERR(L, root, "metric", "method bayes needs a metric to optimise");
    if (cfg->et.type != ET_NONE && !cfg->metric.name &&
        !ynode_get(root, "metric", NULL))
        ERR(L, root, "early_terminate", "early termination needs a metric");
}

struct sweep_config *config_load_buffer(const char *buf, size_t len,
                                        const char *file, struct diags *d) {
    struct loader L = {0};
    struct ytree *t = NULL;
    const struct ynode *root, *bad = NULL;
    char errstr[512] = "out of memory"; /* what ytree leaves it on ENOMEM */
    int line = 0, col = 0, rc;
    size_t errors_before = d->nerrors;

    (void)file;
    L.d = d;
    L.budget = YTREE_MAX_EXPANDED;
    rc = ytree_parse(buf, len, &t, &line, &col, errstr, sizeof(errstr));
    if (rc) {
        diags_add(d, DIAG_ERROR, line, col, "", "%s", errstr);
        return NULL;
    }
    root = ytree_root(t);
    L.cfg = calloc(1, sizeof(*L.cfg));
    if (!L.cfg) {
        diags_add(d, DIAG_ERROR, 0, 0, "", "out of memory");
        goto out;
    }
    if (root->kind != YN_MAP) {
        ERR(&L, root, "",
            root->kind == YN_NULL ? "the config is empty"
                                  : "the config must be a mapping of keys "
                                    "(method, parameters, ...)");
        goto out;
    }
    load_root(&L, root);
    L.budget = YTREE_MAX_EXPANDED; /* the parameters spent theirs */
    L.cfg->raw = ynode_to_json(root, &L.budget, &bad);
    if (!L.cfg->raw && !bad && L.budget < 0)
        ERR(&L, root, "", "config too large: more than %d values, counting "
            "alias expansion", YTREE_MAX_EXPANDED);
    else if (!L.cfg->raw && !bad)
        L.oom = 1;
    else if (!L.cfg->raw && d->nerrors == errors_before)
        ERR(&L, bad, "", "non-finite number '%s' is not supported here", bad->text);
out:
    if (L.oom)
        diags_add(d, DIAG_ERROR, 0, 0, "", "out of memory");
    ytree_free(t);
    diags_sort(d);
    if (d->nerrors != errors_before || d->oom) {
        config_free(L.cfg);
        return NULL;
    }
    return L.cfg;
}

struct sweep_config *config_load_file(const char *path, struct diags *d) {
    struct sbuf sb = SBUF_INIT;
    struct sweep_config *cfg;
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    char chunk[65536];
    size_t n;

    if (!fp) {
        diags_add(d, DIAG_ERROR, 0, 0, "", "cannot open: %s", strerror(errno));
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        sbuf_add(&sb, chunk, n);
    if (ferror(fp) || sbuf_oom(&sb)) {
        diags_add(d, DIAG_ERROR, 0, 0, "", "cannot read: %s",
                  ferror(fp) ? strerror(errno) : "out of memory");
        cfg = NULL;
    } else {
        cfg = config_load_buffer(sbuf_str(&sb), sb.len, path, d);
    }
    if (fp != stdin)
        fclose(fp);
    sbuf_release(&sb);
    return cfg;
}

static void param_release(struct param *p) {
    free(p->name);
    free(p->key_path);
    for (size_t i = 0; i < p->npath; i++)
        free(p->path[i]);
    free(p->path);
    json_decref(p->value);
    json_decref(p->values);
    free(p->probs);
}

void config_free(struct sweep_config *cfg) {
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nparams; i++)
        param_release(&cfg->params[i]);
    free(cfg->params);
    free(cfg->metric.name);
    free(cfg->et.bands);
    free(cfg->program);
    for (size_t i = 0; i < cfg->ncommand; i++)
        free(cfg->command[i]);
    free(cfg->command);
    free(cfg->name);
    free(cfg->description);
    free(cfg->project);
    free(cfg->entity);
    json_decref(cfg->raw);
    free(cfg);
}
