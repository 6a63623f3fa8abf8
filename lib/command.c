/*
 * command.c - a run's argv from the config's `command`, expanded as the W&B
 * agent expands it (COMPAT.md section 5).
 *
 * Order of expansion, per token:
 *   1. A token holding a `${envvar:NAME}` reference has every reference
 *      replaced (NAME as in W&B's regex, [A-Z0-9_]*; unset -> NAME) and is
 *      then used as-is, never as a macro.
 *   2. Otherwise a token that is `${...}` as a whole is a macro: known ones
 *      expand to zero or more elements, unknown ones vanish.
 *   3. Anything else is copied.
 * W&B substitutes env vars first and then looks for macros, so the only
 * difference is that an environment value is never itself read as a macro:
 * the worker's environment cannot inject `${args}` into a command.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbuf.h"
#include "sweep.h"
#include "value.h"

const char *const command_default[] = {"${env}", "${interpreter}",
                                       "${program}", "${args}"};
const size_t command_default_len =
    sizeof(command_default) / sizeof(command_default[0]);

/* The argv under construction; allocation failure is sticky like sbuf's. */
struct command_vec {
    char **v;
    size_t n, cap;
    int oom;
};

/* Takes ownership of s (malloc'd; NULL means an allocation failed). */
static void command_push(struct command_vec *cv, char *s) {
    char **nv;
    size_t ncap;

    if (!s || cv->oom)
        goto fail;
    if (cv->n + 1 >= cv->cap) { /* + 1 keeps room for the NULL */
        ncap = cv->cap ? cv->cap * 2 : 8;
        nv = realloc(cv->v, ncap * sizeof(*nv));
        if (!nv)
            goto fail;
        cv->v = nv;
        cv->cap = ncap;
    }
    cv->v[cv->n++] = s;
    cv->v[cv->n] = NULL;
    return;
fail:
    free(s);
    cv->oom = 1;
}

static void command_push_copy(struct command_vec *cv, const char *s) {
    command_push(cv, strdup(s));
}

/* ---- args, sorted by name ------------------------------------------------- */

struct command_kv {
    const char *key;
    size_t len;
    const json_t *val;
};

/* Byte order, which for UTF-8 is Python's code point order of sorted(). */
static int command_kv_cmp(const void *pa, const void *pb) {
    const struct command_kv *a = pa, *b = pb;
    int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);

    if (c)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* The top-level args in name order; *out is NULL when there are none.
 * Returns 0 or SWEEP_ENOMEM. */
static int command_sorted_args(const json_t *args, struct command_kv **out,
                               size_t *n) {
    const char *key;
    size_t klen, i = 0;
    json_t *val;

    *out = NULL;
    *n = json_object_size(args);
    if (*n == 0)
        return 0;
    *out = malloc(*n * sizeof(**out));
    if (!*out)
        return SWEEP_ENOMEM;
    json_object_keylen_foreach((json_t *)args, key, klen, val) {
        (*out)[i++] = (struct command_kv){key, klen, val};
    }
    qsort(*out, *n, sizeof(**out), command_kv_cmp);
    return 0;
}

/* The ways ${args}-like macros spell one parameter. */
enum command_style {
    COMMAND_FLAGS,          /* --k=v */
    COMMAND_NO_HYPHENS,     /* k=v */
    COMMAND_NO_BOOL_FLAGS,  /* --k for true, nothing for false, else --k=v */
    COMMAND_NO_EQUALS,      /* --k v (two elements) */
    COMMAND_APPEND_HYDRA,   /* +k=v */
    COMMAND_OVERRIDE_HYDRA, /* ++k=v */
};

/* "<prefix>KEY" plus, unless v is NULL, "=" and str(v): one element. */
static void command_push_flag(struct command_vec *cv, const char *prefix,
                              const struct command_kv *kv, const json_t *v) {
    struct sbuf sb = SBUF_INIT;

    sbuf_adds(&sb, prefix);
    sbuf_add(&sb, kv->key, kv->len);
    if (v) {
        sbuf_addc(&sb, '=');
        value_str(&sb, v);
    }
    command_push(cv, sbuf_detach(&sb));
}

static void command_push_str(struct command_vec *cv, const json_t *v) {
    struct sbuf sb = SBUF_INIT;

    value_str(&sb, v);
    command_push(cv, sbuf_detach(&sb));
}

