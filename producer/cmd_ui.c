/*
 * cmd_ui.c - `sweep ui`: the dashboard's HTTP server (libmicrohttpd),
 * read-only, from what the controllers keep in Redis. It runs apart from
 * them and only reads.
 *
 * So far it serves the JSON API of docs/ui.md; the pages are not built
 * yet. One request at a time (MHD's internal polling thread): one Redis
 * connection, no locks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "sbuf.h"
#include "store.h"
#include "value.h"

#define UI_PAGE_DEFAULT 100
#define UI_PAGE_MAX 1000
#define UI_TOKEN_MAX 256
#define UI_COOKIE "sweep_token"

static const char ui_help[] =
    "usage: sweep ui [--http ADDR:PORT] [--auth-token-file FILE]\n"
    "                [--insecure-no-auth] [settings flags]\n"
    "\n"
    "A read-only web server for the sweeps in Redis: the JSON API of\n"
    "docs/ui.md (/api/sweeps, /api/sweeps/ID, /api/sweeps/ID/runs,\n"
    "/api/sweeps/ID/runs/RUN, /api/sweeps/ID/runs/RUN/history). It only\n"
    "reads Redis: run it anywhere, with any number of controllers or none.\n"
    "The dashboard's pages are not built yet.\n"
    "\n"
    "      --http ADDR:PORT      where to listen (default 127.0.0.1:8080;\n"
    "                            port 0 picks a free one, printed first)\n"
    "      --auth-token-file F   requests must carry the token in F:\n"
    "                            'Authorization: Bearer TOKEN', or ?token=\n"
    "                            once (a cookie is set), then the cookie\n"
    "      --insecure-no-auth    listen beyond loopback without a token\n"
    "\n"
    "An address other than loopback needs --auth-token-file, or\n"
    "--insecure-no-auth. Stops on SIGINT or SIGTERM.\n\n";

struct ui {
    struct store *store;
    char token[UI_TOKEN_MAX + 1]; /* empty: no auth */
};

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

static enum MHD_Result route(struct ui *u, struct MHD_Connection *conn,
                             const char *url) {
    char seg[6][72];
    int n = split_path(url, seg);

    if (n < 2 || strcmp(seg[0], "api") || strcmp(seg[1], "sweeps"))
        return send_error(conn, MHD_HTTP_NOT_FOUND,
                          "no such path (the JSON API is under /api/sweeps; the "
                          "dashboard's pages are not built yet)");
    if (n == 2)
        return api_sweeps(conn, u);
    if (!id_ok(seg[2], strlen(seg[2])))
        return send_error(conn, MHD_HTTP_BAD_REQUEST,
                          "a sweep id is 1 to 64 of [A-Za-z0-9_-]");
    if (n == 3)
        return api_sweep(conn, u, seg[2]);
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
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                          "%.16s: this server is read-only (GET, HEAD)", method);
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

static int parse_http(const char *arg, struct sockaddr_in *sa) {
    char host[64];
    const char *colon = strrchr(arg, ':');
    char *end;
    long port;

    if (!colon || (size_t)(colon - arg) >= sizeof(host))
        return -1;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = 0;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (!*host)
        strcpy(host, "0.0.0.0");
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

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
    if (parse_http(http, &sa) < 0) {
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
    store_free(u.store);
    settings_release(&st);
    OPENSSL_cleanse(u.token, sizeof(u.token));
    return rc;
}
