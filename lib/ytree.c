/*
 * ytree.c - libyaml events into a tree of typed, positioned nodes.
 *
 * The event API (not libyaml's document API) is used so that scalars are
 * resolved by YAML 1.2 rules rather than left as text, and so that every
 * limit (depth, aliases, duplicate keys) is checked while reading.
 */
#include "ytree.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "sweep.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

struct ytree {
    struct ynode *root;
    struct ynode **all; /* every node, for freeing: aliases share nodes */
    size_t nall, capall;
};

struct anchor {
    char *name;
    struct ynode *node;
};

struct builder {
    struct ytree *t;
    struct ynode *stack[YTREE_MAX_DEPTH];
    char *stack_anchor[YTREE_MAX_DEPTH];
    int depth;
    int ndocs;
    struct anchor *anchors;
    size_t nanchors, capanchors;
    int err; /* SWEEP_E* once failed */
    int line, col;
    char *errstr;
    size_t errstr_size;
};

static void b_fail(struct builder *b, int err, int line, int col,
                   const char *msg) {
    if (b->err)
        return;
    b->err = err;
    b->line = line;
    b->col = col;
    snprintf(b->errstr, b->errstr_size, "%s", msg);
}

static struct ynode *b_node(struct builder *b, enum ynode_kind kind,
                            const yaml_mark_t *m) {
    struct ytree *t = b->t;
    struct ynode *n;

    if (t->nall == t->capall) {
        size_t ncap = t->capall ? t->capall * 2 : 64;
        struct ynode **nv = realloc(t->all, ncap * sizeof(*nv));
        if (!nv)
            goto oom;
        t->all = nv;
        t->capall = ncap;
    }
    n = calloc(1, sizeof(*n));
    if (!n)
        goto oom;
    n->kind = kind;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    t->all[t->nall++] = n;
    return n;
oom:
    b_fail(b, SWEEP_ENOMEM, 0, 0, "out of memory");
    return NULL;
}

