/*
 * ytree.h - a YAML 1.2 (or JSON) document parsed with libyaml into a tree
 * of typed nodes that remember their line and column.
 *
 * Plain scalars resolve by the YAML 1.2 core schema: null (~, null, empty),
 * booleans (true/false in three casings), integers (decimal, 0o, 0x),
 * floats (1e-5, .5, .inf, .nan); anything quoted is a string. Aliases
 * share the anchored node. Duplicate mapping keys, complex keys, unknown
 * tags, undefined aliases and documents nested deeper than YTREE_MAX_DEPTH
 * are errors.
 */
#ifndef SWEEP_YTREE_H
#define SWEEP_YTREE_H

#include <jansson.h>
#include <stddef.h>

#define YTREE_MAX_DEPTH 256
/* Values a document may expand to through aliases (billion laughs); large
 * enough for a grid axis of GRID_MAX_AXIS values. */
#define YTREE_MAX_EXPANDED 1100000

enum ynode_kind { YN_NULL, YN_BOOL, YN_INT, YN_FLOAT, YN_STR, YN_SEQ, YN_MAP };

struct ynode {
    enum ynode_kind kind;
    int line, col;   /* 1-based position of the node's start */
    char *text;      /* scalars: the source text, NUL-terminated */
    size_t len;      /* its length (strings may contain NUL bytes) */
    int b;           /* YN_BOOL */
    long long i;     /* YN_INT */
    double f;        /* YN_FLOAT */
    struct ynode **items; /* YN_SEQ: n items; YN_MAP: n/2 key-value pairs,
                             keys at even indexes (always scalars) */
    size_t n;
};

struct ytree;

/* Parses one document. Returns 0 and sets *out (free with ytree_free()),
 * or SWEEP_EPARSE with the line and column describing the first syntax
 * error, or SWEEP_ENOMEM. An empty stream gives a YN_NULL root. */
int ytree_parse(const char *buf, size_t len, struct ytree **out, int *line,
                int *col, char *errstr, size_t errstr_size);
void ytree_free(struct ytree *t);
/* Root node; borrowed until ytree_free(). */
const struct ynode *ytree_root(const struct ytree *t);

/* Value of key in a mapping node, or NULL; *keyn (optional) gets the key
 * node. */
const struct ynode *ynode_get(const struct ynode *map, const char *key,
                              const struct ynode **keyn);
static inline size_t ynode_map_len(const struct ynode *m) { return m->n / 2; }
static inline const struct ynode *ynode_key(const struct ynode *m, size_t i) {
    return m->items[2 * i];
}
static inline const struct ynode *ynode_val(const struct ynode *m, size_t i) {
    return m->items[2 * i + 1];
}
static inline int ynode_is_number(const struct ynode *n) {
    return n->kind == YN_INT || n->kind == YN_FLOAT;
}
static inline int ynode_is_scalar(const struct ynode *n) {
    return n->kind != YN_SEQ && n->kind != YN_MAP;
}
double ynode_number(const struct ynode *n);
/* "a string", "an integer", "a mapping"...: for messages. */
const char *ynode_kind_name(const struct ynode *n);

/* The node as JSON (new reference), expanding aliases. Mapping keys use
 * their scalar text. NULL on allocation failure, when the expansion passes
 * *budget nodes (decremented as nodes are made), or at a non-finite float
 * (JSON has none): then *bad, if given, is that node (else NULL). */
json_t *ynode_to_json(const struct ynode *n, long *budget,
                      const struct ynode **bad);

#endif