static void command_push_arg(struct command_vec *cv, enum command_style st,
                             const struct command_kv *kv) {
    static const char *const prefix[] = {
        [COMMAND_FLAGS] = "--",          [COMMAND_NO_HYPHENS] = "",
        [COMMAND_NO_BOOL_FLAGS] = "--",  [COMMAND_NO_EQUALS] = "--",
        [COMMAND_APPEND_HYDRA] = "+",    [COMMAND_OVERRIDE_HYDRA] = "++",
    };

    if (st == COMMAND_NO_EQUALS) {
        command_push_flag(cv, prefix[st], kv, NULL);
        command_push_str(cv, kv->val);
    } else if (st == COMMAND_NO_BOOL_FLAGS && json_is_boolean(kv->val)) {
        if (json_is_true(kv->val))
            command_push_flag(cv, prefix[st], kv, NULL);
    } else {
        command_push_flag(cv, prefix[st], kv, kv->val);
    }
}

static int command_push_args(struct command_vec *cv, enum command_style st,
                             const json_t *args) {
    struct command_kv *kv;
    size_t n;

    if (command_sorted_args(args, &kv, &n) < 0)
        return SWEEP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        command_push_arg(cv, st, &kv[i]);
    free(kv);
    return 0;
}

char *command_args_json(const json_t *args) {
    struct command_kv *kv = NULL;
    struct sbuf sb = SBUF_INIT;
    size_t n = 0;

    if (args && !json_is_object(args)) {
        value_json(&sb, args); /* not W&B's shape; dump it as it is */
        return sbuf_detach(&sb);
    }
    if (command_sorted_args(args, &kv, &n) < 0)
        return NULL;
    /* Only the top level is sorted: W&B builds this dict in arg order and
     * nested maps keep theirs. */
    sbuf_addc(&sb, '{');
    for (size_t i = 0; i < n; i++) {
        json_t *key = json_stringn_nocheck(kv[i].key, kv[i].len);

        if (!key) {
            sb.oom = 1;
            break;
        }
        sbuf_adds(&sb, i ? ", " : "");
        value_json(&sb, key);
        sbuf_adds(&sb, ": ");
        value_json(&sb, kv[i].val);
        json_decref(key);
    }
    sbuf_addc(&sb, '}');
    free(kv);
    return sbuf_detach(&sb);
}

/* ---- macros ------------------------------------------------------------------ */

static const struct {
    const char *name;
    enum command_style style;
} command_arg_macros[] = {
    {"args", COMMAND_FLAGS},
    {"args_no_hyphens", COMMAND_NO_HYPHENS},
    {"args_no_boolean_flags", COMMAND_NO_BOOL_FLAGS},
    {"args_no_equals", COMMAND_NO_EQUALS},
    {"args_append_hydra", COMMAND_APPEND_HYDRA},
    {"args_override_hydra", COMMAND_OVERRIDE_HYDRA},
};

/* A fixed-text macro's value; *known is 0 for a name that is not one. A
 * NULL result with *known set expands to nothing. */
static const char *command_text_macro(const char *name,
                                      const struct command_ctx *ctx,
                                      int *known) {
    *known = 1;
    if (strcmp(name, "env") == 0)
        return ctx->env ? ctx->env : "/usr/bin/env";
    if (strcmp(name, "interpreter") == 0)
        return ctx->interpreter ? ctx->interpreter : "python";
    if (strcmp(name, "program") == 0)
        return ctx->program;
    if (strcmp(name, "args_json_file") == 0)
        return ctx->args_json_file;
    *known = 0;
    return NULL;
}

/* Expands the macro `name` (the text between "${" and "}"); an unknown
 * name expands to nothing, as in W&B. */
static int command_expand_macro(struct command_vec *cv, const char *name,
                                const struct command_ctx *ctx) {
    const char *text;
    int known;

    text = command_text_macro(name, ctx, &known);
    if (known) {
        if (text)
            command_push_copy(cv, text);
        return 0;
    }
    if (strcmp(name, "args_json") == 0) {
        command_push(cv, command_args_json(ctx->args));
        return 0;
    }
    for (size_t i = 0; i < sizeof(command_arg_macros) /
                               sizeof(command_arg_macros[0]); i++)
        if (strcmp(name, command_arg_macros[i].name) == 0)
            return command_push_args(cv, command_arg_macros[i].style,
                                     ctx->args);
    return 0;
}

/* ---- ${envvar:NAME} ---------------------------------------------------------- */

#define COMMAND_ENVVAR "${envvar:"
#define COMMAND_ENVVAR_LEN (sizeof(COMMAND_ENVVAR) - 1)

/* Length of the reference at s ("${envvar:NAME}"), 0 if s does not start
 * one. NAME is W&B's [A-Z0-9_]*, so "${envvar:home}" is not a reference. */
