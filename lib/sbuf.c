/* sbuf.c - growable string buffer with sticky allocation failure. */
#include "sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(struct sbuf *sb) { memset(sb, 0, sizeof(*sb)); }

void sbuf_release(struct sbuf *sb) {
    free(sb->buf);
    sbuf_init(sb);
}

void sbuf_reset(struct sbuf *sb) {
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

static int sbuf_grow(struct sbuf *sb, size_t extra) {
    size_t need, ncap;
    char *nbuf;

    if (sb->oom)
        return -1;
    if (extra > (size_t)-1 / 2 - sb->len - 1)
        goto fail;
    need = sb->len + extra + 1;
    if (need <= sb->cap)
        return 0;
    ncap = sb->cap ? sb->cap : 64;
    while (ncap < need)
        ncap *= 2;
    nbuf = realloc(sb->buf, ncap);
    if (!nbuf)
        goto fail;
    sb->buf = nbuf;
    sb->cap = ncap;
    return 0;
fail:
    sb->oom = 1;
    return -1;
}

void sbuf_add(struct sbuf *sb, const void *data, size_t len) {
    if (sbuf_grow(sb, len) < 0)
        return;
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void sbuf_adds(struct sbuf *sb, const char *s) { sbuf_add(sb, s, strlen(s)); }

void sbuf_addc(struct sbuf *sb, char c) { sbuf_add(sb, &c, 1); }

void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap) {
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || sbuf_grow(sb, (size_t)n) < 0)
        return;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void sbuf_addf(struct sbuf *sb, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    sbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

const char *sbuf_str(const struct sbuf *sb) { return sb->buf ? sb->buf : ""; }

char *sbuf_detach(struct sbuf *sb) {
    char *s;

    if (sb->oom) {
        sbuf_release(sb);
        return NULL;
    }
    s = sb->buf ? sb->buf : strdup("");
    sbuf_init(sb);
    return s;
}