static int push_item(struct ynode *parent, struct ynode *item) {
    if ((parent->n & (parent->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        size_t ncap = parent->n ? parent->n * 2 : 4;
        struct ynode **nv = realloc(parent->items, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        parent->items = nv;
    }
    parent->items[parent->n++] = item;
    return 0;
}

static void b_attach(struct builder *b, struct ynode *n) {
    struct ynode *parent;

    if (b->depth == 0) {
        b->t->root = n;
        return;
    }
    parent = b->stack[b->depth - 1];
    if (parent->kind == YN_MAP && parent->n % 2 == 0 && !ynode_is_scalar(n)) {
        b_fail(b, SWEEP_EPARSE, n->line, n->col,
               "a mapping key must be a scalar, not a collection");
        return;
    }
    if (push_item(parent, n) < 0)
        b_fail(b, SWEEP_ENOMEM, 0, 0, "out of memory");
}

static void b_anchor(struct builder *b, const char *name, struct ynode *n) {
    char *copy;

    if (!name)
        return;
    if (b->nanchors == b->capanchors) {
        size_t ncap = b->capanchors ? b->capanchors * 2 : 8;
        struct anchor *nv = realloc(b->anchors, ncap * sizeof(*nv));
        if (!nv)
            goto oom;
        b->anchors = nv;
        b->capanchors = ncap;
    }
    copy = strdup(name);
    if (!copy)
        goto oom;
    b->anchors[b->nanchors].name = copy;
    b->anchors[b->nanchors].node = n;
    b->nanchors++;
    return;
oom:
    b_fail(b, SWEEP_ENOMEM, 0, 0, "out of memory");
}

/* ---- scalar resolution (YAML 1.2 core schema) ---- */

static int all_digits(const char *s, const char *set) {
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr(set, *s))
            return 0;
    return 1;
}

static int is_null_text(const char *s) {
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
           !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int bool_text(const char *s) {
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return 0;
    return -1;
}

/* [-+]?[0-9]+ */
static int is_dec_int(const char *s) {
    if (*s == '-' || *s == '+')
        s++;
    return all_digits(s, "0123456789");
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float_text(const char *s) {
    int mant = 0;

    if (*s == '-' || *s == '+')
        s++;
    while (*s >= '0' && *s <= '9')
        s++, mant = 1;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9')
            s++, mant = 1;
    }
    if (!mant)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static int special_float(const char *s, double *out) {
    const char *p = s;
    double sign = 1;

    if (*p == '-' || *p == '+') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
        *out = sign * INFINITY;
        return 1;
    }
    if (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") ||
                   !strcmp(p, ".NAN"))) {
        *out = NAN;
        return 1;
    }
    return 0;
}

static void set_float(struct ynode *n, double f) {
    n->kind = YN_FLOAT;
    n->f = f;
}

static int resolve_int(struct ynode *n) {
    const char *s = n->text;
    int base = 10;
    char *end;
    long long v;

    if (!strncmp(s, "0o", 2) && all_digits(s + 2, "01234567"))
        base = 8, s += 2;
    else if (!strncmp(s, "0x", 2) && all_digits(s + 2, "0123456789abcdefABCDEF"))
        base = 16, s += 2;
    else if (!is_dec_int(s))
        return 0;
    errno = 0;
    v = strtoll(s, &end, base);
    if (errno == ERANGE) /* too large for an integer: keep its magnitude */
        set_float(n, base == 10 ? strtod(s, NULL) : (double)strtoull(s, NULL, base));
    else {
        n->kind = YN_INT;
        n->i = v;
    }
    return 1;
}

static void resolve_plain(struct ynode *n) {
    double f;
    int bv;

    n->kind = YN_STR;
    if (strlen(n->text) != n->len) /* embedded NUL: only a string */
        return;
    if (is_null_text(n->text)) {
        n->kind = YN_NULL;
    } else if ((bv = bool_text(n->text)) >= 0) {
        n->kind = YN_BOOL;
        n->b = bv;
    } else if (resolve_int(n)) {
        ;
    } else if (is_float_text(n->text)) {
        set_float(n, strtod(n->text, NULL));
    } else if (special_float(n->text, &f)) {
        set_float(n, f);
    }
}

/* An explicit tag on a scalar: only the core schema's own. */
static const char *resolve_tagged(struct ynode *n, const char *tag) {
    const char *t;

    if (!strcmp(tag, "!")) /* non-specific: a string */
        return NULL;
    if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)))
        return "unsupported tag";
    t = tag + strlen(TAG_PREFIX);
    if (!strcmp(t, "str"))
        return NULL;
    resolve_plain(n);
    if (!strcmp(t, "int"))
        return n->kind == YN_INT ? NULL : "!!int on a value that is not an integer";
    if (!strcmp(t, "float")) {
        if (n->kind == YN_INT)
            set_float(n, (double)n->i);
        return n->kind == YN_FLOAT ? NULL : "!!float on a value that is not a number";
    }
    if (!strcmp(t, "bool"))
        return n->kind == YN_BOOL ? NULL : "!!bool on a value that is not a boolean";
    if (!strcmp(t, "null"))
        return n->kind == YN_NULL ? NULL : "!!null on a value that is not null";
    return "unsupported tag";
}

static void on_scalar(struct builder *b, const yaml_event_t *ev) {
    const char *tag = (const char *)ev->data.scalar.tag;
    struct ynode *n = b_node(b, YN_STR, &ev->start_mark);
    const char *why = NULL;

    if (!n)
        return;
    n->len = ev->data.scalar.length;
    n->text = malloc(n->len + 1);
    if (!n->text) {
        b_fail(b, SWEEP_ENOMEM, 0, 0, "out of memory");
        return;
    }
    memcpy(n->text, ev->data.scalar.value, n->len);
    n->text[n->len] = '\0';
    if (tag)
        why = resolve_tagged(n, tag);
    else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        resolve_plain(n);
    if (why) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s '%.100s'", why, tag);
        b_fail(b, SWEEP_EPARSE, n->line, n->col, msg);
        return;
    }
    b_attach(b, n);
    b_anchor(b, (const char *)ev->data.scalar.anchor, n);
}

