/*
 * config.h - a W&B sweep config (YAML 1.2 or JSON) loaded into a typed,
 * validated struct (COMPAT.md sections 1-4).
 *
 * Loading never stops at the first problem: every error of the file is
 * collected in a struct diags with line:column and key path.
 */
#ifndef SWEEP_CONFIG_H
#define SWEEP_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "diag.h"

enum sweep_method { METHOD_GRID, METHOD_RANDOM, METHOD_BAYES };

#define PARAM_DISTS(X)                                               \
    X(DIST_CONSTANT, "constant")                                     \
    X(DIST_CATEGORICAL, "categorical")                               \
    X(DIST_CATEGORICAL_W_PROBS, "categorical_w_probabilities")       \
    X(DIST_INT_UNIFORM, "int_uniform")                               \
    X(DIST_UNIFORM, "uniform")                                       \
    X(DIST_Q_UNIFORM, "q_uniform")                                   \
    X(DIST_LOG_UNIFORM_VALUES, "log_uniform_values")                 \
    X(DIST_INV_LOG_UNIFORM_VALUES, "inv_log_uniform_values")         \
    X(DIST_Q_LOG_UNIFORM_VALUES, "q_log_uniform_values")             \
    X(DIST_LOG_UNIFORM, "log_uniform")                               \
    X(DIST_INV_LOG_UNIFORM, "inv_log_uniform")                       \
    X(DIST_Q_LOG_UNIFORM, "q_log_uniform")                           \
    X(DIST_NORMAL, "normal")                                         \
    X(DIST_Q_NORMAL, "q_normal")                                     \
    X(DIST_LOG_NORMAL, "log_normal")                                 \
    X(DIST_Q_LOG_NORMAL, "q_log_normal")                             \
    X(DIST_BETA, "beta")                                             \
    X(DIST_Q_BETA, "q_beta")

enum param_dist {
#define PARAM_X_ENUM(e, s) e,
    PARAM_DISTS(PARAM_X_ENUM)
#undef PARAM_X_ENUM
    DIST__COUNT
};

/* One searchable parameter, by its flattened name ("opt.lr"). Only the
 * fields of its distribution are meaningful. */
struct param {
    char *name;      /* flattened: path components joined with '.' */
    char *key_path;  /* where it is in the file: "parameters.opt.parameters.lr" */
    char **path;     /* components ("opt", "lr"): nesting uses these, since a
                        name may itself contain '.' */
    size_t npath;
    enum param_dist dist;
    json_t *value;   /* constant: the value (owned) */
    json_t *values;  /* categorical*: array as written, repeats kept (owned) */
    double *probs;   /* categorical_w_probs: one per value (owned) */
    double min, max; /* uniform kinds (exponents for the deprecated logs) */
    long long imin, imax; /* int_uniform */
    double mu, sigma;
    double a, b;
    double q;
    int q_is_int;    /* q written as an integer: q_* sample integers */
    int line, col;   /* position of the parameter's key, for messages */
};

enum impute { IMPUTE_WORST, IMPUTE_LATEST, IMPUTE_BEST };
enum impute_running { IWR_FALSE, IWR_WORST, IWR_LATEST, IWR_BEST };
enum et_type { ET_NONE, ET_HYPERBAND, ET_MEDIAN, ET_ASHA };

struct metric {
    char *name; /* NULL when the config has no metric */
    int maximize;
    int has_target;
    double target;
    enum impute impute;
    enum impute_running impute_while_running;
};

/* docs/early-stop.md: hyperband (COMPAT.md 4), median and asha. */
struct early_terminate {
    enum et_type type;
    long min_iter, max_iter, s; /* 0 when not given (asha: min_iter 1) */
    double eta;                 /* default 3 */
    int strict;                 /* default 1 */
    long *bands;                /* hyperband bands or asha rungs, ascending,
                                   computed at load (owned); none for median */
    size_t nbands;
};

/* Hyperband bands are capped: the min_iter form stops at this many bands
 * or once a band exceeds HYPERBAND_MAX_BAND iterations. */
#define HYPERBAND_MAX_BANDS 100
#define HYPERBAND_MAX_BAND 10000000L

struct sweep_config {
    enum sweep_method method;
    struct param *params; /* sorted by flattened name */
    size_t nparams;
    struct metric metric;
    struct early_terminate et;
    long long run_cap;    /* 0 = none */
    char *program;        /* NULL when absent */
    char **command;       /* NULL when absent (default command) */
    size_t ncommand;
    char *name, *description, *project, *entity; /* NULL when absent */
    json_t *raw;          /* the whole document as JSON (owned) */
};

/* Loads and validates a config from memory. `file` names it in messages.
 * Returns a config (free with config_free()) when the file has no errors,
 * else NULL; either way every diagnostic, warnings included, is in *d,
 * which the caller initialised with diags_init(). */
struct sweep_config *config_load_buffer(const char *buf, size_t len,
                                        const char *file, struct diags *d);

/* Reads `path` ("-" for stdin) and calls config_load_buffer(). A file that
 * cannot be read is one diagnostic at 0:0. */
struct sweep_config *config_load_file(const char *path, struct diags *d);

void config_free(struct sweep_config *cfg);

const char *config_method_name(enum sweep_method m);
const char *config_dist_name(enum param_dist dist);

/* Computes hyperband bands (ascending) into *out (caller frees). Returns
 * the count, 0 when the arguments give no band, or -1 on allocation
 * failure. max_iter > 0 with s > 0 wins over min_iter. */
long config_hyperband_bands(long min_iter, long max_iter, long s, double eta,
                            long **out);

#endif
