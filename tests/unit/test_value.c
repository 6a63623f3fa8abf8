/* test_value.c - equality, hashing and the Python printers of value.c.
 * Expected strings come from CPython 3.11 (repr(), json.dumps()). */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "test.h"
#include "value.h"

static struct sbuf out = SBUF_INIT;

/* Parses JSON text (any value, NUL allowed in strings); aborts on typos in
 * the test itself so a bad literal cannot pass silently. */
static json_t *J(const char *text) {
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    if (!v) {
        fprintf(stderr, "bad test JSON %s: %s\n", text, err.text);
        abort();
    }
    return v;
}

/* value_equal() of two JSON texts, in both argument orders. */
static int eq(const char *a, const char *b) {
    json_t *x = J(a), *y = J(b);
    int r = value_equal(x, y);

    if (value_equal(y, x) != r)
        r = -1; /* asymmetric: fails every CHECK_INT below */
    json_decref(x);
    json_decref(y);
    return r;
}

static int eq_hash(json_t *x, json_t *y) {
    int r = value_hash(x) == value_hash(y);

    json_decref(x);
    json_decref(y);
    return r;
}

/* The printers take ownership of v and return text valid until the next
 * call. */
static const char *fmt(double d) {
    sbuf_reset(&out);
    value_format_float(&out, d);
    return sbuf_str(&out);
}

static const char *repr(json_t *v) {
    sbuf_reset(&out);
    value_repr(&out, v);
    json_decref(v);
    return sbuf_str(&out);
}

static const char *str(json_t *v) {
    sbuf_reset(&out);
    value_str(&out, v);
    json_decref(v);
    return sbuf_str(&out);
}

static const char *dumps(json_t *v) {
    sbuf_reset(&out);
    value_json(&out, v);
    json_decref(v);
    return sbuf_str(&out);
}

static void test_equal_numbers(void) {
    CHECK_INT(eq("3000000", "3000000.0"), 1);
    CHECK_INT(eq("3", "3"), 1);
    CHECK_INT(eq("3", "4"), 0);
    CHECK_INT(eq("3", "3.5"), 0);
    CHECK_INT(eq("0.1", "0.1"), 1);
    CHECK_INT(eq("0.1", "0.2"), 0);
    CHECK_INT(eq("0", "-0.0"), 1);
    CHECK_INT(eq("0.0", "-0.0"), 1);
    CHECK_INT(eq("-7", "-7.0"), 1);
    /* Past 2^53 a double cannot tell these apart; exact comparison can. */
    CHECK_INT(eq("9007199254740993", "9007199254740992.0"), 0);
    CHECK_INT(eq("9007199254740992", "9007199254740992.0"), 1);
    /* 2^63 is one past LLONG_MAX: not equal, and no overflow in between. */
    CHECK_INT(eq("9223372036854775807", "9223372036854775808.0"), 0);
    CHECK_INT(eq("-9223372036854775808", "-9223372036854775808.0"), 1);
    CHECK_INT(eq("1", "1e300"), 0);
}

/* value.c relies on this: no NaN or infinity ever reaches value_equal(),
 * value_hash() or value_json(), so they need no Python special cases. */
static void test_no_nonfinite_json(void) {
    json_t *r = json_real(1.0);

    CHECK(json_real(NAN) == NULL);
    CHECK(json_real(INFINITY) == NULL);
    CHECK_INT(json_real_set(r, -INFINITY), -1);
    json_decref(r);
}

static void test_equal_bool_null(void) {
    CHECK_INT(eq("true", "1"), 0);
    CHECK_INT(eq("false", "0"), 0);
    CHECK_INT(eq("true", "1.0"), 0);
    CHECK_INT(eq("true", "true"), 1);
    CHECK_INT(eq("true", "false"), 0);
    CHECK_INT(eq("null", "null"), 1);
    CHECK_INT(eq("null", "false"), 0);
    CHECK_INT(eq("null", "0"), 0);
    CHECK_INT(eq("null", "\"\""), 0);
    CHECK_INT(value_equal(NULL, NULL), 1);
    json_t *n = json_null();
    CHECK_INT(value_equal(NULL, n), 0);
    CHECK_INT(value_equal(n, NULL), 0);
}

static void test_equal_strings(void) {
    CHECK_INT(eq("\"a\"", "\"a\""), 1);
    CHECK_INT(eq("\"a\"", "\"b\""), 0);
    CHECK_INT(eq("\"1\"", "1"), 0);
    CHECK_INT(eq("\"a\\u0000b\"", "\"a\\u0000b\""), 1);
    CHECK_INT(eq("\"a\\u0000b\"", "\"a\\u0000c\""), 0);
    CHECK_INT(eq("\"a\\u0000b\"", "\"a\""), 0);
    CHECK_INT(eq("\"\"", "\"\\u0000\""), 0);
}

