/*
 * sweep-controller - drives every active sweep: args -> settings -> init
 * -> loop -> orderly teardown. The engine is lib/controller.c.
 */
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "controller.h"
#include "log.h"
#include "port.h"
#include "sbuf.h"
#include "sig.h"
#include "sign.h"
#include "settings.h"
#include "sweep.h"

/* ---- GET /metrics (--metrics) ---- */

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status,
                                 const char *type, char *body, size_t len) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Runs on MHD's thread: controller_metrics() reads only the snapshot the
 * loop publishes, never Redis or Kafka. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls) {
    struct sbuf sb = SBUF_INIT;
    char *body;

    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)req_cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        body = strdup("method not allowed\n");
        return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                         body, body ? strlen(body) : 0);
    }
    if (strcmp(url, "/metrics")) {
        body = strdup("not found: try /metrics\n");
        return send_text(conn, MHD_HTTP_NOT_FOUND, "text/plain", body,
                         body ? strlen(body) : 0);
    }
    controller_metrics(cls, &sb);
    if (sbuf_oom(&sb)) {
        sbuf_release(&sb);
        return MHD_NO;
    }
    {
        size_t len = sb.len;
        body = sbuf_detach(&sb);
        if (!body) /* nothing appended */
            body = strdup("");
        return send_text(conn, MHD_HTTP_OK, "text/plain; version=0.0.4",
                         body, body ? len : 0);
    }
}

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: sweep-controller --brokers LIST --redis URL [options]\n"
            "\n"
            "Drives every active sweep: answers idle workers with runs, applies\n"
            "run events and metrics to Redis, requeues runs of dead or preempted\n"
            "workers. Several may run: one leads, the others take over within\n"
            "the lease TTL.\n"
            "\n"
            "Run assignments and commands are signed with signing_key_file FILE\n"
            "(--config or $SWEEP_SIGNING_KEY_FILE) or $SWEEP_SIGNING_KEY; workers\n"
            "need the same key. docs/security.md.\n"
            "\n"
            "      --lease-timeout S  seconds without a heartbeat before a run is\n"
            "                         marked crashed and requeued (default 30)\n"
            "      --lease-ttl MS     the leader lease's TTL (default 3000)\n"
            "      --metrics ADDR:PORT  serve Prometheus metrics on GET /metrics\n"
            "                         (no auth: bind a loopback address)\n"
            "      --name NAME        this controller's name in the lease\n"
            "      --insecure-unsigned  send run assignments and commands unsigned\n"
            "                         (setting insecure_unsigned)\n"
            "  -h, --help             this help\n"
            "      --version          the version\n"
            "\n" SETTINGS_HELP);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"lease-timeout", required_argument, NULL, 't'},
        {"lease-ttl", required_argument, NULL, 'T'},
        {"name", required_argument, NULL, 'n'},
        {"metrics", required_argument, NULL, 'm'},
        {"insecure-unsigned", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        SETTINGS_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct settings_flags flags = {0};
    struct controller_opts co = {0};
    struct settings st;
    struct controller *ctl;
    struct MHD_Daemon *mhd = NULL;
    struct sockaddr_in maddr;
    const char *metrics = NULL;
    char errstr[512];
    sigset_t mask;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (settings_flag(&flags, c, optarg))
            continue;
        switch (c) {
        case 't':
        case 'u':
            if (settings_flag_set(&flags, c == 't' ? "lease_timeout" : "insecure_unsigned",
                                  c == 't' ? optarg : "1") < 0) {
                fprintf(stderr, "sweep-controller: too many flags\n");
                return 2;
            }
            break;
        case 'T': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 100 || v > 600000) {
                fprintf(stderr, "sweep-controller: --lease-ttl needs milliseconds "
                                "from 100 to 600000, not '%s'\n", optarg);
                return 2;
            }
            co.lease_ttl_ms = (int)v;
            break;
        }
        case 'n':
            co.name = optarg;
            break;
        case 'm':
            if (port_parse_ipv4(optarg, &maddr) < 0) {
                fprintf(stderr, "sweep-controller: --metrics needs ADDR:PORT "
                                "(IPv4), not '%s'\n", optarg);
                return 2;
            }
            metrics = optarg;
            co.metrics = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("sweep-controller %s\n", SWEEP_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "sweep-controller: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (settings_resolve(&st, &flags, errstr, sizeof(errstr))) {
        fprintf(stderr, "sweep-controller: %s\n", errstr);
        return 2;
    }
    if (flags.dump) {
        settings_dump(&st, stdout);
        settings_release(&st);
        return 0;
    }
    log_init("sweep-controller", (enum log_level)log_level_parse(st.log_level));
    if (!*st.brokers) {
        fprintf(stderr, "sweep-controller: no brokers: give --brokers or SWEEP_BROKERS\n");
        settings_release(&st);
        return 2;
    }
    gsl_set_error_handler_off();
    signal(SIGPIPE, SIG_IGN);
    /* Before any thread exists (librdkafka makes them). */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    if (sig_block_and_route(&mask) < 0) /* see sig.h: OpenBLAS threads */
        perror("sigaction");
    if (signer_require(st.signing_key_file, (int)st.insecure_unsigned,
                       &co.signer, errstr, sizeof(errstr)) < 0) {
        fprintf(stderr, "sweep-controller: %s\n", errstr);
        settings_release(&st);
        return 2;
    }
    co.st = &st;
    co.stop_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    ctl = controller_new(&co, errstr, sizeof(errstr));
    if (!ctl) {
        LOG(LOG_ERROR, "%s", errstr);
        settings_release(&st);
        return 1;
    }
    if (metrics) {
        mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                               0, NULL, NULL, on_request, ctl,
                               MHD_OPTION_SOCK_ADDR, &maddr,
                               MHD_OPTION_CONNECTION_LIMIT, 16U,
                               MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
        if (!mhd) {
            LOG(LOG_ERROR, "metrics: cannot listen on '%s'", metrics);
            controller_free(ctl);
            close(co.stop_fd);
            settings_release(&st);
            return 1;
        }
        LOG(LOG_INFO, "metrics on http://%s/metrics", metrics);
    }
    rc = controller_run(ctl, NULL);
    if (mhd)
        MHD_stop_daemon(mhd); /* before the controller it reads goes */
    {
        struct controller_stats cs;
        controller_get_stats(ctl, &cs);
        LOG(LOG_INFO, "stopping: %llu messages (%llu malformed, skipped), %llu "
                      "metric events applied (%llu lost before they arrived), "
                      "%llu assignments, %llu requeues",
            (unsigned long long)cs.messages, (unsigned long long)cs.malformed,
            (unsigned long long)cs.metrics_applied,
            (unsigned long long)cs.metrics_lost, (unsigned long long)cs.assignments,
            (unsigned long long)cs.requeues);
    }
    controller_free(ctl);
    close(co.stop_fd);
    settings_release(&st);
    return rc;
}
