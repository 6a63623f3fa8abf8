/*
 * value.h - parameter values (jansson json_t) compared and printed the way
 * Python, and so W&B, compares and prints them.
 *
 * Every function borrows its json_t arguments; nothing here takes a
 * reference or frees one.
 */
#ifndef SWEEP_VALUE_H
#define SWEEP_VALUE_H

#include <jansson.h>
#include <stdint.h>

#include "sbuf.h"

/* Equality as W&B grid dedupe sees it: numbers compare by value
 * (3000000 == 3000000.0), booleans are not numbers (true != 1), strings by
 * bytes, arrays element-wise in order, objects by key set regardless of
 * order. NULL pointers are equal only to each other. Returns 1 or 0. */
int value_equal(const json_t *a, const json_t *b);

/* A hash consistent with value_equal() (equal values hash alike). */
uint64_t value_hash(const json_t *v);

/* Python repr(float): shortest round-trip digits, scientific notation when
 * the decimal exponent is < -4 or >= 16 ("1e-05", "3000000.0", "1e+16"),
 * "nan", "inf", "-inf". */
void value_format_float(struct sbuf *sb, double d);

/* Python repr(): 'text' (Python's quoting and escapes), True, False, None,
 * 3, 0.001, [64, 32], {'a': 1} (object keys in their stored order). */
void value_repr(struct sbuf *sb, const json_t *v);

/* Python str(): a string prints raw, anything else as value_repr(). */
void value_str(struct sbuf *sb, const json_t *v);

/* Python json.dumps(v) with default settings: separators ", " and ": ",
 * non-ASCII escaped as \uXXXX, floats as repr ("1e-05", "3.0"). (Python's
 * NaN/Infinity cannot arise: jansson refuses non-finite reals.) */
void value_json(struct sbuf *sb, const json_t *v);

#endif