static void test_equal_containers(void) {
    CHECK_INT(eq("[1, 2]", "[1, 2]"), 1);
    CHECK_INT(eq("[1, 2]", "[2, 1]"), 0);
    CHECK_INT(eq("[1, 2]", "[1.0, 2.0]"), 1);
    CHECK_INT(eq("[1, 2]", "[1, 2, 3]"), 0);
    CHECK_INT(eq("[]", "{}"), 0);
    CHECK_INT(eq("[true]", "[1]"), 0);
    CHECK_INT(eq("{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"a\": 1}"), 1);
    CHECK_INT(eq("{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"a\": 1.0}"), 1);
    CHECK_INT(eq("{\"a\": 1}", "{\"a\": 1, \"b\": 2}"), 0);
    CHECK_INT(eq("{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"c\": 2}"), 0);
    CHECK_INT(eq("{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 3}"), 0);
    CHECK_INT(eq("{\"x\": {\"p\": [1, {\"q\": null}], \"r\": 2}}",
                 "{\"x\": {\"r\": 2.0, \"p\": [1.0, {\"q\": null}]}}"),
              1);
    CHECK_INT(eq("{\"x\": {\"p\": [1, 2]}}", "{\"x\": {\"p\": [2, 1]}}"), 0);
    CHECK_INT(eq("{}", "{}"), 1);
}

static void test_hash_consistent(void) {
    CHECK_INT(eq_hash(J("3000000"), J("3000000.0")), 1);
    CHECK_INT(eq_hash(J("0"), J("-0.0")), 1);
    CHECK_INT(eq_hash(J("-5"), J("-5.0")), 1);
    CHECK_INT(eq_hash(J("{\"a\": 1, \"b\": 2}"), J("{\"b\": 2.0, \"a\": 1}")),
              1);
    CHECK_INT(eq_hash(J("{\"k\": {\"a\": [1, \"s\"], \"b\": null}}"),
                      J("{\"k\": {\"b\": null, \"a\": [1.0, \"s\"]}}")),
              1);
    CHECK_INT(eq_hash(J("\"a\\u0000b\""), J("\"a\\u0000b\"")), 1);
}

/* Unequal values could collide in principle; these must not in practice,
 * since they are exactly the confusions value_equal() rules out. */
static void test_hash_distinct(void) {
    CHECK_INT(eq_hash(J("[1, 2]"), J("[2, 1]")), 0);
    CHECK_INT(eq_hash(J("true"), J("1")), 0);
    CHECK_INT(eq_hash(J("false"), J("0")), 0);
    CHECK_INT(eq_hash(J("null"), J("0")), 0);
    CHECK_INT(eq_hash(J("1"), J("1.5")), 0);
    CHECK_INT(eq_hash(J("\"a\""), J("\"b\"")), 0);
    CHECK_INT(eq_hash(J("\"1\""), J("1")), 0);
    CHECK_INT(eq_hash(J("{\"a\": 1, \"b\": 2}"), J("{\"a\": 2, \"b\": 1}")), 0);
    CHECK_INT(eq_hash(J("[[1], 2]"), J("[1, [2]]")), 0);
    CHECK_INT(eq_hash(J("\"\""), J("\"\\u0000\"")), 0);
}

static void test_float_positional(void) {
    CHECK_STR(fmt(3000000.0), "3000000.0");
    CHECK_STR(fmt(0.001), "0.001");
    CHECK_STR(fmt(1.5), "1.5");
    CHECK_STR(fmt(100.0), "100.0");
    CHECK_STR(fmt(0.0001), "0.0001");
    CHECK_STR(fmt(0.00012345), "0.00012345");
    CHECK_STR(fmt(9.9999e-05), "9.9999e-05");
    CHECK_STR(fmt(0.0), "0.0");
    CHECK_STR(fmt(-0.0), "-0.0");
    CHECK_STR(fmt(1.0), "1.0");
    CHECK_STR(fmt(-2.5), "-2.5");
    CHECK_STR(fmt(0.5), "0.5");
    CHECK_STR(fmt(0.1), "0.1");
    CHECK_STR(fmt(4.35), "4.35");
    CHECK_STR(fmt(123.456), "123.456");
    CHECK_STR(fmt(1.0 / 3.0), "0.3333333333333333");
    CHECK_STR(fmt(0.1 + 0.2), "0.30000000000000004");
    CHECK_STR(fmt(1e15), "1000000000000000.0");
    CHECK_STR(fmt(9999999999999998.0), "9999999999999998.0");
    CHECK_STR(fmt(9007199254740992.0), "9007199254740992.0");
}