static void on_start(struct builder *b, const yaml_event_t *ev, int is_map) {
    const char *tag = is_map ? (const char *)ev->data.mapping_start.tag
                             : (const char *)ev->data.sequence_start.tag;
    const char *anchor = is_map ? (const char *)ev->data.mapping_start.anchor
                                : (const char *)ev->data.sequence_start.anchor;
    struct ynode *n;

    if (b->depth >= YTREE_MAX_DEPTH) {
        char msg[64];
        snprintf(msg, sizeof(msg), "nested deeper than %d levels",
                 YTREE_MAX_DEPTH);
        b_fail(b, SWEEP_EPARSE, (int)ev->start_mark.line + 1,
               (int)ev->start_mark.column + 1, msg);
        return;
    }
    if (tag && strcmp(tag, is_map ? TAG_PREFIX "map" : TAG_PREFIX "seq") &&
        strcmp(tag, "!")) {
        b_fail(b, SWEEP_EPARSE, (int)ev->start_mark.line + 1,
               (int)ev->start_mark.column + 1, "unsupported tag on a collection");
        return;
    }
    n = b_node(b, is_map ? YN_MAP : YN_SEQ, &ev->start_mark);
    if (!n)
        return;
    b_attach(b, n);
    b->stack_anchor[b->depth] = anchor ? strdup(anchor) : NULL;
    if (anchor && !b->stack_anchor[b->depth])
        b_fail(b, SWEEP_ENOMEM, 0, 0, "out of memory");
    b->stack[b->depth++] = n;
}

static int key_cmp(const void *pa, const void *pb) {
    const struct ynode *a = *(const struct ynode *const *)pa;
    const struct ynode *b = *(const struct ynode *const *)pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->text, b->text, n);

    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    /* Same text: the earlier one in the file first. */
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->col < b->col ? -1 : (a->col > b->col);
}

