/* sign.c - HMAC-SHA256 message signatures with OpenSSL (see sign.h). */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep.h"

#define SIGN_DOMAIN "sweep-sig-v1"

struct sign_key {
    unsigned char *bytes;
    size_t len;
    char kid[SIGN_KID_LEN + 1];
    EVP_MAC_CTX *ctx; /* initialised with the key; duplicated per message */
};

struct signer {
    EVP_MAC *mac;
    struct sign_key keys[SIGN_MAX_KEYS];
    size_t n;
};

static const char hexdig[] = "0123456789abcdef";

static void hex(const unsigned char *in, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 15];
    }
}

void signer_free(struct signer *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        OPENSSL_cleanse(s->keys[i].bytes, s->keys[i].len);
        free(s->keys[i].bytes);
        EVP_MAC_CTX_free(s->keys[i].ctx);
    }
    EVP_MAC_free(s->mac);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

size_t signer_nkeys(const struct signer *s) { return s ? s->n : 0; }

const char *signer_kid(const struct signer *s) {
    return s && s->n ? s->keys[0].kid : "";
}

static int add_key(struct signer *s, const char *k, size_t len,
                   const char *origin, size_t nth, char *errstr,
                   size_t errstr_size) {
    struct sign_key *key = &s->keys[s->n];
    unsigned char digest[SHA256_DIGEST_LENGTH];
    OSSL_PARAM params[2];

    if (s->n == SIGN_MAX_KEYS) {
        snprintf(errstr, errstr_size,
                 "%s: more than %d signing keys (one signs, one more is "
                 "accepted during a rotation)",
                 origin, SIGN_MAX_KEYS);
        return SWEEP_EINVAL;
    }
    if (len < SIGN_KEY_MIN || len > SIGN_KEY_MAX) {
        snprintf(errstr, errstr_size,
                 "%s: signing key %zu is %zu characters long; it must have "
                 "%d to %d (make one with `sweep keygen`)",
                 origin, nth, len, SIGN_KEY_MIN, SIGN_KEY_MAX);
        return SWEEP_EINVAL;
    }
    if (!(key->bytes = malloc(len)))
        return SWEEP_ENOMEM;
    memcpy(key->bytes, k, len);
    key->len = len;
    SHA256(key->bytes, len, digest);
    hex(digest, SIGN_KID_LEN / 2, key->kid);
    key->kid[SIGN_KID_LEN] = '\0';
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!(key->ctx = EVP_MAC_CTX_new(s->mac)) ||
        !EVP_MAC_init(key->ctx, key->bytes, key->len, params)) {
        OPENSSL_cleanse(key->bytes, key->len);
        free(key->bytes);
        EVP_MAC_CTX_free(key->ctx);
        memset(key, 0, sizeof(*key));
        snprintf(errstr, errstr_size, "%s: OpenSSL cannot set up HMAC-SHA256",
                 origin);
        return SWEEP_EIO;
    }
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->keys[i].kid, key->kid)) {
            snprintf(errstr, errstr_size, "%s: signing key %zu repeats key %zu",
                     origin, nth, i + 1);
            s->n++; /* freed with the rest */
            return SWEEP_EINVAL;
        }
    s->n++;
    return 0;
}

