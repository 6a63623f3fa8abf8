/*
 * hash.h - FNV-1a, the byte hash of the value, bayes and estrack modules.
 */
#ifndef SWEEP_HASH_H
#define SWEEP_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_INIT 0xcbf29ce484222325ULL

/* h folded with n bytes at p (start from FNV1A_INIT). */
static inline uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}

#endif
