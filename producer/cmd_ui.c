/*
 * cmd_ui.c - `sweep ui`: the dashboard's HTTP server (libmicrohttpd),
 * read-only, from what the controllers keep in Redis. It runs apart from
 * them and only reads.
 *
 * It serves the dashboard's pages (producer/ui/, compiled in by
 * scripts/embed-assets.sh, sent gzip-compressed) and the JSON API of
 * docs/ui.md behind them. One request at a time (MHD's internal polling thread): one Redis
 * connection, no locks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "importance.h"
#include "log.h"
#include "port.h"
#include "sbuf.h"
#include "store.h"
#include "sweep.h"
#include "ui_assets.h"
#include "value.h"

#define UI_PAGE_DEFAULT 100
#define UI_PAGE_MAX 1000
#define UI_TOKEN_MAX 256
#define UI_COOKIE "sweep_token"

static const char ui_help[] =
    "usage: sweep ui [--http ADDR:PORT] [--auth-token-file FILE]\n"
    "                [--insecure-no-auth] [settings flags]\n"
    "\n"
    "The dashboard: a web server for the sweeps in Redis, its pages (/,\n"
    "/sweeps/ID, /sweeps/ID/runs/RUN) and the JSON API of docs/ui.md\n"
    "(/api/sweeps, /api/sweeps/ID, /api/sweeps/ID/runs, .../runs/RUN,\n"
    ".../runs/RUN/history, /api/sweeps/ID/importance). It reads Redis (and\n"
    "writes a sweep's state only for a control button): run it anywhere,\n"
    "with any number of controllers or none.\n"
    "\n"
    "      --http ADDR:PORT      where to listen (default 127.0.0.1:8080;\n"
    "                            port 0 picks a free one, printed first)\n"
    "      --auth-token-file F   requests must carry the token in F:\n"
    "                            'Authorization: Bearer TOKEN', or ?token=\n"
    "                            once (a cookie is set), then the cookie\n"
    "      --insecure-no-auth    listen beyond loopback without a token\n"
    "\n"
    "An address other than loopback needs --auth-token-file, or\n"
    "--insecure-no-auth. Without a token the server is read-only; with one,\n"
    "a sweep's page also pauses, resumes, stops and cancels it (POST, with\n"
    "a CSRF token). Stops on SIGINT or SIGTERM.\n\n";

/* The importance of one sweep, kept until its runs change. */
struct imp_cache {
    char sweep[72];
    long long key; /* updated_at of the sweep when computed */
    long long n_ended;
    json_t *result;
};

#define UI_IMP_CACHE 8

struct ui {
    struct store *store;
    char token[UI_TOKEN_MAX + 1]; /* empty: no auth */
    struct imp_cache imp[UI_IMP_CACHE];
    unsigned imp_next;
    char csrf[65];                /* with a token: what control requests carry */
    const struct settings *st;    /* brokers, to tell the controller */
};

/* The pages' policy: their own scripts, styles and fetches only. */
#define UI_PAGE_CSP                                                            \
    "default-src 'none'; script-src 'self'; style-src 'self'; "               \
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "             \
    "form-action 'none'; frame-ancestors 'none'"

/* ---- responses ---- */

static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned status,
                                 const char *type, char *body, size_t len,
                                 const char *cookie) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'");
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* v (stolen) as the JSON body. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status,
                                 json_t *v, const char *cookie) {
    struct sbuf sb = SBUF_INIT;
    char *body;
    size_t len;

    if (!v)
        v = json_pack("{s:s}", "error", "out of memory");
    value_json(&sb, v);
    json_decref(v);
    sbuf_add(&sb, "\n", 1);
    len = sb.len;
    body = sbuf_detach(&sb);
    if (!body)
        return MHD_NO;
    return send_body(conn, status, "application/json; charset=utf-8", body, len,
                     cookie);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status,
                                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status,
                                  const char *fmt, ...) {
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return send_json(conn, status, json_pack("{s:s,s:i}", "error", msg, "status",
                                             (int)status),
                     NULL);
}

