/* sig.c - block signals and route those landing on other threads back. */
#include "sig.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static pthread_t sig_main_thread;

static void sig_forward(int sig) {
    pthread_kill(sig_main_thread, sig);
}

int sig_block_and_route(const sigset_t *set) {
    struct sigaction sa, old;

    if ((errno = pthread_sigmask(SIG_BLOCK, set, NULL)) != 0)
        return -1;
    sig_main_thread = pthread_self();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sig_forward;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int s = 1; s < NSIG; s++) {
        if (sigismember(set, s) != 1 || sigaction(s, NULL, &old) < 0)
            continue;
        if (old.sa_handler != SIG_IGN && sigaction(s, &sa, NULL) < 0)
            return -1;
    }
    return 0;
}
