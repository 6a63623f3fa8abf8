/* port.c - a free loopback port (see port.h). */
#include "port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sweep.h"

int port_free_loopback(void) {
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

int port_parse_ipv4(const char *arg, struct sockaddr_in *sa) {
    char host[64];
    const char *colon = strrchr(arg, ':');
    struct sockaddr_in a = {.sin_family = AF_INET};
    char *end;
    long port;

    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(host))
        return SWEEP_EINVAL;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = 0;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return SWEEP_EINVAL;
    a.sin_port = htons((uint16_t)port);
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return SWEEP_EINVAL;
    *sa = a;
    return 0;
}