/* Redis failed: 503, and the reason (never a secret: store errors name
 * the host and the command, not the password). */
static enum MHD_Result send_store_error(struct MHD_Connection *conn, struct ui *u) {
    return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "redis: %s",
                      *store_errstr(u->store) ? store_errstr(u->store) : "unavailable");
}

/* ---- auth ---- */

static int token_eq(const struct ui *u, const char *got) {
    size_t n = strlen(u->token);

    return got && strlen(got) == n && CRYPTO_memcmp(got, u->token, n) == 0;
}

/* The cookie's value in a Cookie header ("a=1; sweep_token=T; b=2"). */
static int cookie_ok(const struct ui *u, const char *hdr) {
    char buf[UI_TOKEN_MAX + 1];
    size_t klen = strlen(UI_COOKIE);

    while (hdr && *hdr) {
        while (*hdr == ' ' || *hdr == ';')
            hdr++;
        if (!strncmp(hdr, UI_COOKIE, klen) && hdr[klen] == '=') {
            size_t n = strcspn(hdr + klen + 1, ";");
            if (n <= UI_TOKEN_MAX) {
                memcpy(buf, hdr + klen + 1, n);
                buf[n] = 0;
                if (token_eq(u, buf))
                    return 1;
            }
        }
        hdr = strchr(hdr, ';');
    }
    return 0;
}

/* 1 when the request may go on; *set_cookie when it came with ?token=. */
static int authorized(const struct ui *u, struct MHD_Connection *conn,
                      int *set_cookie) {
    const char *h, *q;

    *set_cookie = 0;
    if (!*u->token)
        return 1;
    h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7) && token_eq(u, h + 7))
        return 1;
    if (cookie_ok(u, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Cookie")))
        return 1;
    q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
    if (q && token_eq(u, q)) {
        *set_cookie = 1;
        return 1;
    }
    return 0;
}

/* ---- the API ---- */

/* An id as the store makes them: [A-Za-z0-9_-], 1 to 64 characters. */
static int id_ok(const char *s, size_t n) {
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* A query number: absent gives def; -1 when not a whole number in
 * [lo, hi]. */
static long query_long(struct MHD_Connection *conn, const char *name, long def,
                       long lo, long hi) {
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    char *end;
    long x;

    if (!v)
        return def;
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return -1;
    return x;
}

static json_t *sweep_brief(json_t *sw) {
    json_t *o = json_object();
    static const char *const keys[] = {"id", "name", "method", "state", "created_at",
                                       "runs", "runs_created", "run_cap"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(sw, keys[i]))
            json_object_set(o, keys[i], json_object_get(sw, keys[i]));
    json_object_set(o, "metric",
                    json_object_get(json_object_get(sw, "config"), "metric"));
    return o;
}

static enum MHD_Result api_sweeps(struct MHD_Connection *conn, struct ui *u) {
    json_t *ids = store_sweep_ids(u->store), *out, *id;
    size_t i;

    if (!ids)
        return send_store_error(conn, u);
    out = json_array();
    json_array_foreach(ids, i, id) {
        json_t *sw = store_sweep_get(u->store, json_string_value(id));
        if (sw) {
            json_array_append_new(out, sweep_brief(sw));
            json_decref(sw);
        } else if (*store_errstr(u->store)) {
            json_decref(ids);
            json_decref(out);
            return send_store_error(conn, u);
        }
    }
    json_decref(ids);
    return send_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "sweeps", out), NULL);
}

static enum MHD_Result api_sweep(struct MHD_Connection *conn, struct ui *u,
                                 const char *id) {
    json_t *sw = store_sweep_get(u->store, id);

    if (!sw)
        return *store_errstr(u->store)
                   ? send_store_error(conn, u)
                   : send_error(conn, MHD_HTTP_NOT_FOUND, "no sweep '%s'", id);
    return send_json(conn, MHD_HTTP_OK, sw, NULL);
}

