/*
 * sweep.h - error codes and version shared by every module of libsweep.
 *
 * Functions return 0 on success or a negative SWEEP_E* code; modules that
 * parse or connect also fill a caller-provided (errstr, errstr_size).
 */
#ifndef SWEEP_SWEEP_H
#define SWEEP_SWEEP_H

#include <stddef.h>

#define SWEEP_VERSION "0.1.0"

/* X-macro: name, value, message. */
#define SWEEP_ERRORS(X)                                                   \
    X(SWEEP_OK, 0, "success")                                             \
    X(SWEEP_ENOMEM, -1, "out of memory")                                  \
    X(SWEEP_EINVAL, -2, "invalid argument")                               \
    X(SWEEP_EIO, -3, "input/output error")                                \
    X(SWEEP_ECONFIG, -4, "invalid sweep config")                          \
    X(SWEEP_EPARSE, -5, "parse error")                                    \
    X(SWEEP_EEXHAUSTED, -6, "search space exhausted")                     \
    X(SWEEP_ERANGE, -7, "value out of range")                             \
    X(SWEEP_ENOTSUP, -8, "not supported")                                 \
    X(SWEEP_ENOENT, -9, "not found")                                      \
    X(SWEEP_EACCES, -10, "not allowed")                                   \
    X(SWEEP_EFULL, -11, "buffer full")

enum sweep_err {
#define SWEEP_X_ENUM(name, val, msg) name = val,
    SWEEP_ERRORS(SWEEP_X_ENUM)
#undef SWEEP_X_ENUM
};

/* Static string for an error code; never NULL. */
const char *sweep_strerror(int err);

#endif
