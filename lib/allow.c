/* allow.c - the worker's allowed programs (see allow.h). */
#include "allow.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep.h"

struct allow {
    char **paths; /* resolved */
    int *is_dir;
    size_t n;
};

void allow_free(struct allow *a) {
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->paths[i]);
    free(a->paths);
    free(a->is_dir);
    free(a);
}

size_t allow_count(const struct allow *a) { return a ? a->n : 0; }

int allow_add(struct allow **ap, const char *path, char *errstr,
              size_t errstr_size) {
    struct allow *a = *ap;
    char *real = realpath(path, NULL), **np;
    int *nd;
    struct stat st;

    if (!real || stat(real, &st) < 0) {
        snprintf(errstr, errstr_size, "--allow-program %s: %s", path,
                 strerror(errno));
        free(real);
        return SWEEP_ENOENT;
    }
    if (!a && !(a = *ap = calloc(1, sizeof(*a)))) {
        free(real);
        return SWEEP_ENOMEM;
    }
    np = realloc(a->paths, (a->n + 1) * sizeof(*np));
    if (np)
        a->paths = np;
    nd = np ? realloc(a->is_dir, (a->n + 1) * sizeof(*nd)) : NULL;
    if (!nd) {
        free(real);
        return SWEEP_ENOMEM;
    }
    a->is_dir = nd;
    a->paths[a->n] = real;
    a->is_dir[a->n] = S_ISDIR(st.st_mode);
    a->n++;
    return 0;
}

int allow_add_list(struct allow **a, const char *list, char *errstr,
                   size_t errstr_size) {
    while (list && *list) {
        size_t len = strcspn(list, ",");
        char path[PATH_MAX];
        int rc;

        if (len > 0 && len < sizeof(path)) {
            snprintf(path, sizeof(path), "%.*s", (int)len, list);
            if ((rc = allow_add(a, path, errstr, errstr_size)) < 0)
                return rc;
        }
        list += len;
        if (*list == ',')
            list++;
    }
    return 0;
}

static int inside(const struct allow *a, const char *real) {
    for (size_t i = 0; i < a->n; i++) {
        size_t l = strlen(a->paths[i]);
        if (!strcmp(real, a->paths[i]))
            return 1;
        /* "/" allowed as a directory allows everything below it. */
        if (a->is_dir[i] && !strncmp(real, a->paths[i], l) &&
            (real[l] == '/' || (l == 1 && a->paths[i][0] == '/')))
            return 1;
    }
    return 0;
}

/* Where posix_spawnp would find name: resolved, or NULL. */
static char *resolve_exe(const char *name) {
    const char *path = getenv("PATH");
    char buf[PATH_MAX];

    if (!*name)
        return NULL;
    if (strchr(name, '/'))
        return realpath(name, NULL);
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        /* An empty PATH entry is the current directory. */
        if (snprintf(buf, sizeof(buf), "%.*s/%s", len ? (int)len : 1,
                     len ? path : ".", name) < (int)sizeof(buf) &&
            access(buf, X_OK) == 0) {
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode))
                return realpath(buf, NULL);
        }
        path += len;
        if (*path == ':')
            path++;
    }
    return NULL;
}

static const char *base(const char *p) {
    const char *s = strrchr(p, '/');

    return s ? s + 1 : p;
}

/* An interpreter that runs the file it is given. */
static int is_interpreter(const char *real, const char *interp_real) {
    static const char *const names[] = {"sh", "bash", "dash", "zsh", "ksh",
                                        "mksh", "python", "python2",
                                        "python3", NULL};
    const char *b = base(real);

    if (interp_real && !strcmp(real, interp_real))
        return 1;
    for (int i = 0; names[i]; i++)
        if (!strcmp(b, names[i]))
            return 1;
    /* python3.11 and the like */
    return !strncmp(b, "python", 6) &&
           strspn(b + 6, "0123456789.") == strlen(b + 6);
}

/* A flag cluster that changes how a file is run, not what runs: python's
 * -u -B -O -E -s -S -I -b -q -R -v -x, the shells' -e -u -x -v -n. */
static int harmless_flags(const char *arg) {
    return arg[0] == '-' && arg[1] && strspn(arg + 1, "uBOEsSIbqRvxen") ==
                                          strlen(arg + 1);
}

int allow_check(const struct allow *a, char *const *argv, const char *program,
                const char *interpreter, char *why, size_t why_size) {
    char *exe = NULL, *script = NULL, *interp = NULL, *prog = NULL;
    size_t i = 0;
    int rc = SWEEP_EACCES;

    if (!a)
        return 0;
    if (!argv || !argv[0]) {
        snprintf(why, why_size, "the command is empty");
        return SWEEP_EACCES;
    }
    if (program && *program) {
        if (!(prog = realpath(program, NULL))) {
            snprintf(why, why_size, "program '%.200s' does not resolve: %s",
                     program, strerror(errno));
            goto out;
        }
        if (!inside(a, prog)) {
            snprintf(why, why_size,
                     "program '%.200s' resolves to %.300s, outside the "
                     "allowed paths (--allow-program)",
                     program, prog);
            goto out;
        }
    }
    /* env command ...: looked through. Not env NAME=VALUE: a variable
     * changes what runs (PATH=DIR finds DIR/sh, LD_PRELOAD, BASH_ENV,
     * PYTHONPATH...), nor env's options (-S splits a string into a
     * command line). */
    if ((exe = resolve_exe(argv[0])) && !strcmp(base(exe), "env") &&
        !inside(a, exe)) {
        i = 1;
        if (!argv[i]) {
            snprintf(why, why_size, "'%.100s' names no command to run "
                     "(--allow-program)", argv[0]);
            goto out;
        }
        if (argv[i][0] == '-' || strchr(argv[i], '=')) {
            snprintf(why, why_size, "'%.100s %.100s': env with %s is refused by "
                     "--allow-program (it can change what runs)", argv[0], argv[i],
                     argv[i][0] == '-' ? "options" : "variables");
            goto out;
        }
        free(exe);
        exe = resolve_exe(argv[i]);
    }
    if (!exe) {
        snprintf(why, why_size, "'%.200s' is not found in PATH (--allow-program)",
                 argv[i]);
        goto out;
    }
    if (inside(a, exe)) {
        rc = 0;
        goto out;
    }
    interp = interpreter && *interpreter ? resolve_exe(interpreter) : NULL;
    if (!is_interpreter(exe, interp)) {
        snprintf(why, why_size,
                 "'%.200s' resolves to %.300s, outside the allowed paths "
                 "(--allow-program)",
                 argv[i], exe);
        goto out;
    }
    for (i++; argv[i] && harmless_flags(argv[i]); i++)
        ;
    if (!argv[i]) {
        snprintf(why, why_size, "%.300s with no script runs what it reads "
                 "from its input (--allow-program)", exe);
        goto out;
    }
    if (argv[i][0] == '-') {
        snprintf(why, why_size,
                 "'%.100s %.100s' runs code that is not an allowed file "
                 "(--allow-program)",
                 base(exe), argv[i]);
        goto out;
    }
    if (!(script = realpath(argv[i], NULL)) || !inside(a, script)) {
        snprintf(why, why_size,
                 "%.100s's script '%.200s' %s%.300s, outside the allowed "
                 "paths (--allow-program)",
                 base(exe), argv[i], script ? "resolves to " : "does not resolve",
                 script ? script : "");
        goto out;
    }
    rc = 0;
out:
    free(exe);
    free(script);
    free(interp);
    free(prog);
    return rc;
}
