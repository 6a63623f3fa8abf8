/*
 * allow.h - `sweep-worker --allow-program PATH|DIR`: what a worker's runs
 * may execute. An assignment is refused (the run fails with the reason)
 * unless both of these resolve, symlinks followed, to an allowed file or
 * into an allowed directory:
 *
 *   - the config's `program`, when it has one;
 *   - what the command executes: argv[0] (searched in PATH like
 *     posix_spawnp), after a plain `env` (env with variables or options
 *     is refused: PATH=DIR or LD_PRELOAD change what runs). When that is
 *     an interpreter (sh, bash, dash, python, python3..., or the
 *     configured ${interpreter}) that is not itself allowed, the script
 *     it is given must be allowed instead; its options may only be
 *     harmless flags (python -u, sh -e...), never code (-c, -m) or stdin.
 *
 * Allowing an interpreter itself (or a directory holding one) allows
 * every program it can run: say so when you do.
 */
#ifndef SWEEP_ALLOW_H
#define SWEEP_ALLOW_H

#include <stddef.h>

struct allow;

/* Adds one allowed file or directory; it must exist (it is resolved now,
 * symlinks followed). *a may be NULL: it is created. Returns 0,
 * SWEEP_ENOENT or SWEEP_ENOMEM with errstr. */
int allow_add(struct allow **a, const char *path, char *errstr,
              size_t errstr_size);
/* Each entry of a comma-separated list, as allow_add(). */
int allow_add_list(struct allow **a, const char *list, char *errstr,
                   size_t errstr_size);
void allow_free(struct allow *a);
size_t allow_count(const struct allow *a);

/* Whether a run may execute argv (NULL-terminated) with program (NULL:
 * none); interpreter is what ${interpreter} expands to. a NULL allows
 * everything. Returns 0, or SWEEP_EACCES with why ("'/bin/sh -c' runs
 * code that is not a file", "/usr/bin/dash is outside the allowed
 * paths", ...). */
int allow_check(const struct allow *a, char *const *argv, const char *program,
                const char *interpreter, char *why, size_t why_size);

#endif
