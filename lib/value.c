/*
 * value.c - parameter values compared, hashed and printed the way Python
 * (and so the W&B agent and controller) compares and prints them.
 *
 * Grid dedupe, ${args} and ${args_json} must produce byte-for-byte what the
 * reference produces, so every printer here mirrors a CPython routine:
 * float.__repr__, repr() of str/list/dict and json.dumps() defaults.
 */
#include "value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* ---- equality and hashing ---------------------------------------------- */

/* 2^63 as a double: the first value a long long cannot hold. */
#define VALUE_LL_LIMIT 9223372036854775808.0

/* True when d is a whole number a long long holds exactly, so it can be
 * compared with an integer without going through (lossy) double. */
static int value_real_as_int(double d, long long *out) {
    if (!(d >= -VALUE_LL_LIMIT && d < VALUE_LL_LIMIT))
        return 0; /* also rejects NaN */
    if (d != floor(d))
        return 0;
    *out = (long long)d;
    return 1;
}

static int value_number_equal(const json_t *a, const json_t *b) {
    long long ia;

    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    /* No NaN to worry about: jansson refuses non-finite reals
     * (json_real(NAN) is NULL), so == is Python's float equality. */
    if (json_is_real(a) && json_is_real(b))
        return json_real_value(a) == json_real_value(b);
    if (json_is_real(a)) {
        const json_t *t = a;
        a = b;
        b = t;
    }
    /* a is the integer, b the real: compare exactly, never via double, so
     * 2^53 + 1 is not equal to 2^53 + 0.0. */
    if (!value_real_as_int(json_real_value(b), &ia))
        return 0;
    return ia == json_integer_value(a);
}

static int value_string_equal(const json_t *a, const json_t *b) {
    size_t n = json_string_length(a);

    return n == json_string_length(b) &&
           memcmp(json_string_value(a), json_string_value(b), n) == 0;
}

static int value_array_equal(const json_t *a, const json_t *b) {
    size_t n = json_array_size(a);

    if (n != json_array_size(b))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!value_equal(json_array_get(a, i), json_array_get(b, i)))
            return 0;
    return 1;
}

/* Keys are unique within an object, so equal sizes plus every key of a
 * found in b with an equal value means the same key set. */
static int value_object_equal(const json_t *a, const json_t *b) {
    const char *key;
    size_t klen;
    json_t *va;

    if (json_object_size(a) != json_object_size(b))
        return 0;
    json_object_keylen_foreach((json_t *)a, key, klen, va) {
        if (!value_equal(va, json_object_getn(b, key, klen)))
            return 0;
    }
    return 1;
}

int value_equal(const json_t *a, const json_t *b) {
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b))
        return value_number_equal(a, b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return value_string_equal(a, b);
    case JSON_ARRAY:
        return value_array_equal(a, b);
    case JSON_OBJECT:
        return value_object_equal(a, b);
    default:
        return 1; /* true, false, null: the type is the value */
    }
}

/* splitmix64's finalizer: spreads every input bit over the output. */
static uint64_t value_mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* FNV-1a over the bytes, length included so "" and "\0" differ. */
static uint64_t value_hash_bytes(const char *s, size_t n) {
    return value_mix(fnv1a(FNV1A_INIT ^ n, s, n));
}

enum { VALUE_H_NULL = 1, VALUE_H_TRUE, VALUE_H_FALSE, VALUE_H_NUM,
       VALUE_H_STR, VALUE_H_ARRAY, VALUE_H_OBJECT };

/* Integers and integral reals hash alike, matching value_number_equal();
 * -0.0 takes the integer path and so hashes as 0. */
static uint64_t value_hash_number(const json_t *v) {
    long long i;
    double d;
    uint64_t bits;

    if (json_is_integer(v))
        return value_mix(VALUE_H_NUM ^ (uint64_t)json_integer_value(v));
    d = json_real_value(v);
    if (value_real_as_int(d, &i))
        return value_mix(VALUE_H_NUM ^ (uint64_t)i);
    memcpy(&bits, &d, sizeof(bits));
    return value_mix(VALUE_H_NUM ^ value_mix(bits));
}