static void test_float_scientific(void) {
    CHECK_STR(fmt(1e-05), "1e-05");
    CHECK_STR(fmt(1.5e-07), "1.5e-07");
    CHECK_STR(fmt(3e-07), "3e-07");
    CHECK_STR(fmt(-1.5e-10), "-1.5e-10");
    CHECK_STR(fmt(1e16), "1e+16");
    CHECK_STR(fmt(1.2345e20), "1.2345e+20");
    CHECK_STR(fmt(1e22), "1e+22");
    CHECK_STR(fmt(1e100), "1e+100");
    CHECK_STR(fmt(123456789012345678.0), "1.2345678901234568e+17");
    CHECK_STR(fmt(12345678901234567890.0), "1.2345678901234567e+19");
    CHECK_STR(fmt(5e-324), "5e-324");
    CHECK_STR(fmt(DBL_MAX), "1.7976931348623157e+308");
    CHECK_STR(fmt(DBL_MIN), "2.2250738585072014e-308");
    /* Powers of two where the shortest string lies above the value and
     * correctly rounding to that many digits lands below it. */
    CHECK_STR(fmt(ldexp(1.0, -44)), "5.684341886080802e-14");
    CHECK_STR(fmt(ldexp(1.0, -24)), "5.960464477539063e-08");
    CHECK_STR(fmt(ldexp(1.0, 89)), "6.189700196426902e+26");
    CHECK_STR(fmt(ldexp(1.0, -1017)), "7.120236347223045e-307");
    CHECK_STR(fmt(ldexp(1.0, 60)), "1.152921504606847e+18");
}

static void test_float_special(void) {
    CHECK_STR(fmt(NAN), "nan");
    CHECK_STR(fmt(-NAN), "nan");
    CHECK_STR(fmt(INFINITY), "inf");
    CHECK_STR(fmt(-INFINITY), "-inf");
}

static void test_repr_scalars(void) {
    CHECK_STR(repr(json_true()), "True");
    CHECK_STR(repr(json_false()), "False");
    CHECK_STR(repr(json_null()), "None");
    CHECK_STR(repr(json_integer(-42)), "-42");
    CHECK_STR(repr(json_integer(9223372036854775807LL)),
              "9223372036854775807");
    CHECK_STR(repr(json_real(3000000.0)), "3000000.0");
    CHECK_STR(repr(json_real(1e-05)), "1e-05");
}

static void test_repr_string_quotes(void) {
    CHECK_STR(repr(json_string("abc")), "'abc'");
    CHECK_STR(repr(json_string("")), "''");
    CHECK_STR(repr(json_string("it's")), "\"it's\"");
    CHECK_STR(repr(json_string("say \"hi\"")), "'say \"hi\"'");
    CHECK_STR(repr(json_string("both ' and \"")), "'both \\' and \"'");
    CHECK_STR(repr(json_string("a\\b")), "'a\\\\b'");
    CHECK_STR(repr(json_string("'\\")), "\"'\\\\\"");
}

