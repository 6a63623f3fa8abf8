/*
 * port.h - a free TCP port on the loopback interface, for the programs
 * that start a server of their own (sweep local's redis-server) and for
 * the tests; and the ADDR:PORT of a server to start.
 */
#ifndef SWEEP_PORT_H
#define SWEEP_PORT_H

/* A port that was free on 127.0.0.1 a moment ago (another process may
 * take it before the caller binds it), or -1. */
int port_free_loopback(void);

/* ADDR:PORT, ADDR an IPv4 address or "localhost" (127.0.0.1), into *sa
 * (written only on success); 0, or SWEEP_EINVAL. */
struct sockaddr_in;
int port_parse_ipv4(const char *arg, struct sockaddr_in *sa);

#endif