static uint64_t value_hash_array(const json_t *v) {
    uint64_t h = VALUE_H_ARRAY;
    size_t n = json_array_size(v);

    for (size_t i = 0; i < n; i++)
        h = value_mix(h + value_hash(json_array_get(v, i)));
    return h;
}

/* Summing per-entry hashes makes the result independent of key order. */
static uint64_t value_hash_object(const json_t *v) {
    uint64_t sum = 0;
    const char *key;
    size_t klen;
    json_t *val;

    json_object_keylen_foreach((json_t *)v, key, klen, val) {
        sum += value_mix(value_hash_bytes(key, klen) * 31 + value_hash(val));
    }
    return value_mix(VALUE_H_OBJECT ^ sum);
}

uint64_t value_hash(const json_t *v) {
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return value_mix(VALUE_H_NULL);
    case JSON_TRUE:
        return value_mix(VALUE_H_TRUE);
    case JSON_FALSE:
        return value_mix(VALUE_H_FALSE);
    case JSON_INTEGER:
    case JSON_REAL:
        return value_hash_number(v);
    case JSON_STRING:
        return value_mix(VALUE_H_STR ^
                         value_hash_bytes(json_string_value(v),
                                          json_string_length(v)));
    case JSON_ARRAY:
        return value_hash_array(v);
    case JSON_OBJECT:
        return value_hash_object(v);
    }
    return 0;
}

/* ---- Python float repr --------------------------------------------------- */

/* Decimal digits of a positive finite double: "d1d2...dn" means
 * 0.d1d2...dn x 10^(exp+1), i.e. d1.d2...dn x 10^exp. */
struct value_digits {
    char d[24];
    int n;
    int exp;
};

/* Splits printf's "d.ddde[+-]xx" into digits and exponent. */
static void value_split_e(const char *buf, struct value_digits *out) {
    const char *p = buf;

    out->n = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            out->d[out->n++] = *p;
    out->exp = atoi(p + 1);
}

/* Rewrites buf (digits v) as the decimal one unit in the last place above:
 * "7.12...44e-307" -> "7.12...45e-307", "9.9e5" -> "1.0e6". */
static void value_next_up(struct value_digits *v, char *buf, size_t size) {
    int i = v->n - 1;

    while (i >= 0 && v->d[i] == '9')
        v->d[i--] = '0';
    if (i >= 0) {
        v->d[i]++;
    } else {
        v->d[0] = '1'; /* all nines: the rest are zeros now */
        v->exp++;
    }
    snprintf(buf, size, "%c.%.*se%d", v->d[0], v->n - 1, v->d + 1, v->exp);
}

/* Whether some p+1 significant digit decimal reads back as d; if so, out
 * holds the one CPython's dtoa (mode 0) picks. The correctly rounded string
 * is the closest, so it is tried first. At a power of two the gap below d
 * is half the gap above, so when rounding went down and missed, the next
 * decimal up, though further away, can still land on d (2^-44 is
 * 5.684341886080802e-14, not ...8015e-14). */
static int value_try_digits(double d, int p, struct value_digits *out) {
    char buf[48];
    double back;

    snprintf(buf, sizeof(buf), "%.*e", p, d);
    back = strtod(buf, NULL);
    value_split_e(buf, out);
    if (back == d)
        return 1;
    if (back > d)
        return 0;
    value_next_up(out, buf, sizeof(buf));
    return strtod(buf, NULL) == d;
}

/* Shortest round-trip digits (17 always do), without trailing zeros: the
 * positional and scientific layouts add their own. */
static void value_shortest(double d, struct value_digits *out) {
    for (int p = 0; p < 17; p++)
        if (value_try_digits(d, p, out))
            break;
    while (out->n > 1 && out->d[out->n - 1] == '0')
        out->n--;
}

/* d1.d2...dn e[+-]XX with at least two exponent digits, as Python prints. */
static void value_put_sci(struct sbuf *sb, const struct value_digits *v) {
    sbuf_addc(sb, v->d[0]);
    if (v->n > 1) {
        sbuf_addc(sb, '.');
        sbuf_add(sb, v->d + 1, (size_t)v->n - 1);
    }
    sbuf_addf(sb, "e%c%02d", v->exp < 0 ? '-' : '+', abs(v->exp));
}

