/*
 * cmd_keygen.c - `sweep keygen [--output FILE]`: a fresh signing key for
 * the controllers and workers (sign.h, docs/security.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sign.h"

static void keygen_usage(FILE *fp) {
    fprintf(fp,
            "usage: sweep keygen [--output FILE]\n"
            "\n"
            "Prints a new signing key: 64 hex digits from 32 random bytes. The\n"
            "controllers sign run assignments and commands with it and the workers\n"
            "refuse what it did not sign; give all of them the same key with\n"
            "'signing_key_file FILE' (or $SWEEP_SIGNING_KEY_FILE).\n"
            "\n"
            "  -o, --output FILE   write it to FILE instead, created with mode 600\n"
            "                      (an existing FILE is not overwritten)\n"
            "  -h, --help          this help\n");
}

int cmd_keygen(int argc, char **argv) {
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    char key[66];
    int c, fd, rc = 0;

    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            keygen_usage(stdout);
            return 0;
        default:
            keygen_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        keygen_usage(stderr);
        return EXIT_USAGE;
    }
    if (sign_keygen(key) < 0) {
        fprintf(stderr, "sweep keygen: the system gave no random bytes\n");
        return EXIT_RUNTIME;
    }
    key[64] = '\n';
    key[65] = '\0';
    if (!out) {
        rc = fputs(key, stdout) < 0 || fflush(stdout) ? EXIT_RUNTIME : 0;
    } else if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
               write(fd, key, 65) != 65 || close(fd) < 0) {
        fprintf(stderr, "sweep keygen: %s: %s\n", out, strerror(errno));
        rc = EXIT_RUNTIME;
    }
    memset(key, 0, sizeof(key));
    return rc;
}