static size_t command_envvar_ref(const char *s) {
    size_t i = COMMAND_ENVVAR_LEN;

    if (strncmp(s, COMMAND_ENVVAR, COMMAND_ENVVAR_LEN) != 0)
        return 0;
    while ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
           s[i] == '_')
        i++;
    return s[i] == '}' ? i + 1 : 0;
}

/* Appends the value of the reference at s, of length len. */
static void command_envvar_value(struct sbuf *sb, const char *s, size_t len) {
    char name[256];
    size_t nlen = len - COMMAND_ENVVAR_LEN - 1;
    const char *val = NULL;

    /* Longer names cannot be set in practice; they print as themselves. */
    if (nlen < sizeof(name)) {
        memcpy(name, s + COMMAND_ENVVAR_LEN, nlen);
        name[nlen] = '\0';
        val = getenv(name);
    }
    if (val)
        sbuf_adds(sb, val);
    else
        sbuf_add(sb, s + COMMAND_ENVVAR_LEN, nlen);
}

/* Replaces every reference in tok left to right (values are not rescanned).
 * Returns how many were replaced; sb gets the result. */
static size_t command_envvar_subst(struct sbuf *sb, const char *tok) {
    size_t nrefs = 0, len;
    const char *p = tok, *start = tok;

    while ((p = strstr(p, COMMAND_ENVVAR)) != NULL) {
        len = command_envvar_ref(p);
        if (len == 0) {
            p++;
            continue;
        }
        sbuf_add(sb, start, (size_t)(p - start));
        command_envvar_value(sb, p, len);
        nrefs++;
        p += len;
        start = p;
    }
    sbuf_adds(sb, start);
    return nrefs;
}

/* ---- tokens ------------------------------------------------------------------ */

/* W&B's test: the token starts with "${" and ends with "}". */
static int command_is_macro(const char *tok, size_t len) {
    return len >= 3 && tok[0] == '$' && tok[1] == '{' && tok[len - 1] == '}';
}

static int command_expand_token(struct command_vec *cv, const char *tok,
                                const struct command_ctx *ctx) {
    struct sbuf sb = SBUF_INIT;
    size_t len = strlen(tok);
    char *name;
    int rc;

    if (command_envvar_subst(&sb, tok) > 0) {
        command_push(cv, sbuf_detach(&sb));
        return 0;
    }
    sbuf_release(&sb);
    if (!command_is_macro(tok, len)) {
        command_push_copy(cv, tok);
        return 0;
    }
    name = strndup(tok + 2, len - 3);
    if (!name)
        return SWEEP_ENOMEM;
    rc = command_expand_macro(cv, name, ctx);
    free(name);
    return rc;
}

int command_build(const char *const *tmpl, size_t ntmpl,
                  const struct command_ctx *ctx, char ***argv_out,
                  size_t *argc_out) {
    static const struct command_ctx empty_ctx;
    struct command_vec cv = {NULL, 0, 0, 0};
    int rc = 0;

    *argv_out = NULL;
    *argc_out = 0;
    if (!ctx)
        ctx = &empty_ctx;
    if (ctx->args && !json_is_object(ctx->args))
        return SWEEP_EINVAL;
    if (!tmpl) {
        tmpl = command_default;
        ntmpl = command_default_len;
    }
    for (size_t i = 0; i < ntmpl && rc == 0 && !cv.oom; i++)
        rc = tmpl[i] ? command_expand_token(&cv, tmpl[i], ctx) : SWEEP_EINVAL;
    /* An argv with no elements still needs its NULL terminator. */
    if (rc == 0 && !cv.oom && !cv.v) {
        cv.v = calloc(1, sizeof(*cv.v));
        cv.oom = !cv.v;
    }
    if (rc == 0 && cv.oom)
        rc = SWEEP_ENOMEM;
    if (rc < 0) {
        command_argv_free(cv.v);
        return rc;
    }
    *argv_out = cv.v;
    *argc_out = cv.n;
    return 0;
}

void command_argv_free(char **argv) {
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

static int command_on_path(const char *prog) {
    const char *path = getenv("PATH");
    struct sbuf sb = SBUF_INIT;
    int found = 0;

    while (path && *path && !found) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        sbuf_reset(&sb);
        sbuf_addf(&sb, "%.*s/%s", (int)len, path, prog);
        found = access(sbuf_str(&sb), X_OK) == 0;
        path = colon ? colon + 1 : NULL;
    }
    sbuf_release(&sb);
    return found;
}

const char *command_interpreter(const char *configured) {
    if (configured && *configured)
        return configured;
    return command_on_path("python") || !command_on_path("python3") ? "python"
                                                                     : "python3";
}