/* Positional with at least one digit after the point ("100.0", "0.001"). */
static void value_put_fixed(struct sbuf *sb, const struct value_digits *v) {
    int intdigits = v->exp + 1;

    if (intdigits <= 0) {
        sbuf_adds(sb, "0.");
        for (int i = 0; i < -intdigits; i++)
            sbuf_addc(sb, '0');
        sbuf_add(sb, v->d, (size_t)v->n);
    } else if (v->n <= intdigits) {
        sbuf_add(sb, v->d, (size_t)v->n);
        for (int i = v->n; i < intdigits; i++)
            sbuf_addc(sb, '0');
        sbuf_adds(sb, ".0");
    } else {
        sbuf_add(sb, v->d, (size_t)intdigits);
        sbuf_addc(sb, '.');
        sbuf_add(sb, v->d + intdigits, (size_t)(v->n - intdigits));
    }
}

void value_format_float(struct sbuf *sb, double d) {
    struct value_digits v;

    if (isnan(d)) {
        sbuf_adds(sb, "nan");
        return;
    }
    if (signbit(d)) {
        sbuf_addc(sb, '-');
        d = -d;
    }
    if (isinf(d)) {
        sbuf_adds(sb, "inf");
        return;
    }
    value_shortest(d, &v);
    /* CPython's float_repr_style 'short': positional for -4 <= exp < 16. */
    if (v.exp < -4 || v.exp >= 16)
        value_put_sci(sb, &v);
    else
        value_put_fixed(sb, &v);
}

/* ---- UTF-8 ----------------------------------------------------------------- */

/* Decodes one well-formed UTF-8 sequence (no overlongs, surrogates or
 * values past U+10FFFF). Returns its length, or 0 if s does not start one. */
static size_t value_utf8_decode(const unsigned char *s, size_t n,
                                uint32_t *cp) {
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len;
    uint32_t c;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc0 && s[0] < 0xe0)
        len = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] < 0xf0)
        len = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] < 0xf5)
        len = 4, c = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* ---- Python repr() --------------------------------------------------------- */

/* Python's repr prefers single quotes and switches to double quotes only
 * when that avoids escaping: the string has ' but no ". */
static char value_repr_quote(const char *s, size_t n) {
    return memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
}

/* One ASCII byte as str.__repr__ writes it. */
static void value_repr_ascii(struct sbuf *sb, unsigned char c, char quote) {
    if (c == (unsigned char)quote || c == '\\') {
        sbuf_addc(sb, '\\');
        sbuf_addc(sb, (char)c);
    } else if (c == '\n') {
        sbuf_adds(sb, "\\n");
    } else if (c == '\r') {
        sbuf_adds(sb, "\\r");
    } else if (c == '\t') {
        sbuf_adds(sb, "\\t");
    } else if (c < 0x20 || c == 0x7f) {
        sbuf_addf(sb, "\\x%02x", c);
    } else {
        sbuf_addc(sb, (char)c);
    }
}

/* Non-ASCII: Python escapes characters that are not printable. Within
 * Latin-1 those are exactly U+0080..U+00A0 and U+00AD; beyond it the rule
 * needs the Unicode database, so everything else (and any invalid byte)
 * passes through, which Python also does for printable text. */
static size_t value_repr_nonascii(struct sbuf *sb, const unsigned char *s,
                                  size_t n) {
    uint32_t cp;
    size_t len = value_utf8_decode(s, n, &cp);

    if (len == 0) {
        sbuf_addc(sb, (char)s[0]);
        return 1;
    }
    if (cp <= 0xa0 || cp == 0xad)
        sbuf_addf(sb, "\\x%02x", (unsigned)cp);
    else
        sbuf_add(sb, s, len);
    return len;
}

static void value_repr_string(struct sbuf *sb, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    char quote = value_repr_quote(s, n);
    size_t i = 0;

    sbuf_addc(sb, quote);
    while (i < n) {
        if (u[i] < 0x80)
            value_repr_ascii(sb, u[i++], quote);
        else
            i += value_repr_nonascii(sb, u + i, n - i);
    }
    sbuf_addc(sb, quote);
}

/* Python's repr() and json.dumps() differ only in their words for
 * None/True/False and in how strings are quoted: one printer serves both. */