/* 1 when the sweep exists, 0 after a 404 or 503 was queued (*ret). */
static int sweep_exists(struct MHD_Connection *conn, struct ui *u, const char *id,
                        enum MHD_Result *ret) {
    json_t *sw = store_sweep_get(u->store, id);

    if (sw) {
        json_decref(sw);
        return 1;
    }
    *ret = *store_errstr(u->store)
               ? send_store_error(conn, u)
               : send_error(conn, MHD_HTTP_NOT_FOUND, "no sweep '%s'", id);
    return 0;
}

static enum MHD_Result api_runs(struct MHD_Connection *conn, struct ui *u,
                                const char *id) {
    long after = query_long(conn, "after", 0, 0, 1L << 40);
    long limit = query_long(conn, "limit", UI_PAGE_DEFAULT, 1, UI_PAGE_MAX);
    long total = 0;
    enum MHD_Result ret;
    json_t *runs;

    if (after < 0)
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "after: a cursor from a previous page's \"next\" "
                          "(a whole number >= 0)");
    if (limit < 0)
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "limit: a whole number from 1 to %d", UI_PAGE_MAX);
    if (!sweep_exists(conn, u, id, &ret))
        return ret;
    if (!(runs = store_runs_page(u->store, id, after, limit, &total)))
        return send_store_error(conn, u);
    {
        long next = after + (long)json_array_size(runs);
        char cur[24];
        snprintf(cur, sizeof(cur), "%ld", next);
        return send_json(conn, MHD_HTTP_OK,
                         json_pack("{s:o,s:I,s:o}", "runs", runs, "total",
                                   (json_int_t)total, "next",
                                   next < total ? json_string(cur) : json_null()),
                         NULL);
    }
}

static enum MHD_Result api_run(struct MHD_Connection *conn, struct ui *u,
                               const char *id, const char *run, int history) {
    enum MHD_Result ret;
    json_t *r;

    if (!sweep_exists(conn, u, id, &ret))
        return ret;
    if (!(r = store_run_get(u->store, id, run, history)))
        return *store_errstr(u->store)
                   ? send_store_error(conn, u)
                   : send_error(conn, MHD_HTTP_NOT_FOUND, "no run '%s' in sweep '%s'",
                                run, id);
    if (!history)
        return send_json(conn, MHD_HTTP_OK, r, NULL);
    {
        json_t *h = json_incref(json_object_get(r, "history"));
        json_decref(r);
        return send_json(conn, MHD_HTTP_OK,
                         json_pack("{s:s,s:s,s:o}", "sweep", id, "run", run, "history",
                                   h ? h : json_array()),
                         NULL);
    }
}

/* Splits "/api/sweeps/ID/runs/RUN/history" into at most 6 segments. */
static int split_path(const char *url, char seg[6][72]) {
    int n = 0;

    if (*url != '/')
        return -1;
    while (*url == '/' && url[1]) {
        size_t len = strcspn(url + 1, "/");
        if (n == 6 || len >= 72)
            return -1;
        memcpy(seg[n], url + 1, len);
        seg[n++][len] = 0;
        url += 1 + len;
    }
    return *url && strcmp(url, "/") ? -1 : n;
}

/* ---- the pages ---- */

static const struct ui_asset *asset_find(const char *path) {
    for (const struct ui_asset *a = ui_assets; a->path; a++)
        if (!strcmp(a->path, path))
            return a;
    return NULL;
}

/* A compiled-in file, gzip-compressed (every browser takes it); 304 when
 * the client has it. Assets may be cached an hour; the page is revalidated
 * each time, so a new binary's page is seen at once. */
