/*
 * sig.h - signals read from a signalfd (or sigwaitinfo) in the main loop.
 *
 * OpenBLAS (GSL's BLAS, linked into every program) starts threads before
 * main() with no signal blocked, so blocking signals in main() is not
 * enough: one sent to the process may be delivered on such a thread, where
 * its default action kills us (SIGTERM) or drops it (SIGCHLD) behind the
 * signalfd's back. sig_block_and_route() blocks the set in the calling
 * thread (and so in the threads it starts later) and installs a handler
 * that can only run on those older threads and hands the signal to the
 * calling thread, where it stays pending for the signalfd.
 */
#ifndef SWEEP_SIG_H
#define SWEEP_SIG_H

#include <signal.h>

/* Call first thing in main(), before librdkafka starts threads. A signal
 * inherited as ignored (nohup) stays ignored. Returns 0 or -1 (errno). */
int sig_block_and_route(const sigset_t *set);

#endif
