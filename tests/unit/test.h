/*
 * test.h - the in-tree unit test harness (after hiredis' test.c).
 *
 * A test file defines test functions and a main() that calls TEST_RUN(fn)
 * for each, then returns TEST_DONE(). Each failed check prints both sides
 * with file:line; the runner ends with one line "N passed, N failed", where
 * N counts tests (functions), not checks.
 */
#ifndef SWEEP_TEST_H
#define SWEEP_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_failed_checks_;  /* in the running test */
static int test_passed_, test_failed_;

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__,     \
                    __LINE__, #cond);                                    \
            test_failed_checks_++;                                       \
        }                                                                \
    } while (0)

#define CHECK_INT(a, b)                                                  \
    do {                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);              \
        if (a_ != b_) {                                                  \
            fprintf(stderr, "  %s:%d: %s == %s: %lld != %lld\n",         \
                    __FILE__, __LINE__, #a, #b, a_, b_);                 \
            test_failed_checks_++;                                       \
        }                                                                \
    } while (0)

#define CHECK_DBL(a, b, tol)                                             \
    do {                                                                 \
        double a_ = (double)(a), b_ = (double)(b);                       \
        if (!(fabs(a_ - b_) <= (tol))) {                                 \
            fprintf(stderr, "  %s:%d: %s ~= %s: %.17g != %.17g\n",       \
                    __FILE__, __LINE__, #a, #b, a_, b_);                 \
            test_failed_checks_++;                                       \
        }                                                                \
    } while (0)

#define CHECK_STR(a, b)                                                  \
    do {                                                                 \
        const char *a_ = (a), *b_ = (b);                                 \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                         \
            fprintf(stderr, "  %s:%d: %s == %s: \"%s\" != \"%s\"\n",     \
                    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",      \
                    b_ ? b_ : "(null)");                                 \
            test_failed_checks_++;                                       \
        }                                                                \
    } while (0)

/* Substring check: haystack contains needle. */
#define CHECK_HAS(hay, needle)                                           \
    do {                                                                 \
        const char *h_ = (hay), *n_ = (needle);                          \
        if (!h_ || !n_ || !strstr(h_, n_)) {                             \
            fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n", \
                    __FILE__, __LINE__, h_ ? h_ : "(null)",              \
                    n_ ? n_ : "(null)");                                 \
            test_failed_checks_++;                                       \
        }                                                                \
    } while (0)

#define TEST_RUN(fn)                                                     \
    do {                                                                 \
        test_failed_checks_ = 0;                                         \
        fn();                                                            \
        if (test_failed_checks_) {                                       \
            test_failed_++;                                              \
            fprintf(stderr, "FAIL %s\n", #fn);                           \
        } else {                                                         \
            test_passed_++;                                              \
            printf("ok   %s\n", #fn);                                    \
        }                                                                \
    } while (0)

#define TEST_DONE()                                                      \
    (printf("%d passed, %d failed\n", test_passed_, test_failed_),       \
     test_failed_ ? 1 : 0)

#endif
