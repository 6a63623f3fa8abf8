/*
 * sign.h - HMAC-SHA256 signatures on the messages a worker acts on: run
 * assignments and run commands on <prefix>.assign. The controller signs
 * each one; a worker verifies it before it even decodes the bytes, so a
 * principal that can write to the topic but holds no key can neither run
 * anything on a worker nor stop its runs (docs/security.md).
 *
 * The signature travels in the Kafka header "sweep-sig" as the text
 * "<kid>.<mac>": kid is the first 8 hex digits of SHA-256(key), naming
 * the key (so a rotation can tell "unknown key" from "forged"), mac the
 * 64 hex digits of HMAC-SHA256(key, input), where input is
 *
 *   "sweep-sig-v1" 0x00, then topic, record key and value, each preceded
 *   by its length as 4 bytes big-endian.
 *
 * The topic is signed, so a message cannot be moved to another topic (or
 * another prefix, i.e. another installation using the same key); the
 * value names the worker, the run and the attempt, so a message cannot be
 * redirected to another worker.
 *
 * Keys: one to SIGN_MAX_KEYS. The first signs; every one verifies, so
 * during a rotation workers accept the old and the new key (the steps are
 * in docs/security.md). A key is its text (at least SIGN_KEY_MIN bytes,
 * no whitespace): `sweep keygen` prints a fresh one.
 */
#ifndef SWEEP_SIGN_H
#define SWEEP_SIGN_H

#include <stddef.h>

#define SIGN_HEADER "sweep-sig"
#define SIGN_MAX_KEYS 2
#define SIGN_KEY_MIN 32
#define SIGN_KEY_MAX 1024
#define SIGN_KID_LEN 8
#define SIGN_VALUE_LEN (SIGN_KID_LEN + 1 + 64) /* "kid.mac" without NUL */
/* The environment variable that may hold the keys (comma-separated), for
 * where a file is awkward. Never a flag: flags show in ps. */
#define SIGN_ENV "SWEEP_SIGNING_KEY"

/* What signer_verify() found. */
enum sign_verdict {
    SIGN_OK = 0,
    SIGN_MISSING,     /* no sweep-sig header */
    SIGN_MALFORMED,   /* a header that is not "kid.mac" */
    SIGN_UNKNOWN_KEY, /* signed with a key we do not hold */
    SIGN_BAD          /* our key's id, but the MAC does not match */
};

struct signer;

/* Keys from text: one per line or separated by commas; blank lines and
 * lines starting with '#' are skipped. `origin` names the source in
 * messages ("FILE" or "$SWEEP_SIGNING_KEY"). Returns 0 and *out (free with
 * signer_free()), or SWEEP_EINVAL / SWEEP_ENOMEM with errstr (which never
 * holds key material). */
int signer_from_text(const char *text, const char *origin,
                     struct signer **out, char *errstr, size_t errstr_size);

/* Keys from a file (as signer_from_text()). A file that other users can
 * read is refused: the key lets anyone who has it run programs on every
 * worker. Returns 0, SWEEP_EIO, SWEEP_EINVAL or SWEEP_ENOMEM. */
int signer_from_file(const char *path, struct signer **out, char *errstr,
                     size_t errstr_size);

/* The keys of a program: $SWEEP_SIGNING_KEY when set, else key_file when
 * not empty. Returns 0 and *out; 0 and *out == NULL when neither is
 * given; or an error as above. */
int signer_from_settings(const char *key_file, struct signer **out,
                         char *errstr, size_t errstr_size);

/* What sweep-controller and sweep-worker do at start: the keys as
 * signer_from_settings(), required unless insecure; $SWEEP_SIGNING_KEY is
 * then removed from the environment, so that no program we start inherits
 * it. Returns 0 and *out (NULL only when insecure and no key is given),
 * or SWEEP_EINVAL / SWEEP_EIO / SWEEP_ENOMEM with errstr. */
int signer_require(const char *key_file, int insecure, struct signer **out,
                   char *errstr, size_t errstr_size);

/* NULL is a no-op. The keys are wiped before the memory is freed. */
void signer_free(struct signer *s);

size_t signer_nkeys(const struct signer *s);
/* The id of the signing key (static to s, SIGN_KID_LEN hex digits). */
const char *signer_kid(const struct signer *s);

/* Writes the header value for one message into out (SIGN_VALUE_LEN
 * characters and a NUL). rkey may be NULL (no record key). Returns 0 or
 * SWEEP_ENOMEM / SWEEP_EIO (OpenSSL failed). */
int signer_sign(const struct signer *s, const char *topic, const void *rkey,
                size_t rkey_len, const void *val, size_t val_len,
                char out[SIGN_VALUE_LEN + 1]);

/* Checks a message's header value (sig NULL: none). Constant-time in the
 * MAC comparison. */
enum sign_verdict signer_verify(const struct signer *s, const char *topic,
                                const void *rkey, size_t rkey_len,
                                const void *val, size_t val_len,
                                const void *sig, size_t sig_len);

/* "ok", "unsigned", "malformed signature", ... (static). */
const char *sign_verdict_str(enum sign_verdict v);

/* A fresh key: 64 hex digits of 32 random bytes, NUL-terminated. Returns
 * 0 or SWEEP_EIO when the system has no randomness to give. */
int sign_keygen(char out[65]);

#endif
