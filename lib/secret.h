/*
 * secret.h - what counts as a secret in our settings, and how it is shown
 * when it must be shown at all: never in logs, error messages,
 * --dump-config or the command line (docs/security.md).
 */
#ifndef SWEEP_SECRET_H
#define SWEEP_SECRET_H

#include <stddef.h>

#define SECRET_MASK "(secret)"

/* Whether a librdkafka property holds a secret (sasl.password,
 * ssl.key.password, ssl.keystore.password, ssl.key.pem,
 * sasl.oauthbearer.client.secret, sasl.oauthbearer.config, ...): any name
 * with "password" or "secret" in it, and the PEM key itself. */
int secret_kafka_prop(const char *name);

/* The same for "name=value"; the name ends at '='. */
int secret_kafka_kv(const char *kv);

/* url with the password of its "user:password@" (or "password@") part
 * replaced by
 * SECRET_MASK, into out (always NUL-terminated); a URL without a password
 * is copied as it is. Returns out. */
char *secret_redact_url(const char *url, char *out, size_t out_size);

/* Whether url holds a password. */
int secret_url_has_password(const char *url);

#endif
