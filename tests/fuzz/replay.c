/*
 * replay.c - main() for a fuzz target without libFuzzer: every file named
 * on the command line (a directory means each regular file in it; no
 * arguments means the target's fuzz_replay_paths) is run once through
 * LLVMFuzzerTestOneInput, so the checked-in corpus replays under the
 * normal (or asan) build. It ends with the line
 * "fuzz_replay: N passed, N failed" that scripts/run-tests.sh reads.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    int rc = -1;

    if (!fp) {
        fprintf(stderr, "replay: cannot open '%s'\n", path);
        return -1;
    }
    if (fseek(fp, 0, SEEK_END) < 0 || (len = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) < 0)
        goto out;
    /* exactly len bytes, so asan sees any read past the input */
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, fp) != (size_t)len)
        goto out;
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "replay: cannot read '%s'\n", path);
    free(buf);
    fclose(fp);
    return rc;
}

/* Every regular file directly in dir; returns failures, counts *ran. */
static int replay_dir(const char *dir, int *ran) {
    DIR *dp = opendir(dir);
    struct dirent *de;
    int failed = 0;

    if (!dp) {
        fprintf(stderr, "replay: cannot open directory '%s'\n", dir);
        return 1;
    }
    while ((de = readdir(dp))) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        failed += replay_file(path) < 0;
        (*ran)++;
    }
    closedir(dp);
    return failed;
}

/* With no arguments (as scripts/run-tests.sh runs it, from the
 * repository root): the target's fuzz_replay_paths. */
int main(int argc, char **argv) {
    const char *const *paths = (const char *const *)argv + 1;
    int npaths = argc - 1, ran = 0, failed = 0;

    if (argc < 2)
        for (paths = fuzz_replay_paths, npaths = 0; paths[npaths]; npaths++)
            ;
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            failed += replay_dir(paths[i], &ran);
        } else {
            failed += replay_file(paths[i]) < 0;
            ran++;
        }
    }
    printf("fuzz_replay: %d passed, %d failed\n", ran - failed, failed);
    return failed ? 1 : 0;
}