/* Duplicate keys: sorted copy, so a map of 100k keys stays n log n. */
static void check_dup_keys(struct builder *b, const struct ynode *m) {
    size_t nk = ynode_map_len(m);
    const struct ynode **keys;

    if (nk < 2)
        return;
    keys = malloc(nk * sizeof(*keys));
    if (!keys) {
        b_fail(b, SWEEP_ENOMEM, 0, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < nk; i++)
        keys[i] = ynode_key(m, i);
    qsort(keys, nk, sizeof(*keys), key_cmp);
    for (size_t i = 1; i < nk; i++) {
        if (keys[i]->len == keys[i - 1]->len &&
            !memcmp(keys[i]->text, keys[i - 1]->text, keys[i]->len)) {
            char msg[200];
            snprintf(msg, sizeof(msg), "duplicate key '%.100s' (first at line %d)",
                     keys[i]->text, keys[i - 1]->line);
            b_fail(b, SWEEP_EPARSE, keys[i]->line, keys[i]->col, msg);
            break;
        }
    }
    free(keys);
}

static int is_merge_key(const struct ynode *k) {
    return k->kind == YN_STR && k->len == 2 && !memcmp(k->text, "<<", 2);
}

static int has_key(const struct ynode *m, const struct ynode *k) {
    for (size_t i = 0; i < ynode_map_len(m); i++) {
        const struct ynode *o = ynode_key(m, i);
        if (!is_merge_key(o) && o->len == k->len && !memcmp(o->text, k->text, k->len))
            return 1;
    }
    return 0;
}

/* Appends src's pairs whose keys m lacks (explicit keys win). */
static int merge_from(struct ynode *m, const struct ynode *src) {
    for (size_t i = 0; i < ynode_map_len(src); i++) {
        struct ynode *k = src->items[2 * i], *v = src->items[2 * i + 1];
        if (is_merge_key(k) || has_key(m, k))
            continue;
        if (push_item(m, k) < 0 || push_item(m, v) < 0)
            return -1;
    }
    return 0;
}

/* YAML 1.1 merge keys (`<<: *defaults`), which PyYAML, and so W&B, reads:
 * W&B configs that use them must load here too. */
static void apply_merges(struct builder *b, struct ynode *m) {
    struct ynode **srcs = NULL;
    size_t nsrc = 0, keep = 0;

    for (size_t i = 0; i < ynode_map_len(m); i++)
        nsrc += is_merge_key(ynode_key(m, i));
    if (!nsrc)
        return;
    srcs = malloc(nsrc * sizeof(*srcs));
    if (!srcs)
        goto oom;
    nsrc = 0;
    for (size_t i = 0; i < ynode_map_len(m); i++) { /* drop the << pairs */
        struct ynode *k = m->items[2 * i], *v = m->items[2 * i + 1];
        if (is_merge_key(k)) {
            srcs[nsrc++] = v;
            continue;
        }
        m->items[keep++] = k;
        m->items[keep++] = v;
    }
    m->n = keep;
    for (size_t i = 0; i < nsrc && !b->err; i++) {
        struct ynode *v = srcs[i];
        int bad = v->kind != YN_MAP && v->kind != YN_SEQ;
        for (size_t j = 0; !bad && v->kind == YN_SEQ && j < v->n; j++)
            bad = v->items[j]->kind != YN_MAP;
        if (bad) {
            b_fail(b, SWEEP_EPARSE, v->line, v->col,
                   "a merge key (<<) takes a mapping or a list of mappings");
            break;
        }
        if (v->kind == YN_MAP ? merge_from(m, v) < 0 : 0)
            goto oom;
        for (size_t j = 0; v->kind == YN_SEQ && j < v->n; j++)
            if (merge_from(m, v->items[j]) < 0)
                goto oom;
    }
    free(srcs);
    return;
oom:
    free(srcs);
    b_fail(b, SWEEP_ENOMEM, 0, 0, "out of memory");
}

static void on_end(struct builder *b) {
    struct ynode *n = b->stack[--b->depth];
    char *anchor = b->stack_anchor[b->depth];

    if (n->kind == YN_MAP) {
        check_dup_keys(b, n);
        apply_merges(b, n);
    }
    /* Registered only now: an alias inside its own anchor stays undefined,
     * so the tree can never be cyclic. */
    b_anchor(b, anchor, n);
    free(anchor);
}

static void on_alias(struct builder *b, const yaml_event_t *ev) {
    const char *name = (const char *)ev->data.alias.anchor;

    for (size_t i = b->nanchors; i-- > 0;) {
        if (!strcmp(b->anchors[i].name, name)) {
            b_attach(b, b->anchors[i].node);
            return;
        }
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "undefined alias '*%.100s'", name);
    b_fail(b, SWEEP_EPARSE, (int)ev->start_mark.line + 1,
           (int)ev->start_mark.column + 1, msg);
}

/* Returns 1 at the end of the stream. */
static int on_event(struct builder *b, const yaml_event_t *ev) {
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if (++b->ndocs > 1)
            b_fail(b, SWEEP_EPARSE, (int)ev->start_mark.line + 1,
                   (int)ev->start_mark.column + 1,
                   "more than one YAML document in the file");
        break;
    case YAML_SCALAR_EVENT:
        on_scalar(b, ev);
        break;
    case YAML_SEQUENCE_START_EVENT:
        on_start(b, ev, 0);
        break;
    case YAML_MAPPING_START_EVENT:
        on_start(b, ev, 1);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            on_end(b);
        break;
    case YAML_ALIAS_EVENT:
        on_alias(b, ev);
        break;
    default:
        break;
    }
    return 0;
}

static void parser_error(struct builder *b, const yaml_parser_t *p) {
    char msg[400];
    const yaml_mark_t *m = &p->problem_mark;

    if (p->error == YAML_MEMORY_ERROR) {
        b_fail(b, SWEEP_ENOMEM, 0, 0, "out of memory");
        return;
    }
    if (p->context)
        snprintf(msg, sizeof(msg), "syntax error: %s %s",
                 p->problem ? p->problem : "invalid YAML", p->context);
    else
        snprintf(msg, sizeof(msg), "syntax error: %s",
                 p->problem ? p->problem : "invalid YAML");
    b_fail(b, SWEEP_EPARSE, (int)m->line + 1, (int)m->column + 1, msg);
}

static void builder_release(struct builder *b) {
    for (size_t i = 0; i < b->nanchors; i++)
        free(b->anchors[i].name);
    free(b->anchors);
    while (b->depth > 0)
        free(b->stack_anchor[--b->depth]);
}

