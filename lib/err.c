/* err.c - sweep_strerror() from the one SWEEP_ERRORS table. */
#include "sweep.h"

const char *sweep_strerror(int err) {
    switch (err) {
#define SWEEP_X_CASE(name, val, msg) \
    case val:                        \
        return msg;
        SWEEP_ERRORS(SWEEP_X_CASE)
#undef SWEEP_X_CASE
    }
    return "unknown error";
}