struct value_style {
    const char *null_word, *true_word, *false_word;
    void (*string)(struct sbuf *sb, const char *s, size_t n);
};

static void value_print(struct sbuf *sb, const json_t *v,
                        const struct value_style *st);

static void value_print_array(struct sbuf *sb, const json_t *v,
                              const struct value_style *st) {
    size_t n = json_array_size(v);

    sbuf_addc(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_adds(sb, ", ");
        value_print(sb, json_array_get(v, i), st);
    }
    sbuf_addc(sb, ']');
}

static void value_print_object(struct sbuf *sb, const json_t *v,
                               const struct value_style *st) {
    const char *key;
    size_t klen;
    json_t *val;
    int first = 1;

    sbuf_addc(sb, '{');
    json_object_keylen_foreach((json_t *)v, key, klen, val) {
        if (!first)
            sbuf_adds(sb, ", ");
        first = 0;
        st->string(sb, key, klen);
        sbuf_adds(sb, ": ");
        value_print(sb, val, st);
    }
    sbuf_addc(sb, '}');
}

static void value_print(struct sbuf *sb, const json_t *v,
                        const struct value_style *st) {
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_NULL:
        sbuf_adds(sb, st->null_word);
        break;
    case JSON_TRUE:
        sbuf_adds(sb, st->true_word);
        break;
    case JSON_FALSE:
        sbuf_adds(sb, st->false_word);
        break;
    case JSON_INTEGER:
        sbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        /* float.__repr__, which json.dumps uses too. Python writes NaN and
         * Infinity for non-finite floats, but jansson cannot hold them. */
        value_format_float(sb, json_real_value(v));
        break;
    case JSON_STRING:
        st->string(sb, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY:
        value_print_array(sb, v, st);
        break;
    case JSON_OBJECT:
        value_print_object(sb, v, st);
        break;
    }
}

void value_repr(struct sbuf *sb, const json_t *v) {
    static const struct value_style py = {"None", "True", "False",
                                          value_repr_string};
    value_print(sb, v, &py);
}

void value_str(struct sbuf *sb, const json_t *v) {
    if (json_is_string(v))
        sbuf_add(sb, json_string_value(v), json_string_length(v));
    else
        value_repr(sb, v);
}

/* ---- json.dumps() ------------------------------------------------------------ */

/* \uXXXX in lowercase hex, as json's ensure_ascii writes it; code points
 * past the BMP become a surrogate pair. */
static void value_json_u(struct sbuf *sb, uint32_t cp) {
    if (cp >= 0x10000) {
        cp -= 0x10000;
        sbuf_addf(sb, "\\u%04x\\u%04x", (unsigned)(0xd800 | (cp >> 10)),
                  (unsigned)(0xdc00 | (cp & 0x3ff)));
    } else {
        sbuf_addf(sb, "\\u%04x", (unsigned)cp);
    }
}

static void value_json_ascii(struct sbuf *sb, unsigned char c) {
    static const char esc[] = "\"\"\\\\\nn\rr\tt\bb\ff";

    for (size_t i = 0; i + 1 < sizeof(esc); i += 2) {
        if (esc[i] == (char)c) {
            sbuf_addc(sb, '\\');
            sbuf_addc(sb, esc[i + 1]);
            return;
        }
    }
    /* json's ESCAPE_ASCII keeps only ' '..'~', so DEL is escaped too. */
    if (c < 0x20 || c == 0x7f)
        value_json_u(sb, c);
    else
        sbuf_addc(sb, (char)c);
}

/* Jansson validates UTF-8, but json_string_nocheck() values may not be:
 * an invalid byte becomes U+FFFD, as a lossy decode would give Python. */
static void value_json_string(struct sbuf *sb, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, len;
    uint32_t cp;

    sbuf_addc(sb, '"');
    while (i < n) {
        if (u[i] < 0x80) {
            value_json_ascii(sb, u[i++]);
            continue;
        }
        len = value_utf8_decode(u + i, n - i, &cp);
        value_json_u(sb, len ? cp : 0xfffd);
        i += len ? len : 1;
    }
    sbuf_addc(sb, '"');
}

void value_json(struct sbuf *sb, const json_t *v) {
    static const struct value_style js = {"null", "true", "false",
                                          value_json_string};
    value_print(sb, v, &js);
}
