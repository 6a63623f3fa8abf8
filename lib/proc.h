/*
 * proc.h - one run's process: started with posix_spawn in its own session
 * and process group (POSIX_SPAWN_SETSID | SETSIGDEF | SETSIGMASK), stdin
 * on /dev/null, every other inherited descriptor closed; stdout, stderr
 * and a metrics pipe (its number in SWEEP_METRICS_FD) read line by line.
 * Every output line is appended to the run's log file; metric lines (see
 * metrics.h) are handed to a callback. Lines longer than 64 KiB are cut
 * into 64 KiB lines in the log and are never read as metrics; a last line
 * without a newline is taken at end of file.
 *
 * The caller owns the event loop: it polls proc_fds(), calls proc_read()
 * when one is readable, reaps children with waitpid(-1, WNOHANG) and
 * hands the status to proc_exited().
 */
#ifndef SWEEP_PROC_H
#define SWEEP_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "metrics.h"

/* m is borrowed until the callback returns; it runs inside proc_read() or
 * proc_exited() and may call proc_kill() but not proc_free(). */
typedef void (*proc_metric_fn)(void *ud, const struct metric_set *m);

/* Everything is borrowed for the proc_spawn() call only, except ud. */
struct proc_opts {
    char *const *argv;    /* argv[0] is searched in our PATH */
    char *const *env_add; /* "NAME=value" set over our environment (last
                           * wins; a bare "NAME" removes it), NULL-ended;
                           * SWEEP_METRICS_FD is always ours */
    const char *cwd;      /* NULL: ours */
    const char *log_path; /* output lines appended here; NULL: none */
    int no_parse_output;  /* do not read name=value lines on stdout/stderr */
    int no_metrics_fd;    /* do not provide SWEEP_METRICS_FD */
    proc_metric_fn on_metric;
    void *ud;
};

struct proc;

/* Starts the process. Returns 0 and *out (caller frees with proc_free()),
 * or SWEEP_EIO / SWEEP_EINVAL / SWEEP_ENOMEM with errstr (e.g. "cannot
 * run 'python': No such file or directory"); then nothing is left open. */
int proc_spawn(const struct proc_opts *o, struct proc **out, char *errstr,
               size_t errstr_size);

pid_t proc_pid(const struct proc *p);

/* The descriptors still open (fds has room for 3); returns how many. */
size_t proc_fds(const struct proc *p, int *fds);

/* Reads what is available on fd (non-blocking, at most about 1 MiB per
 * call so one run cannot starve the loop), handling whole lines. Returns
 * 0, or 1 once fd reached end of file (then it is closed and no longer in
 * proc_fds()); SWEEP_EINVAL when fd is not one of proc_fds(). */
int proc_read(struct proc *p, int fd);

/* Sends sig to the whole process group, also after the leader was reaped
 * (to reach what it left behind). A group already gone is not an error:
 * 0, or SWEEP_EIO. */
int proc_kill(struct proc *p, int sig);

/* Records the wait status of the reaped process, reads what is left in
 * its pipes without blocking (a grandchild may hold them open) and closes
 * them: afterwards proc_fds() is empty. */
void proc_exited(struct proc *p, int wstatus);
/* 1 after proc_exited(); then *wstatus is the status. */
int proc_done(const struct proc *p, int *wstatus);

/* Closes everything; kills the group with SIGKILL if still running (and
 * not reaped). Does not wait: the caller's waitpid() loop reaps it.
 * NULL is a no-op. */
void proc_free(struct proc *p);

#endif