static enum MHD_Result send_asset(struct MHD_Connection *conn,
                                  const struct ui_asset *a) {
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_ACCEPT_ENCODING);
    int not_modified = inm && !strcmp(inm, a->etag);
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (!not_modified && (!ae || !strstr(ae, "gzip")))
        return send_error(conn, MHD_HTTP_NOT_ACCEPTABLE,
                          "the dashboard's files are sent gzip-compressed: ask "
                          "with 'Accept-Encoding: gzip' (curl --compressed)");
    r = not_modified ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
                     : MHD_create_response_from_buffer(a->gz_len, (void *)a->gz,
                                                       MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", a->type);
    if (!not_modified)
        MHD_add_response_header(r, "Content-Encoding", "gzip");
    MHD_add_response_header(r, "Vary", "Accept-Encoding");
    MHD_add_response_header(r, "ETag", a->etag);
    MHD_add_response_header(r, "Cache-Control", strcmp(a->path, "/")
                                                    ? "public, max-age=3600"
                                                    : "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy", UI_PAGE_CSP);
    ret = MHD_queue_response(conn, not_modified ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* The page of "/", "/sweeps/ID" and "/sweeps/ID/runs/RUN" (the page's
 * script reads the address); files under /assets/. */
static enum MHD_Result route_page(struct MHD_Connection *conn, const char *url,
                                  char seg[6][72], int n) {
    const struct ui_asset *a;

    if (n == 1 && !strcmp(seg[0], "favicon.ico")) { /* browsers ask: none */
        struct MHD_Response *r =
            MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret;
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Cache-Control", "public, max-age=86400");
        ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (n >= 1 && !strcmp(seg[0], "assets")) {
        if (n == 2 && (a = asset_find(url)) && strcmp(a->path, "/"))
            return send_asset(conn, a);
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no such file");
    }
    if (n == 0 || (n == 2 && !strcmp(seg[0], "sweeps") && id_ok(seg[1], strlen(seg[1]))) ||
        (n == 4 && !strcmp(seg[0], "sweeps") && id_ok(seg[1], strlen(seg[1])) &&
         !strcmp(seg[2], "runs") && id_ok(seg[3], strlen(seg[3])))) {
        if ((a = asset_find("/")))
            return send_asset(conn, a);
    }
    return send_error(conn, MHD_HTTP_NOT_FOUND,
                      "no such path (pages: /, /sweeps/ID, /sweeps/ID/runs/RUN; "
                      "the JSON API is under /api/sweeps)");
}

/* ---- importance ---- */

static long long ended_runs(json_t *sw) {
    json_t *runs = json_object_get(sw, "runs");
    static const char *const ended[] = {"finished", "failed", "killed", "crashed"};
    long long n = 0;

    for (size_t i = 0; i < sizeof(ended) / sizeof(ended[0]); i++)
        n += json_integer_value(json_object_get(runs, ended[i]));
    return n;
}

/* Computed once per change of the sweep's ended runs (their metrics no
 * longer move), kept for the last UI_IMP_CACHE sweeps asked. */
static enum MHD_Result api_importance(struct MHD_Connection *conn, struct ui *u,
                                      const char *id) {
    json_t *sw = store_sweep_get(u->store, id), *runs, *res, *out;
    struct imp_cache *c = NULL;
    char err[256] = "";
    long long n_ended;
    double t0;

    if (!sw)
        return *store_errstr(u->store)
                   ? send_store_error(conn, u)
                   : send_error(conn, MHD_HTTP_NOT_FOUND, "no sweep '%s'", id);
    n_ended = ended_runs(sw);
    for (unsigned i = 0; i < UI_IMP_CACHE; i++)
        if (u->imp[i].result && !strcmp(u->imp[i].sweep, id))
            c = &u->imp[i];
    if (c && c->n_ended == n_ended) {
        json_decref(sw);
        out = json_deep_copy(c->result);
        json_object_set_new(out, "cached", json_true());
        return send_json(conn, MHD_HTTP_OK, out, NULL);
    }
    t0 = cli_now_ms();
    if (!(runs = store_runs(u->store, id, 0))) {
        json_decref(sw);
        return send_store_error(conn, u);
    }
    res = importance_compute(sw, runs, err, sizeof(err));
    json_decref(runs);
    json_decref(sw);
    if (!res)
        return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "importance: %s", err);
    json_object_set_new(res, "sweep", json_string(id));
    json_object_set_new(res, "elapsed_ms", json_real(cli_now_ms() - t0));
    if (!c) {
        c = &u->imp[u->imp_next++ % UI_IMP_CACHE];
        json_decref(c->result);
        snprintf(c->sweep, sizeof(c->sweep), "%s", id);
    } else {
        json_decref(c->result);
    }
    c->result = json_incref(res);
    c->n_ended = n_ended;
    out = json_deep_copy(res);
    json_object_set_new(out, "cached", json_false());
    return send_json(conn, MHD_HTTP_OK, out, NULL);
}

/* ---- control (only with a token) ---- */

/* The CSRF token: HMAC-SHA256 of a fixed text under the auth token, so it
 * is the same for every page of this server and nothing is stored. A page
 * reads it from /api/session (same origin only: a page of another site
 * cannot read the answer) and sends it as X-CSRF-Token, a header a form of
 * another site cannot set. */
static void csrf_make(struct ui *u) {
    static const char what[] = "sweep ui csrf v1";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    u->csrf[0] = 0;
    if (!*u->token ||
        !HMAC(EVP_sha256(), u->token, (int)strlen(u->token), (const unsigned char *)what,
              sizeof(what) - 1, md, &mdlen))
        return;
    for (unsigned i = 0; i < mdlen && i < 32; i++)
        snprintf(u->csrf + 2 * i, 3, "%02x", md[i]);
    OPENSSL_cleanse(md, sizeof(md));
}

static enum MHD_Result api_session(struct MHD_Connection *conn, struct ui *u) {
    json_t *o = json_pack("{s:b,s:b}", "auth", *u->token != 0, "control", *u->token != 0);

    if (*u->token)
        json_object_set_new(o, "csrf", json_string(u->csrf));
    return send_json(conn, MHD_HTTP_OK, o, NULL);
}

/* POST /api/sweeps/ID/(pause|resume|stop|cancel): what `sweep pause ID`
 * and the others do: the state in Redis, then the controller told over
 * Kafka when --brokers is set (it also sees the change in Redis). */
static enum MHD_Result api_control(struct MHD_Connection *conn, struct ui *u,
                                   const char *url) {
    static const struct {
        const char *name;
        enum control_action a;
    } acts[] = {{"pause", CTL_PAUSE}, {"resume", CTL_RESUME}, {"stop", CTL_STOP},
                {"cancel", CTL_CANCEL}};
    const char *tok = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    const char *state = "?";
    struct msg m = {.kind = MSG_SWEEP_CONTROL};
    char seg[6][72];
    int n = split_path(url, seg), rc;
    size_t k;

    if (n != 4 || strcmp(seg[0], "api") || strcmp(seg[1], "sweeps"))
        return send_error(conn, MHD_HTTP_NOT_FOUND,
                          "no such path (POST /api/sweeps/ID/pause|resume|stop|cancel)");
    if (!id_ok(seg[2], strlen(seg[2])))
        return send_error(conn, MHD_HTTP_BAD_REQUEST, "a sweep id is 1 to 64 of [A-Za-z0-9_-]");
    for (k = 0; k < sizeof(acts) / sizeof(acts[0]); k++)
        if (!strcmp(seg[3], acts[k].name))
            break;
    if (k == sizeof(acts) / sizeof(acts[0]))
        return send_error(conn, MHD_HTTP_NOT_FOUND,
                          "no such action (pause, resume, stop, cancel)");
    if (!tok || strlen(tok) != strlen(u->csrf) ||
        CRYPTO_memcmp(tok, u->csrf, strlen(u->csrf)))
        return send_error(conn, MHD_HTTP_FORBIDDEN,
                          "a control request carries X-CSRF-Token (from /api/session)");
    if (origin && (!host || strncmp(origin, "http://", 7) || strcmp(origin + 7, host)))
        return send_error(conn, MHD_HTTP_FORBIDDEN, "a request from another origin");
    rc = store_sweep_control(u->store, seg[2], acts[k].a, cli_now_ms(), &state);
    if (rc == SWEEP_ENOENT)
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no sweep '%s'", seg[2]);
    if (rc == SWEEP_EINVAL)
        return send_error(conn, MHD_HTTP_CONFLICT, "%s: %s", seg[3], store_errstr(u->store));
    if (rc < 0)
        return send_store_error(conn, u);
    m.u.control.sweep_id = seg[2];
    m.u.control.action = acts[k].a;
    m.u.control.ts_ms = cli_now_ms();
    if (u->st)
        cli_publish(u->st, &m, seg[2], "ui");
    LOG(LOG_INFO, "ui: %s %s: %s", seg[3], seg[2], state);
    return send_json(conn, MHD_HTTP_OK,
                     json_pack("{s:s,s:s,s:s}", "sweep", seg[2], "action", seg[3], "state",
                               state),
                     NULL);
}

static enum MHD_Result route(struct ui *u, struct MHD_Connection *conn,
                             const char *url) {
    char seg[6][72];
    int n = split_path(url, seg);

    if (n >= 0 && (n == 0 || strcmp(seg[0], "api")))
        return route_page(conn, url, seg, n);
    if (n == 2 && !strcmp(seg[1], "session"))
        return api_session(conn, u);
    if (n < 2 || strcmp(seg[1], "sweeps"))
        return send_error(conn, MHD_HTTP_NOT_FOUND,
                          "no such path (the JSON API is under /api/sweeps)");
    if (n == 2)
        return api_sweeps(conn, u);
    if (!id_ok(seg[2], strlen(seg[2])))
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "a sweep id is 1 to 64 of [A-Za-z0-9_-]");
    if (n == 3)
        return api_sweep(conn, u, seg[2]);
    if (n == 4 && !strcmp(seg[3], "importance"))
        return api_importance(conn, u, seg[2]);
    if (strcmp(seg[3], "runs"))
        return send_error(conn, MHD_HTTP_NOT_FOUND, "no such path");
    if (n == 4)
        return api_runs(conn, u, seg[2]);
    if (!id_ok(seg[4], strlen(seg[4])))
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "a run id is 1 to 64 of [A-Za-z0-9_-]");
    if (n == 5)
        return api_run(conn, u, seg[2], seg[4], 0);
    if (n == 6 && !strcmp(seg[5], "history"))
        return api_run(conn, u, seg[2], seg[4], 1);
    return send_error(conn, MHD_HTTP_NOT_FOUND, "no such path");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls) {
    struct ui *u = cls;
    static int first;
    int set_cookie;

    (void)version;
    (void)upload_data;
    if (!*req_cls) { /* headers only so far */
        *req_cls = &first;
        return MHD_YES;
    }
    if (*upload_size) { /* a body: not read, refused below */
        *upload_size = 0;
        return MHD_YES;
    }
    if (!strcmp(method, MHD_HTTP_METHOD_POST) && *u->token) {
        /* control: the header or the cookie, never ?token= */
        if (!authorized(u, conn, &set_cookie) || set_cookie)
            return send_error(conn, MHD_HTTP_UNAUTHORIZED,
                              "a token is needed: 'Authorization: Bearer TOKEN' or "
                              "the cookie");
        return api_control(conn, u, url);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                          *u->token ? "%.16s: GET, HEAD, and POST for control"
                                    : "%.16s: this server is read-only (GET, HEAD); "
                                      "control needs --auth-token-file",
                          method);
    if (!authorized(u, conn, &set_cookie))
        return send_error(conn, MHD_HTTP_UNAUTHORIZED,
                          "a token is needed: 'Authorization: Bearer TOKEN', or "
                          "?token=TOKEN once");
    if (set_cookie) {
        /* The token leaves the address bar for a cookie only scripts of
         * this origin's pages could not read. */
        char cookie[UI_TOKEN_MAX + 96];
        snprintf(cookie, sizeof(cookie), UI_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/",
                 u->token);
        return send_json(conn, MHD_HTTP_OK,
                         json_pack("{s:s}", "ok", "token accepted; a cookie is set"),
                         cookie);
    }
    return route(u, conn, url);
}

