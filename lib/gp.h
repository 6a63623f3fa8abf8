/*
 * gp.h - a Gaussian process regressor on GSL for the bayes search: Matern
 * 5/2 kernel with one length scale per input dimension (ARD), a signal
 * variance and a noise term; inputs in [0,1]^d, outputs standardised
 * around a pessimistic prior mean (the mean plus 1.5 standard deviations:
 * far from the data the model expects a poor value, see gp.c).
 *
 * Hyperparameters are kept as logs: theta = (log l_1 .. log l_d,
 * log sf2, log sn2), gp_nparams() of them. gp_fit() maximises the log
 * marginal likelihood plus weak log-normal priors (so a handful of points
 * cannot drive a length scale to 0 or the noise to the floor), from
 * several starts, inside a box.
 */
#ifndef SWEEP_GP_H
#define SWEEP_GP_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

struct gp;

/* A GP over d >= 1 inputs with default hyperparameters and no data.
 * Caller frees with gp_free(). NULL on allocation failure. */
struct gp *gp_new(size_t d);
void gp_free(struct gp *gp);

size_t gp_nparams(const struct gp *gp);
/* Copies theta (gp_nparams() doubles) out of / into gp. gp_set_theta()
 * does not refactor: call gp_condition() after it. */
void gp_get_theta(const struct gp *gp, double *theta);
void gp_set_theta(struct gp *gp, const double *theta);

/* Fits the hyperparameters on n points (X row-major n x d, borrowed) and
 * conditions on them. rng (borrowed) draws the extra starts. Returns 0,
 * SWEEP_ENOMEM, or SWEEP_EINVAL (n == 0, or no factorisation at any
 * jitter). */
int gp_fit(struct gp *gp, const double *X, const double *y, size_t n,
           gsl_rng *rng);

/* gp_fit() with one BFGS start, from the current theta (a warm start:
 * gp_set_theta() it from an earlier fit of similar data), and at most
 * maxiter iterations. */
int gp_refit(struct gp *gp, const double *X, const double *y, size_t n,
             gsl_rng *rng, int maxiter);

/* Conditions on n points with the current hyperparameters and the output
 * standardisation of the last gp_fit() (a fantasy update: the kriging
 * believer adds points without refitting). Same returns as gp_fit(). */
int gp_condition(struct gp *gp, const double *X, const double *y, size_t n);

/* gp_condition() where the last nfant points are fantasies (the kriging
 * believer's: points in flight, at the mean of a GP without them): the
 * variance near them shrinks to the noise, so the acquisition looks
 * elsewhere, and gp_maximize_acq() never returns a point within 0.003 of
 * one (the same run twice). */
int gp_condition_fantasy(struct gp *gp, const double *X, const double *y,
                         size_t n, size_t nfant);

/* Posterior mean and variance (of the latent function, no noise) at x,
 * in the units of y. Needs a conditioned gp; 0 or SWEEP_EINVAL. */
int gp_predict(struct gp *gp, const double *x, double *mu, double *var);

/* The kernel k(a, b) in standardised units with the current theta; when
 * grad is not NULL, its d + 1 derivatives w.r.t. log l_1..d and log sf2. */
double gp_kernel(const struct gp *gp, const double *a, const double *b,
                 double *grad);

/* Log marginal likelihood of the standardised data at theta (not the
 * prior), and when grad is not NULL its gradient w.r.t. theta. Needs data
 * (gp_fit or gp_condition). Returns 0 or SWEEP_EINVAL/SWEEP_ENOMEM. */
int gp_lml(struct gp *gp, const double *theta, double *lml, double *grad);

/* log of the expected improvement below `best` of N(mu, var), accurate
 * far into the tail where EI itself underflows to 0. */
double gp_log_ei(double mu, double var, double best);

/* A one-hot group of coordinates (a categorical's values): candidates
 * set exactly one of them to 1, the refinement leaves them as they are. */
struct gp_group {
    size_t off, width;
};

/* The x in [0,1]^d (written to xout) with the largest EI below `best`
 * or, with fantasies (runs in flight), the lowest confidence bound
 * mean - sd (GP-BUCB), among points whose groups (ngroups of them, may
 * be 0) are one-hot:
 * ncand candidates, half Sobol points (randomly shifted; plain uniform
 * draws past 40 dimensions), half Gaussian steps around the best
 * observed points, then Nelder-Mead from the best few. Returns 0 or
 * SWEEP_ENOMEM/SWEEP_EINVAL. */
int gp_maximize_acq(struct gp *gp, double best, size_t ncand,
                    const struct gp_group *groups, size_t ngroups,
                    gsl_rng *rng, double *xout);

#endif
