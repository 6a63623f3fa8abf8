/*
 * sbuf.h - a growable NUL-terminated byte buffer.
 *
 * Allocation failure is sticky: after it, sbuf_oom() is true, appends are
 * ignored and sbuf_detach() returns NULL, so callers check once at the end.
 */
#ifndef SWEEP_SBUF_H
#define SWEEP_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
    char *buf; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
    int oom;
};

#define SBUF_INIT {NULL, 0, 0, 0}

void sbuf_init(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);
void sbuf_reset(struct sbuf *sb); /* len = 0, keeps memory */
void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static inline int sbuf_oom(const struct sbuf *sb) { return sb->oom; }
/* Contents as a string that stays valid until the next append; "" if empty. */
const char *sbuf_str(const struct sbuf *sb);
/* Hands the buffer to the caller (free() it); NULL after an allocation
 * failure. The sbuf is empty afterwards. */
char *sbuf_detach(struct sbuf *sb);

#endif