int ytree_parse(const char *buf, size_t len, struct ytree **out, int *line,
                int *col, char *errstr, size_t errstr_size) {
    struct builder b;
    yaml_parser_t parser;
    yaml_event_t ev;
    int done = 0;

    *out = NULL;
    memset(&b, 0, sizeof(b));
    b.errstr = errstr;
    b.errstr_size = errstr_size;
    b.t = calloc(1, sizeof(*b.t));
    if (!b.t || !yaml_parser_initialize(&parser)) {
        free(b.t);
        snprintf(errstr, errstr_size, "out of memory");
        return SWEEP_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    while (!done && !b.err) {
        if (!yaml_parser_parse(&parser, &ev)) {
            parser_error(&b, &parser);
            break;
        }
        done = on_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    builder_release(&b);
    if (b.err) {
        *line = b.line;
        *col = b.col;
        ytree_free(b.t);
        return b.err;
    }
    if (!b.t->root) { /* empty stream */
        yaml_mark_t m = {0, 0, 0};
        b.t->root = b_node(&b, YN_NULL, &m);
        if (!b.t->root) {
            ytree_free(b.t);
            snprintf(errstr, errstr_size, "out of memory");
            return SWEEP_ENOMEM;
        }
    }
    *out = b.t;
    return 0;
}

void ytree_free(struct ytree *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->nall; i++) {
        free(t->all[i]->text);
        free(t->all[i]->items);
        free(t->all[i]);
    }
    free(t->all);
    free(t);
}

const struct ynode *ytree_root(const struct ytree *t) { return t->root; }

const struct ynode *ynode_get(const struct ynode *map, const char *key,
                              const struct ynode **keyn) {
    size_t klen = strlen(key);

    if (!map || map->kind != YN_MAP)
        return NULL;
    for (size_t i = 0; i < ynode_map_len(map); i++) {
        const struct ynode *k = ynode_key(map, i);
        if (k->len == klen && !memcmp(k->text, key, klen)) {
            if (keyn)
                *keyn = k;
            return ynode_val(map, i);
        }
    }
    return NULL;
}

double ynode_number(const struct ynode *n) {
    return n->kind == YN_INT ? (double)n->i : n->f;
}

const char *ynode_kind_name(const struct ynode *n) {
    switch (n->kind) {
    case YN_NULL:
        return "null";
    case YN_BOOL:
        return "a boolean";
    case YN_INT:
        return "an integer";
    case YN_FLOAT:
        return "a float";
    case YN_STR:
        return "a string";
    case YN_SEQ:
        return "a list";
    case YN_MAP:
        return "a mapping";
    }
    return "a value";
}

struct conv {
    long *budget;
    const struct ynode *bad;
};

static json_t *to_json(const struct ynode *n, struct conv *c, int depth);

static json_t *seq_to_json(const struct ynode *n, struct conv *c, int depth) {
    json_t *a = json_array();

    for (size_t i = 0; a && i < n->n; i++) {
        json_t *v = to_json(n->items[i], c, depth + 1);
        if (!v || json_array_append_new(a, v) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *map_to_json(const struct ynode *n, struct conv *c, int depth) {
    json_t *o = json_object();

    for (size_t i = 0; o && i < ynode_map_len(n); i++) {
        const struct ynode *k = ynode_key(n, i);
        json_t *v = to_json(ynode_val(n, i), c, depth + 1);
        /* jansson keys are C strings: a key with a NUL byte is cut there. */
        if (!v || json_object_set_new(o, k->text, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *to_json(const struct ynode *n, struct conv *c, int depth) {
    if (--*c->budget < 0 || depth > YTREE_MAX_DEPTH * 4)
        return NULL;
    switch (n->kind) {
    case YN_NULL:
        return json_null();
    case YN_BOOL:
        return json_boolean(n->b);
    case YN_INT:
        return json_integer(n->i);
    case YN_FLOAT:
        if (!isfinite(n->f)) {
            c->bad = n;
            return NULL;
        }
        return json_real(n->f);
    case YN_STR:
        return json_stringn_nocheck(n->text, n->len);
    case YN_SEQ:
        return seq_to_json(n, c, depth);
    case YN_MAP:
        return map_to_json(n, c, depth);
    }
    return NULL;
}

json_t *ynode_to_json(const struct ynode *n, long *budget,
                      const struct ynode **bad) {
    struct conv c = {budget, NULL};
    json_t *j = to_json(n, &c, 0);

    if (bad)
        *bad = j ? NULL : c.bad;
    return j;
}
