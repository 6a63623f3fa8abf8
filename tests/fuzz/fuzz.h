/*
 * fuzz.h - what the libFuzzer targets (fuzz_*.c) and replay.c share.
 */
#ifndef SWEEP_FUZZ_H
#define SWEEP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The files and directories replay.c runs when given no arguments,
 * NULL-terminated; each target defines its own. */
extern const char *const fuzz_replay_paths[];

/* A broken invariant: abort so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                     \
            abort();                                                      \
        }                                                                 \
    } while (0)

#endif