/* ---- the program ---- */

static int read_token(const char *path, char *out) {
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        fprintf(stderr, "sweep ui: --auth-token-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(out, 1, UI_TOKEN_MAX, f);
    fclose(f);
    out[n] = 0;
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = 0;
    if (n < 16 || strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789-_.~+/=") != n) {
        fprintf(stderr, "sweep ui: --auth-token-file %s: the token must be 16 to %d "
                        "characters of [A-Za-z0-9-_.~+/=] (e.g. sweep keygen)\n",
                path, UI_TOKEN_MAX);
        return -1;
    }
    return 0;
}

int cmd_ui(int argc, char **argv) {
    static const struct option opts[] = {{"http", required_argument, NULL, 'H'},
                                         {"auth-token-file", required_argument, NULL, 'T'},
                                         {"insecure-no-auth", no_argument, NULL, 'I'},
                                         {"help", no_argument, NULL, 'h'},
                                         SETTINGS_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    struct settings st = {0};
    struct sockaddr_in sa;
    struct ui u = {0};
    struct MHD_Daemon *d = NULL;
    const char *http = "127.0.0.1:8080", *token_file = NULL;
    int insecure = 0, c, rc, sig;
    sigset_t mask;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue;
        switch (c) {
        case 'H':
            http = optarg;
            break;
        case 'T':
            token_file = optarg;
            break;
        case 'I':
            insecure = 1;
            break;
        case 'h':
            printf("%s%s", ui_help, SETTINGS_HELP);
            return 0;
        default:
            fprintf(stderr, "usage: sweep ui [--http ADDR:PORT] [--auth-token-file FILE] "
                            "[--insecure-no-auth] (--help)\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sweep ui: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (port_parse_ipv4(http, &sa) < 0) {
        fprintf(stderr, "sweep ui: --http '%s': expected IPV4:PORT (or localhost:PORT)\n",
                http);
        return EXIT_USAGE;
    }
    if (token_file && read_token(token_file, u.token) < 0)
        return EXIT_USAGE;
    if (ntohl(sa.sin_addr.s_addr) >> 24 != 127 && !*u.token && !insecure) {
        fprintf(stderr, "sweep ui: --http %s is not a loopback address: give "
                        "--auth-token-file FILE (or --insecure-no-auth)\n", http);
        return EXIT_USAGE;
    }
    if ((rc = cli_settings(&st, &f, "ui")))
        return rc < 0 ? 0 : rc;
    u.st = &st;
    csrf_make(&u);
    rc = EXIT_RUNTIME;
    if (!(u.store = cli_store(&st, "ui")))
        goto out;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    /* blocked before MHD's thread starts, so that it inherits the mask */
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                         NULL, on_request, &u, MHD_OPTION_SOCK_ADDR, &sa,
                         MHD_OPTION_CONNECTION_LIMIT, 64U,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "sweep ui: cannot listen on %s: %s\n", http, strerror(errno));
        goto out;
    }
    {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        char addr[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof(addr));
        printf("http://%s:%u/\n", addr, di ? (unsigned)di->port : ntohs(sa.sin_port));
        fflush(stdout);
        LOG(LOG_INFO, "ui: listening on %s:%u%s", addr,
            di ? (unsigned)di->port : ntohs(sa.sin_port),
            *u.token ? " (token required)" : "");
    }
    sigwait(&mask, &sig);
    LOG(LOG_INFO, "ui: %s: stopping", strsignal(sig));
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    for (unsigned i = 0; i < UI_IMP_CACHE; i++)
        json_decref(u.imp[i].result);
    store_free(u.store);
    settings_release(&st);
    OPENSSL_cleanse(u.token, sizeof(u.token));
    OPENSSL_cleanse(u.csrf, sizeof(u.csrf));
    return rc;
}
