/* test_sign.c - signing keys, HMAC-SHA256 signatures (sign.h), the
 * worker's allowed programs (allow.h) and secret masking (secret.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allow.h"
#include "secret.h"
#include "sign.h"
#include "sweep.h"
#include "test.h"

#define K1 "0123456789abcdef0123456789abcdef"
#define K2 "fedcba9876543210fedcba9876543210"

static struct signer *mk(const char *text) {
    struct signer *s = NULL;
    char err[256];

    if (signer_from_text(text, "test", &s, err, sizeof(err)) < 0)
        fprintf(stderr, "  signer_from_text: %s\n", err);
    return s;
}

/* The documented format, computed independently (Python's hmac module):
 * a reader in another language can check it. */
static void test_known_answer(void) {
    struct signer *s = mk(K1);
    char sig[SIGN_VALUE_LEN + 1];
    const char val[] = "\0\0\0\0\2hello";

    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_INT(signer_sign(s, "sweeps.assign", "run1", 4, val, sizeof(val) - 1, sig), 0);
    CHECK_STR(sig, "3eb1bd43.e1c0deeaddfa199b6cdbc2e61141b4a694fb9194f80aff9b35cc8a28728cacd6");
    CHECK_STR(signer_kid(s), "3eb1bd43");
    signer_free(s);
}

static void test_verify(void) {
    struct signer *s = mk(K1), *other = mk(K2);
    char sig[SIGN_VALUE_LEN + 1], bad[SIGN_VALUE_LEN + 1];
    const char *t = "sweeps.assign", *v = "payload";

    CHECK(s && other);
    if (!s || !other)
        goto out;
    CHECK_INT(signer_sign(s, t, "k", 1, v, 7, sig), 0);
    CHECK_INT(signer_verify(s, t, "k", 1, v, 7, sig, strlen(sig)), SIGN_OK);
    /* Every signed part matters. */
    CHECK_INT(signer_verify(s, "other.assign", "k", 1, v, 7, sig, strlen(sig)), SIGN_BAD);
    CHECK_INT(signer_verify(s, t, "j", 1, v, 7, sig, strlen(sig)), SIGN_BAD);
    CHECK_INT(signer_verify(s, t, NULL, 0, v, 7, sig, strlen(sig)), SIGN_BAD);
    CHECK_INT(signer_verify(s, t, "k", 1, "paylaod", 7, sig, strlen(sig)), SIGN_BAD);
    CHECK_INT(signer_verify(s, t, "k", 1, v, 6, sig, strlen(sig)), SIGN_BAD);
    /* Lengths are framed: moving a byte from key to value is not the same. */
    CHECK_INT(signer_verify(s, t, "kp", 2, "ayload", 6, sig, strlen(sig)), SIGN_BAD);
    memcpy(bad, sig, sizeof(bad));
    bad[SIGN_VALUE_LEN - 1] = bad[SIGN_VALUE_LEN - 1] == '0' ? '1' : '0';
    CHECK_INT(signer_verify(s, t, "k", 1, v, 7, bad, strlen(bad)), SIGN_BAD);
    CHECK_INT(signer_verify(s, t, "k", 1, v, 7, NULL, 0), SIGN_MISSING);
    CHECK_INT(signer_verify(s, t, "k", 1, v, 7, "", 0), SIGN_MALFORMED);
    CHECK_INT(signer_verify(s, t, "k", 1, v, 7, sig, strlen(sig) - 1), SIGN_MALFORMED);
    bad[SIGN_KID_LEN] = ':';
    CHECK_INT(signer_verify(s, t, "k", 1, v, 7, bad, strlen(bad)), SIGN_MALFORMED);
    memcpy(bad, sig, sizeof(bad));
    bad[20] = 'G';
    CHECK_INT(signer_verify(s, t, "k", 1, v, 7, bad, strlen(bad)), SIGN_MALFORMED);
    /* Another key's signature: its kid is unknown here. */
    CHECK_INT(signer_verify(other, t, "k", 1, v, 7, sig, strlen(sig)), SIGN_UNKNOWN_KEY);
    /* A forger who copies our kid but not our key. */
    CHECK_INT(signer_sign(other, t, "k", 1, v, 7, bad), 0);
    memcpy(bad, sig, SIGN_KID_LEN);
    CHECK_INT(signer_verify(s, t, "k", 1, v, 7, bad, strlen(bad)), SIGN_BAD);
    CHECK_STR(sign_verdict_str(SIGN_MISSING), "unsigned");
out:
    signer_free(s);
    signer_free(other);
}

