/* secret.c - spotting and masking secrets (see secret.h). */
#include "secret.h"

#include <stdio.h>
#include <string.h>

static int has_word(const char *name, size_t len, const char *w) {
    size_t wl = strlen(w);

    for (size_t i = 0; i + wl <= len; i++)
        if (!strncmp(name + i, w, wl))
            return 1;
    return 0;
}

static int secret_name(const char *name, size_t len) {
    return has_word(name, len, "password") || has_word(name, len, "secret") ||
           (len == 11 && !strncmp(name, "ssl.key.pem", len)) ||
           (len == 7 && !strncmp(name, "ssl_key", len)) ||
           (len == 23 && !strncmp(name, "sasl.oauthbearer.config", len));
}

int secret_kafka_prop(const char *name) {
    return name && secret_name(name, strlen(name));
}

int secret_kafka_kv(const char *kv) {
    const char *eq = kv ? strchr(kv, '=') : NULL;

    return kv && secret_name(kv, eq ? (size_t)(eq - kv) : strlen(kv));
}

/* Where the password of "scheme://user:password@host..." is: [*b, *e). */
static int find_password(const char *url, const char **b, const char **e) {
    const char *p = strstr(url, "://"), *at, *colon, *slash;

    p = p ? p + 3 : url;
    slash = strchr(p, '/');
    at = strrchr(p, '@');
    if (!at || (slash && slash < at))
        return 0;
    /* "user:password@"; a bare "password@" is a password too (redis://
     * URLs, store.c). */
    colon = memchr(p, ':', (size_t)(at - p));
    *b = colon ? colon + 1 : p;
    *e = at;
    return 1;
}

int secret_url_has_password(const char *url) {
    const char *b, *e;

    return url && find_password(url, &b, &e) && e > b;
}

char *secret_redact_url(const char *url, char *out, size_t out_size) {
    const char *b, *e;

    if (!out_size)
        return out;
    if (!url) {
        out[0] = '\0';
        return out;
    }
    if (!find_password(url, &b, &e) || e == b) {
        snprintf(out, out_size, "%s", url);
        return out;
    }
    snprintf(out, out_size, "%.*s%s%s", (int)(b - url), url, SECRET_MASK, e);
    return out;
}