int signer_from_text(const char *text, const char *origin,
                     struct signer **out, char *errstr, size_t errstr_size) {
    struct signer *s = calloc(1, sizeof(*s));
    const char *p = text;
    size_t nth = 0;
    int rc = 0;

    *out = NULL;
    if (!s)
        return SWEEP_ENOMEM;
    if (!(s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL))) {
        snprintf(errstr, errstr_size, "OpenSSL has no HMAC");
        signer_free(s);
        return SWEEP_EIO;
    }
    while (p && *p && rc == 0) {
        size_t len = strcspn(p, ",\n");
        const char *b = p, *e = p + len;

        p = *e ? e + 1 : e;
        while (b < e && (*b == ' ' || *b == '\t' || *b == '\r'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (b == e || *b == '#')
            continue;
        nth++;
        for (const char *c = b; c < e; c++)
            if (*c == ' ' || *c == '\t') {
                snprintf(errstr, errstr_size,
                         "%s: signing key %zu holds whitespace", origin, nth);
                rc = SWEEP_EINVAL;
                break;
            }
        if (rc == 0)
            rc = add_key(s, b, (size_t)(e - b), origin, nth, errstr,
                         errstr_size);
    }
    if (rc == 0 && s->n == 0) {
        snprintf(errstr, errstr_size, "%s: no signing key in it", origin);
        rc = SWEEP_EINVAL;
    }
    if (rc) {
        signer_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int signer_from_file(const char *path, struct signer **out, char *errstr,
                     size_t errstr_size) {
    char buf[SIGN_MAX_KEYS * (SIGN_KEY_MAX + 2) + 4096];
    struct stat sb;
    ssize_t n;
    size_t len = 0;
    int fd, rc;

    *out = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(errstr, errstr_size, "signing key file %s: %s", path,
                 strerror(errno));
        return SWEEP_EIO;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(errstr, errstr_size, "signing key file %s: not a regular file",
                 path);
        close(fd);
        return SWEEP_EIO;
    }
    if (sb.st_mode & S_IROTH) {
        snprintf(errstr, errstr_size,
                 "signing key file %s: readable by every user (mode %03o); "
                 "chmod 600 it",
                 path, (unsigned)(sb.st_mode & 0777));
        close(fd);
        return SWEEP_EINVAL;
    }
    while (len < sizeof(buf) - 1 &&
           ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 ||
            (n < 0 && errno == EINTR)))
        if (n > 0)
            len += (size_t)n;
    close(fd);
    if (len == sizeof(buf) - 1) {
        snprintf(errstr, errstr_size, "signing key file %s: too long", path);
        OPENSSL_cleanse(buf, sizeof(buf));
        return SWEEP_EINVAL;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        snprintf(errstr, errstr_size, "signing key file %s: holds a NUL byte",
                 path);
        OPENSSL_cleanse(buf, sizeof(buf));
        return SWEEP_EINVAL;
    }
    rc = signer_from_text(buf, path, out, errstr, errstr_size);
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

int signer_from_settings(const char *key_file, struct signer **out,
                         char *errstr, size_t errstr_size) {
    const char *env = getenv(SIGN_ENV);

    *out = NULL;
    if (env && *env)
        return signer_from_text(env, "$" SIGN_ENV, out, errstr, errstr_size);
    if (key_file && *key_file)
        return signer_from_file(key_file, out, errstr, errstr_size);
    return 0;
}

int signer_require(const char *key_file, int insecure, struct signer **out,
                   char *errstr, size_t errstr_size) {
    int rc = signer_from_settings(key_file, out, errstr, errstr_size);

    unsetenv(SIGN_ENV);
    if (rc < 0)
        return rc;
    if (!*out && !insecure) {
        snprintf(errstr, errstr_size,
                 "no signing key: run assignments and commands are signed, so "
                 "that nobody else who can write to the topic can run programs "
                 "on the workers; give every controller and worker the same key "
                 "with 'signing_key_file FILE' (--config, or "
                 "$SWEEP_SIGNING_KEY_FILE) or in $%s (`sweep keygen > FILE` "
                 "makes one), or run with --insecure-unsigned on a cluster "
                 "where nobody else can write to it",
                 SIGN_ENV);
        return SWEEP_EINVAL;
    }
    return 0;
}

static void put32(unsigned char *b, size_t v) {
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* HMAC of the signed input with one key. Returns 0 or SWEEP_EIO. */
static int mac_with(const struct signer *s, const struct sign_key *k,
                    const char *topic, const void *rkey, size_t rkey_len,
                    const void *val, size_t val_len,
                    unsigned char out[32]) {
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(k->ctx);
    const void *part[3] = {topic, rkey, val};
    size_t plen[3] = {strlen(topic), rkey ? rkey_len : 0, val_len};
    size_t outl = 0;
    int ok;

    (void)s;
    if (!ctx)
        return SWEEP_EIO;
    ok = EVP_MAC_update(ctx, (const unsigned char *)SIGN_DOMAIN,
                        sizeof(SIGN_DOMAIN));
    for (int i = 0; ok && i < 3; i++) {
        unsigned char len[4];
        put32(len, plen[i]);
        ok = EVP_MAC_update(ctx, len, 4) &&
             (plen[i] == 0 || EVP_MAC_update(ctx, part[i], plen[i]));
    }
    ok = ok && EVP_MAC_final(ctx, out, &outl, 32) && outl == 32;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : SWEEP_EIO;
}

int signer_sign(const struct signer *s, const char *topic, const void *rkey,
                size_t rkey_len, const void *val, size_t val_len,
                char out[SIGN_VALUE_LEN + 1]) {
    unsigned char mac[32];
    int rc;

    if (!s || !s->n)
        return SWEEP_EINVAL;
    if ((rc = mac_with(s, &s->keys[0], topic, rkey, rkey_len, val, val_len,
                       mac)) < 0)
        return rc;
    memcpy(out, s->keys[0].kid, SIGN_KID_LEN);
    out[SIGN_KID_LEN] = '.';
    hex(mac, 32, out + SIGN_KID_LEN + 1);
    out[SIGN_VALUE_LEN] = '\0';
    return 0;
}

static int unhex(const char *in, size_t n, unsigned char *out) {
    for (size_t i = 0; i < n; i++) {
        int v[2];
        for (int j = 0; j < 2; j++) {
            char c = in[2 * i + j];
            v[j] = c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : -1;
            if (v[j] < 0)
                return -1;
        }
        out[i] = (unsigned char)(v[0] << 4 | v[1]);
    }
    return 0;
}

enum sign_verdict signer_verify(const struct signer *s, const char *topic,
                                const void *rkey, size_t rkey_len,
                                const void *val, size_t val_len,
                                const void *sig, size_t sig_len) {
    const char *t = sig;
    unsigned char want[32], got[32];

    if (!sig)
        return SIGN_MISSING;
    if (sig_len != SIGN_VALUE_LEN || t[SIGN_KID_LEN] != '.' ||
        unhex(t + SIGN_KID_LEN + 1, 32, got) < 0)
        return SIGN_MALFORMED;
    for (size_t i = 0; s && i < s->n; i++) {
        if (memcmp(s->keys[i].kid, t, SIGN_KID_LEN))
            continue;
        if (mac_with(s, &s->keys[i], topic, rkey, rkey_len, val, val_len,
                     want) < 0)
            return SIGN_BAD;
        return CRYPTO_memcmp(want, got, 32) == 0 ? SIGN_OK : SIGN_BAD;
    }
    return SIGN_UNKNOWN_KEY;
}

const char *sign_verdict_str(enum sign_verdict v) {
    switch (v) {
    case SIGN_OK:
        return "ok";
    case SIGN_MISSING:
        return "unsigned";
    case SIGN_MALFORMED:
        return "malformed signature";
    case SIGN_UNKNOWN_KEY:
        return "signed with a key this program does not hold";
    case SIGN_BAD:
        return "bad signature";
    }
    return "?";
}

int sign_keygen(char out[65]) {
    unsigned char b[32];

    if (RAND_bytes(b, sizeof(b)) != 1)
        return SWEEP_EIO;
    hex(b, sizeof(b), out);
    out[64] = '\0';
    OPENSSL_cleanse(b, sizeof(b));
    return 0;
}