/* Rotation: workers hold old and new; the controller moves to the new. */
static void test_rotation(void) {
    struct signer *old = mk(K1), *both = mk(K1 "\n" K2), *neu = mk(K2 ",\n" K1);
    char so[SIGN_VALUE_LEN + 1], sn[SIGN_VALUE_LEN + 1];

    CHECK(old && both && neu);
    if (!old || !both || !neu)
        goto out;
    CHECK_INT(signer_nkeys(both), 2);
    CHECK_INT(signer_sign(old, "t", NULL, 0, "v", 1, so), 0);
    CHECK_INT(signer_sign(neu, "t", NULL, 0, "v", 1, sn), 0);
    CHECK(strcmp(so, sn) != 0);
    CHECK_INT(signer_verify(both, "t", NULL, 0, "v", 1, so, strlen(so)), SIGN_OK);
    CHECK_INT(signer_verify(both, "t", NULL, 0, "v", 1, sn, strlen(sn)), SIGN_OK);
    CHECK_INT(signer_verify(old, "t", NULL, 0, "v", 1, sn, strlen(sn)), SIGN_UNKNOWN_KEY);
out:
    signer_free(old);
    signer_free(both);
    signer_free(neu);
}

static void test_key_errors(void) {
    struct signer *s = NULL;
    char err[256];

    CHECK_INT(signer_from_text("short", "F", &s, err, sizeof(err)), SWEEP_EINVAL);
    CHECK_HAS(err, "F: signing key 1 is 5 characters long");
    CHECK(strstr(err, "short") == NULL); /* never the key itself */
    CHECK(s == NULL);
    CHECK_INT(signer_from_text(K1 "\n" K2 "\n" K1 "x", "F", &s, err, sizeof(err)),
              SWEEP_EINVAL);
    CHECK_HAS(err, "more than 2 signing keys");
    CHECK_INT(signer_from_text(K1 "\n" K1, "F", &s, err, sizeof(err)), SWEEP_EINVAL);
    CHECK_HAS(err, "signing key 2 repeats key 1");
    CHECK_INT(signer_from_text("# only a comment\n\n", "F", &s, err, sizeof(err)),
              SWEEP_EINVAL);
    CHECK_HAS(err, "no signing key");
    CHECK_INT(signer_from_text("0123456789abcdef 0123456789abcdef", "F", &s, err,
                               sizeof(err)), SWEEP_EINVAL);
    CHECK_HAS(err, "whitespace");
    CHECK_INT(signer_from_text("  # comment\n  " K1 "  \r\n", "F", &s, err, sizeof(err)), 0);
    CHECK_INT(signer_nkeys(s), 1);
    signer_free(s);
}