static void test_repr_string_escapes(void) {
    CHECK_STR(repr(json_stringn("\n\r\t\0\x1b\x7f", 6)),
              "'\\n\\r\\t\\x00\\x1b\\x7f'");
    CHECK_STR(repr(json_string("\x01 \x1f")), "'\\x01 \\x1f'");
    /* Printable non-ASCII prints as itself ('é€😀')... */
    CHECK_STR(repr(json_string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")),
              "'\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80'");
    /* ...but Latin-1 controls, NBSP and soft hyphen do not ('\x85\xa0\xad¡'). */
    CHECK_STR(repr(json_string("\xc2\x85\xc2\xa0\xc2\xad\xc2\xa1")),
              "'\\x85\\xa0\\xad\xc2\xa1'");
}

static void test_repr_containers(void) {
    CHECK_STR(repr(J("[1, \"a\", null]")), "[1, 'a', None]");
    CHECK_STR(repr(J("[64, 32]")), "[64, 32]");
    CHECK_STR(repr(J("[]")), "[]");
    CHECK_STR(repr(J("{}")), "{}");
    CHECK_STR(repr(J("{\"a\": 1, \"b\": [2]}")), "{'a': 1, 'b': [2]}");
    /* Stored order, not sorted. */
    CHECK_STR(repr(J("{\"b\": 1, \"a\": 2}")), "{'b': 1, 'a': 2}");
    CHECK_STR(repr(J("{\"a\": 1, \"b\": [2, \"x\", null, true, false, 1.5], "
                     "\"c\": {\"d\": {}}}")),
              "{'a': 1, 'b': [2, 'x', None, True, False, 1.5], "
              "'c': {'d': {}}}");
    CHECK_STR(repr(J("{\"it's\": [1.0, 1e-5]}")), "{\"it's\": [1.0, 1e-05]}");
}

static void test_str(void) {
    CHECK_STR(str(json_string("it's raw\n")), "it's raw\n");
    CHECK_STR(str(json_true()), "True");
    CHECK_STR(str(json_null()), "None");
    CHECK_STR(str(json_real(0.001)), "0.001");
    CHECK_STR(str(J("[\"a\", 1]")), "['a', 1]");
    CHECK_STR(str(J("{\"k\": \"v\"}")), "{'k': 'v'}");
    /* A NUL inside a string is kept: the length is the string's, not C's. */
    sbuf_reset(&out);
    json_t *s = json_stringn("a\0b", 3);
    value_str(&out, s);
    json_decref(s);
    CHECK_INT(out.len, 3);
    CHECK(memcmp(sbuf_str(&out), "a\0b", 3) == 0);
}

static void test_json_scalars(void) {
    CHECK_STR(dumps(json_true()), "true");
    CHECK_STR(dumps(json_false()), "false");
    CHECK_STR(dumps(json_null()), "null");
    CHECK_STR(dumps(json_integer(-3)), "-3");
    CHECK_STR(dumps(json_real(3.0)), "3.0");
    CHECK_STR(dumps(json_real(1e-05)), "1e-05");
    CHECK_STR(dumps(json_real(1e16)), "1e+16");
    CHECK_STR(dumps(json_real(-0.0)), "-0.0");
    CHECK_STR(dumps(json_real(0.1 + 0.2)), "0.30000000000000004");
    CHECK_STR(dumps(json_integer(9223372036854775807LL)),
              "9223372036854775807");
}

static void test_json_strings(void) {
    CHECK_STR(dumps(json_string("\"\\\n\r\t\b\f\x01\x1f\x7f/")),
              "\"\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f/\"");
    CHECK_STR(dumps(json_stringn("a\0b", 3)), "\"a\\u0000b\"");
    CHECK_STR(dumps(json_string("it's")), "\"it's\"");
    /* ensure_ascii: é € and a surrogate pair for U+1F600. */
    CHECK_STR(dumps(json_string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")),
              "\"\\u00e9\\u20ac\\ud83d\\ude00\"");
    /* Bytes jansson would refuse, each replaced on its own. */
    CHECK_STR(dumps(json_stringn_nocheck("a\xff\xc3(\xed\xa0\x80", 7)),
              "\"a\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\"");
}

static void test_json_containers(void) {
    CHECK_STR(dumps(J("[]")), "[]");
    CHECK_STR(dumps(J("{}")), "{}");
    CHECK_STR(dumps(J("{\"b\": [1.0, 1e-05], \"a\": {\"\\u00e9\": null}}")),
              "{\"b\": [1.0, 1e-05], \"a\": {\"\\u00e9\": null}}");
    CHECK_STR(dumps(J("{\"c\": [], \"d\": {}, \"f\": null, \"g\": true}")),
              "{\"c\": [], \"d\": {}, \"f\": null, \"g\": true}");
    CHECK_STR(dumps(J("[\"it's\", 3000000.0, [1, [2]]]")),
              "[\"it's\", 3000000.0, [1, [2]]]");
}

int main(void) {
    TEST_RUN(test_equal_numbers);
    TEST_RUN(test_no_nonfinite_json);
    TEST_RUN(test_equal_bool_null);
    TEST_RUN(test_equal_strings);
    TEST_RUN(test_equal_containers);
    TEST_RUN(test_hash_consistent);
    TEST_RUN(test_hash_distinct);
    TEST_RUN(test_float_positional);
    TEST_RUN(test_float_scientific);
    TEST_RUN(test_float_special);
    TEST_RUN(test_repr_scalars);
    TEST_RUN(test_repr_string_quotes);
    TEST_RUN(test_repr_string_escapes);
    TEST_RUN(test_repr_containers);
    TEST_RUN(test_str);
    TEST_RUN(test_json_scalars);
    TEST_RUN(test_json_strings);
    TEST_RUN(test_json_containers);
    sbuf_release(&out);
    return TEST_DONE();
}
