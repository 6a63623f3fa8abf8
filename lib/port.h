/*
 * port.h - a free TCP port on the loopback interface, for the programs
 * that start a server of their own (sweep local's redis-server) and for
 * the tests.
 */
#ifndef SWEEP_PORT_H
#define SWEEP_PORT_H

/* A port that was free on 127.0.0.1 a moment ago (another process may
 * take it before the caller binds it), or -1. */
int port_free_loopback(void);

#endif
