/*
 * test_port.c - ADDR:PORT parsing and the free loopback port.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "port.h"
#include "sweep.h"
#include "test.h"

static void test_parse_ok(void) {
    struct sockaddr_in sa;

    CHECK_INT(port_parse_ipv4("127.0.0.1:9464", &sa), 0);
    CHECK_INT(ntohs(sa.sin_port), 9464);
    CHECK_INT(ntohl(sa.sin_addr.s_addr), INADDR_LOOPBACK);
    CHECK_INT(port_parse_ipv4("localhost:0", &sa), 0);
    CHECK_INT(ntohl(sa.sin_addr.s_addr), INADDR_LOOPBACK);
    CHECK_INT(port_parse_ipv4("0.0.0.0:65535", &sa), 0);
    CHECK_INT(ntohs(sa.sin_port), 65535);
}

static void test_parse_bad(void) {
    static const char *const bad[] = {"", "9464", ":9464", "127.0.0.1:",
                                      "127.0.0.1:x", "127.0.0.1:65536",
                                      "127.0.0.1:-1", "host.example:80",
                                      "::1:80", "127.0.0.1:80 "};
    struct sockaddr_in sa = {.sin_port = 7};

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (port_parse_ipv4(bad[i], &sa) != SWEEP_EINVAL)
            fprintf(stderr, "  accepted '%s'\n", bad[i]);
        CHECK_INT(port_parse_ipv4(bad[i], &sa), SWEEP_EINVAL);
    }
    CHECK_INT(sa.sin_port, 7); /* untouched */
}

static void test_free_loopback(void) {
    int p = port_free_loopback();

    CHECK(p > 0 && p < 65536);
}

int main(void) {
    TEST_RUN(test_parse_ok);
    TEST_RUN(test_parse_bad);
    TEST_RUN(test_free_loopback);
    return TEST_DONE();
}