static void test_key_file(void) {
    char path[] = "/tmp/test_sign.XXXXXX", err[256];
    struct signer *s = NULL;
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, "# key\n" K1 "\n", 6 + 33) == 39);
    close(fd);
    chmod(path, 0644);
    CHECK_INT(signer_from_file(path, &s, err, sizeof(err)), SWEEP_EINVAL);
    CHECK_HAS(err, "readable by every user");
    chmod(path, 0640); /* group-readable: a shared service group, allowed */
    CHECK_INT(signer_from_file(path, &s, err, sizeof(err)), 0);
    CHECK_STR(signer_kid(s), "3eb1bd43");
    signer_free(s);
    s = NULL;
    unsetenv(SIGN_ENV);
    CHECK_INT(signer_require(NULL, 0, &s, err, sizeof(err)), SWEEP_EINVAL);
    CHECK_HAS(err, "no signing key");
    CHECK_INT(signer_require(NULL, 1, &s, err, sizeof(err)), 0);
    CHECK(s == NULL);
    CHECK_INT(signer_require(path, 0, &s, err, sizeof(err)), 0);
    CHECK(s != NULL);
    signer_free(s);
    /* The environment wins over the file, and is removed once read. */
    setenv(SIGN_ENV, K2, 1);
    CHECK_INT(signer_require(path, 0, &s, err, sizeof(err)), 0);
    CHECK(s && strcmp(signer_kid(s), "3eb1bd43") != 0);
    CHECK(getenv(SIGN_ENV) == NULL);
    signer_free(s);
    unlink(path);
    CHECK_INT(signer_from_file(path, &s, err, sizeof(err)), SWEEP_EIO);
}

static void test_keygen(void) {
    char a[65], b[65];

    CHECK_INT(sign_keygen(a), 0);
    CHECK_INT(sign_keygen(b), 0);
    CHECK_INT(strlen(a), 64);
    CHECK_INT(strspn(a, "0123456789abcdef"), 64);
    CHECK(strcmp(a, b) != 0);
}

static void test_secret(void) {
    char out[128];

    CHECK(secret_kafka_prop("sasl.password"));
    CHECK(secret_kafka_prop("ssl.key.password"));
    CHECK(secret_kafka_prop("ssl.keystore.password"));
    CHECK(secret_kafka_prop("sasl.oauthbearer.client.secret"));
    CHECK(secret_kafka_prop("ssl.key.pem"));
    CHECK(!secret_kafka_prop("sasl.username"));
    CHECK(!secret_kafka_prop("ssl.ca.location"));
    CHECK(secret_kafka_kv("sasl.password=x"));
    CHECK(!secret_kafka_kv("sasl.username=password"));
    CHECK_STR(secret_redact_url("redis://u:pw@h:1/0", out, sizeof(out)),
              "redis://u:" SECRET_MASK "@h:1/0");
    CHECK_STR(secret_redact_url("redis://:pw@h", out, sizeof(out)),
              "redis://:" SECRET_MASK "@h");
    CHECK_STR(secret_redact_url("redis://pw@h", out, sizeof(out)),
              "redis://" SECRET_MASK "@h");
    CHECK_STR(secret_redact_url("redis://h:6379/2", out, sizeof(out)), "redis://h:6379/2");
    CHECK(secret_url_has_password("redis://u:pw@h"));
    CHECK(!secret_url_has_password("redis://h:1"));
    CHECK(!secret_url_has_password("redis://u:@h"));
}

static char dir[64];

static void mkfile(const char *name, int mode) {
    char p[256];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    f = fopen(p, "w");
    if (f) {
        fputs("#!/bin/sh\necho hi\n", f);
        fclose(f);
    }
    chmod(p, (mode_t)mode);
}

static int allowed(const struct allow *a, const char *program, ...) {
    char *argv[16], why[512];
    va_list ap;
    int n = 0, rc;

    va_start(ap, program);
    while (n < 15 && (argv[n] = va_arg(ap, char *)))
        n++;
    va_end(ap);
    argv[n] = NULL;
    rc = allow_check(a, argv, program, "python3", why, sizeof(why));
    if (rc && getenv("TEST_VERBOSE"))
        fprintf(stderr, "    refused: %s\n", why);
    return rc == 0;
}

static void test_allow(void) {
    struct allow *a = NULL;
    char err[512], p[256], q[256], link[256], outside[256];

    snprintf(dir, sizeof(dir), "/tmp/test_allow.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(p, sizeof(p), "%s/ok", dir);
    mkdir(p, 0755);
    mkfile("ok/train.sh", 0755);
    mkfile("ok/train.py", 0644);
    mkfile("evil.sh", 0755);
    snprintf(q, sizeof(q), "%s/ok/train.sh", dir);
    snprintf(outside, sizeof(outside), "%s/evil.sh", dir);
    snprintf(link, sizeof(link), "%s/ok/link.sh", dir);
    CHECK(symlink(outside, link) == 0);
    CHECK(allowed(NULL, NULL, "/bin/sh", "-c", "anything", NULL)); /* no list */
    CHECK_INT(allow_add(&a, "/nonexistent/x", err, sizeof(err)), SWEEP_ENOENT);
    CHECK_HAS(err, "--allow-program /nonexistent/x");
    CHECK_INT(allow_add(&a, p, err, sizeof(err)), 0);
    CHECK_INT(allow_count(a), 1);
    /* The program itself, directly or through env and an interpreter. */
    CHECK(allowed(a, NULL, q, "--lr=1", NULL));
    CHECK(allowed(a, q, "/usr/bin/env", "python3", q, "--lr=1", NULL));
    CHECK(allowed(a, NULL, "/usr/bin/env", "sh", q, NULL));
    CHECK(allowed(a, NULL, "/bin/sh", "-e", q, NULL));
    CHECK(allowed(a, NULL, "python3", "-u", q, NULL));
    /* Elsewhere: refused. */
    CHECK(!allowed(a, NULL, outside, NULL));
    CHECK(!allowed(a, NULL, "/bin/sh", "-c", "echo pwned", NULL));
    CHECK(!allowed(a, NULL, "/bin/sh", "-ec", "echo pwned", NULL));
    CHECK(!allowed(a, NULL, "python3", "-m", "http.server", NULL));
    CHECK(!allowed(a, NULL, "/bin/sh", NULL));           /* stdin */
    CHECK(!allowed(a, NULL, "/bin/sh", "-", q, NULL));
    CHECK(!allowed(a, NULL, "/usr/bin/env", "-S", "sh -c x", NULL));
    CHECK(!allowed(a, NULL, "/usr/bin/env", "PATH=/x", NULL));
    CHECK(!allowed(a, NULL, "/bin/sh", outside, NULL));
    CHECK(!allowed(a, NULL, link, NULL));                /* symlink out */
    CHECK(!allowed(a, outside, q, NULL));                /* program elsewhere */
    CHECK(!allowed(a, NULL, "/usr/bin/perl", "-e", "1", NULL));
    CHECK(!allowed(a, NULL, "no-such-program-xyz", NULL));
    CHECK(!allowed(a, NULL, "/usr/bin/env", "X=1", NULL));
    /* A variable changes what runs: PATH=DIR finds DIR/sh (found by
     * fuzz_handlers), LD_PRELOAD loads anything. */
    CHECK(!allowed(a, NULL, "/usr/bin/env", "PATH=/tmp", "sh", q, NULL));
    CHECK(!allowed(a, NULL, "/usr/bin/env", "LD_PRELOAD=/tmp/x.so", "sh", q, NULL));
    CHECK(!allowed(a, NULL, "/usr/bin/env", "A=1", "sh", q, NULL));
    /* Allowing a file (not a directory). */
    allow_free(a);
    a = NULL;
    CHECK_INT(allow_add_list(&a, outside, err, sizeof(err)), 0);
    CHECK(allowed(a, NULL, outside, NULL));
    CHECK(!allowed(a, NULL, q, NULL));
    allow_free(a);
    snprintf(p, sizeof(p), "rm -rf %s", dir);
    CHECK(system(p) == 0);
}

int main(void) {
    TEST_RUN(test_known_answer);
    TEST_RUN(test_verify);
    TEST_RUN(test_rotation);
    TEST_RUN(test_key_errors);
    TEST_RUN(test_key_file);
    TEST_RUN(test_keygen);
    TEST_RUN(test_secret);
    TEST_RUN(test_allow);
    return TEST_DONE();
}
