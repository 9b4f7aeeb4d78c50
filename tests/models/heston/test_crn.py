"""Common random numbers under the exact scheme and QE's sampled first step: bumped chains
stay on their paths, and the samplers that make this possible (noncentral chi-square,
gamma, zero-degree quantile, Bessel count, each from a fixed number of draws) have the
exact laws."""

import dataclasses
import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from helpers import assert_within, make_frame, seed
from numba import njit

from greeks import engine
from greeks.maths import (
    bessel_quantile,
    gamma_log_quantile_table,
    log_gamma_by_inversion,
    noncentral_chi_square_variate,
    tabulated_log_gamma_quantile,
    tabulated_noncentral_chi_square_variate,
    tabulated_zero_dof_quantile,
    zero_dof_quantile,
)
from greeks.models.heston.adapter import AUTO_STEPS, group_paths
from greeks.models.heston.exact import exact_tables
from greeks.models.heston.sensitivities import _payoff_on

ASIAN = {"id": "a", "instrument": "asian", "fixings": 12, "model": "heston", "vol": None,
         "v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.5, "rho": -0.7}  # d = 4κθ/ξ² = 0.96
KS_SIZE = 1e-3  # the chance that one KS test of this file fails on correct code


def uniforms(rng, n):
    """n uniforms on (0, 1) (the generator's 0 moved to 2⁻⁵⁴)."""
    u = rng.random(n)
    u[u == 0.0] = 2.0 ** -54
    return u


@njit(cache=True)
def _variates(lam, shape, z, u_gamma, u_boost):
    out = np.empty(z.size)
    for p in range(z.size):
        out[p] = noncentral_chi_square_variate(lam, shape, z[p], u_gamma[p], u_boost[p])[0]
    return out


@njit(cache=True)
def _tabulated_variates(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    out = np.empty(z.size)
    for p in range(z.size):
        out[p] = tabulated_noncentral_chi_square_variate(lam, shape, z[p], u_gamma[p],
                                                         u_boost[p], gamma_table, starts,
                                                         reciprocals)[0]
    return out


def variates(sampler, lam, shape, z, u_gamma, u_boost):
    """χ'²_d(λ) variates by ``sampler``: "direct" (:func:`noncentral_chi_square_variate`, QE's
    first step) or "tabulated" (the exact scheme's)."""
    if sampler == "direct":
        return _variates(lam, shape, z, u_gamma, u_boost)
    return _tabulated_variates(lam, shape, z, u_gamma, u_boost, *exact_tables(shape))


@njit(cache=True)
def _log_gammas(a, u, u_boost):
    out = np.empty(u.size)
    for p in range(u.size):
        out[p] = log_gamma_by_inversion(a, u[p], u_boost[p])
    return out


@njit(cache=True)
def _counts(nu, z, u):
    out = np.empty(u.size, dtype=np.int64)
    for p in range(u.size):
        out[p] = bessel_quantile(nu, z[p], u[p])
    return out


def correlation(scheme, first_step, paths, rng_seed, **bump):
    """Correlation over paths of the asian's payoff on the base chain and on a bumped one
    (``v0``/``kappa`` moved, or ``shift``: every date that much closer), one stream."""
    (group,) = engine.plan_groups(make_frame([ASIAN]), scheme, AUTO_STEPS, first_step)
    assert group.sampled_first == (first_step > 0)
    v0, kappa, theta, xi, rho = group.params
    moved = dataclasses.replace(
        group, params=(bump.get("v0", v0), bump.get("kappa", kappa), theta, xi, rho),
        times=group.times - bump.get("shift", 0.0))
    payoff = _payoff_on(group, 0)
    values = [payoff(group_paths(g, np.random.default_rng(rng_seed), paths).s)
              for g in (group, moved)]
    return np.corrcoef(*values)[0, 1]


@pytest.mark.parametrize("scheme,first_step", [("exact", 0.0), ("qe", 1 / 12)])
@pytest.mark.parametrize("bump", [{"v0": 0.202 ** 2}, {"kappa": 1.515}, {"shift": 1 / 365}])
def test_bumped_chains_keep_common_random_numbers(scheme, first_step, bump):
    """σ0 + 0.002, κ + 1 %, every date a day closer: the asian's payoffs on the base and
    the bumped chain (same stream) have correlation ≥ 0.99 (with samplers that consume a
    varying number of draws from a shared stream: 0.005 under exact and 0.89 with the
    sampled first step at σ0 + 0.002, benchmarks/heston_crn.py)."""
    assert correlation(scheme, first_step, 4_096, seed(1), **bump) >= 0.99


def test_common_random_numbers_where_feller_holds():
    """d = 4κθ/ξ² ≥ 1 takes the other sampler, (Z + √λ)² + χ²_{d−1}: the same property."""
    row = {**ASIAN, "xi": 0.3}  # d = 2.67
    (group,) = engine.plan_groups(make_frame([row]), "exact", AUTO_STEPS, 0.0)
    moved = dataclasses.replace(group, params=(0.202 ** 2, *group.params[1:]))
    payoff = _payoff_on(group, 0)
    values = [payoff(group_paths(g, np.random.default_rng(seed(2)), 4_096).s)
              for g in (group, moved)]
    assert np.corrcoef(*values)[0, 1] >= 0.99


CASES = [(0.0, 0.3), (0.4, 0.2), (5.0, 0.3), (33.0, 0.96), (160.0, 0.7), (3.0, 1.0),
         (160.0, 1.28), (0.0, 2.5), (50.0, 12.0)]


@pytest.mark.parametrize("sampler", ["direct", "tabulated"])
def test_noncentral_chi_square_variates_have_the_exact_law(sampler):
    """Each (λ, d) of CASES (both branches, d < 1 and d ≥ 1, and λ = 0): 20,000 variates
    against scipy's χ'²_d(λ) by Kolmogorov–Smirnov at size KS_SIZE over the file's cases
    and both samplers (Bonferroni), and their mean d + λ within 4 SE."""
    rng = np.random.default_rng(seed(3))
    n = 20_000
    for lam, shape in CASES:
        x = variates(sampler, lam, shape, rng.standard_normal(n), uniforms(rng, n),
                     uniforms(rng, n))
        law = scipy.stats.ncx2(shape, lam) if lam > 0 else scipy.stats.chi2(shape)
        assert scipy.stats.kstest(x, law.cdf).pvalue > KS_SIZE / (2 * len(CASES)), (lam, shape)
        assert_within(x.mean(), shape + lam, math.sqrt(2 * (shape + 2 * lam) / n),
                      label=f"mean at {(lam, shape)}")


@pytest.mark.parametrize("a", [0.02, 0.48, 3.0])
def test_gamma_by_inversion_has_the_gamma_law(a):
    """log G of Gamma(a + 1)·U^{1/a} against scipy's log-gamma law (KS, 20,000 draws)."""
    rng = np.random.default_rng(seed(4))
    n = 20_000
    logs = _log_gammas(a, uniforms(rng, n), uniforms(rng, n))
    assert scipy.stats.kstest(logs, scipy.stats.loggamma(a).cdf).pvalue > KS_SIZE / 3


@pytest.mark.parametrize("mu", [0.01, 0.5, 3.0, 16.5, 80.0, 2000.0])
def test_zero_degree_quantile_inverts_its_distribution_function(mu):
    """F(t) = u for t = zero_dof_quantile(μ, u), F(t) = Σ_n Pois(n; μ) P(n, t) computed
    from scipy (P(0, t) = 1), to 1e-11 absolute; 0 on the atom u ≤ e^{−μ}."""
    n = np.arange(0, int(mu + 40 * math.sqrt(mu) + 60))
    weights = scipy.stats.poisson.pmf(n, mu)
    for u in (1e-9, 0.01, 0.3, 0.5, 0.9, 0.999, 1 - 1e-9):
        t = zero_dof_quantile(mu, u)
        if u <= math.exp(-mu):
            assert t == 0.0
            continue
        cdf = np.sum(weights * np.where(n > 0, scipy.special.gammainc(np.maximum(n, 1), t), 1.0))
        assert abs(cdf - u) <= 1e-11, (mu, u, t)


def test_zero_degree_quantile_is_smooth_in_its_mean():
    """At fixed u the quantile moves smoothly with μ: second differences over a step of
    1e-3 are of the order of the step squared (no jumps from iteration counts)."""
    for u in (0.2, 0.5, 0.95):
        mus = 16.5 + 1e-3 * np.arange(-2, 3)
        t = np.array([zero_dof_quantile(m, u) for m in mus])
        assert np.all(np.diff(t) > 0)
        assert np.max(np.abs(np.diff(t, 2))) <= 1e-5


LEVELS = np.array([2.0 ** -54, 1e-15, 1e-9, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99,
                   1 - 1e-4, 1 - 1e-9, 1 - 2.0 ** -40, 1 - 2.0 ** -53])


@pytest.mark.parametrize("a", [1.01, 1.24, 1.48, 2.0, 6.5, 40.0])
def test_tabulated_gamma_quantile_matches_scipy(a):
    """exp(tabulated_log_gamma_quantile) is the Gamma(a) quantile of scipy (gamma.ppf below
    the median, gamma.isf(1 − u) above, where 1 − u is exact) to 2e-10 relative, at the
    levels LEVELS (both tails to the uniforms' limits) and 2,000 random levels between the
    table's nodes: the Hermite interpolant's error, bounded by GAMMA_STEP⁴/384·max|y⁗|."""
    table = gamma_log_quantile_table(a)
    u = np.concatenate([LEVELS, np.random.default_rng(seed(7)).random(2_000)])
    u[u == 0.0] = 2.0 ** -54
    x = np.exp([tabulated_log_gamma_quantile(table, level) for level in u])
    law = scipy.stats.gamma(a)
    reference = np.where(u < 0.5, law.ppf(u), law.isf(1.0 - u))
    np.testing.assert_allclose(x, reference, rtol=2e-10, atol=0.0)


@pytest.mark.parametrize("mu", [0.003, 0.4, 3.0, 16.5, 80.0, 390.0, 2000.0])
def test_tabulated_zero_degree_quantile_inverts_its_distribution_function(mu):
    """The exact scheme's zero-degree quantile (tabulated start, one Halley step) at LEVELS
    up to 1 − 2⁻⁴⁰ (its sampler's cap) and 200 random levels: F(t) = u to 1e-11 absolute,
    F(t) = Σ_n Pois(n; μ) P(n, t) from scipy (P(0, t) = 1), and 0 on the atom u ≤ e^{−μ}."""
    _, starts, reciprocals = exact_tables(0.96)
    n = np.arange(0, int(mu + 40 * math.sqrt(mu) + 60))
    weights = scipy.stats.poisson.pmf(n, mu)
    levels = np.concatenate([LEVELS[:-1], np.random.default_rng(seed(8)).random(200)])
    for u in levels:
        t = tabulated_zero_dof_quantile(mu, u, starts, reciprocals)
        if u <= math.exp(-mu):
            assert t == 0.0
            continue
        cdf = np.sum(weights * np.where(n > 0, scipy.special.gammainc(np.maximum(n, 1), t), 1.0))
        assert abs(cdf - u) <= 1e-11, (mu, u, t)


def test_tabulated_variates_are_smooth_in_the_parameters():
    """At fixed draws the exact scheme's variate moves smoothly with λ (across the start
    table's nodes, √λ/2 = 2.875 ... 2.875 + 0.005) and d: second differences over steps of
    1e-3 are of the order of the step squared, and the variates are within 2e-10 relative of
    the direct sampler's (the gamma table's error)."""
    rng = np.random.default_rng(seed(9))
    z, u_gamma, u_boost = rng.standard_normal(50), uniforms(rng, 50), uniforms(rng, 50)
    for shape, lam in [(0.96, 33.0), (2.7, 12.0)]:
        steps = 1e-3 * np.arange(-2, 3)
        along = np.array([variates("tabulated", lam + h, shape, z, u_gamma, u_boost)
                          for h in steps])
        across = np.array([variates("tabulated", lam, shape + h, z, u_gamma, u_boost)
                           for h in steps])
        for values in (along, across):
            assert np.max(np.abs(np.diff(values, 2, axis=0))) <= 1e-4
        direct = variates("direct", lam, shape, z, u_gamma, u_boost)
        np.testing.assert_allclose(along[2], direct, rtol=2e-10)


@pytest.mark.parametrize("nu,z", [(-0.52, 0.3), (-0.8, 3.0), (0.3, 160.0), (2.0, 20.0)])
def test_bessel_count_is_the_inverse_of_its_distribution(nu, z):
    """bessel_quantile(ν, z, u) is the least n with P(N ≤ n) ≥ u under the Bessel law
    P(N = n) = (z/2)^{2n+ν}/(I_ν(z) n! Γ(n + ν + 1)) (scipy's ive), on 200 uniforms."""
    n = np.arange(0, 2_000)
    log_pmf = ((2 * n + nu) * np.log(z / 2) - scipy.special.gammaln(n + 1)
               - scipy.special.gammaln(n + nu + 1) - np.log(scipy.special.ive(nu, z)) - z)
    cdf = np.cumsum(np.exp(log_pmf))
    u = np.random.default_rng(seed(5)).random(200)
    np.testing.assert_array_equal(_counts(nu, np.full(200, z), u), np.searchsorted(cdf, u))


@pytest.mark.parametrize("lam,shape", [(33.0, 0.96), (4.0, 2.5)])
def test_count_given_the_variate_restores_the_poisson_mixture(lam, shape):
    """N drawn from the Bessel law given x ~ χ'²_d(λ) (how the exact scheme's scores get
    their Poisson counts) is Poisson(λ/2): its mean and variance λ/2 within 4 SE; and the
    pair has the mixture's dependence, E[N x] = E[N(d + 2N)] (given N, x ~ χ²_{d+2N})."""
    rng = np.random.default_rng(seed(6))
    n = 40_000
    x = variates("tabulated", lam, shape, rng.standard_normal(n), uniforms(rng, n),
                 uniforms(rng, n))
    counts = _counts(0.5 * shape - 1.0, np.sqrt(lam * x), uniforms(rng, n)).astype(float)
    mean = 0.5 * lam
    assert_within(counts.mean(), mean, math.sqrt(mean / n), label="mean")
    # Var of the sample variance of a Poisson(m): (m + 2m²)/n
    assert_within(counts.var(), mean, math.sqrt((mean + 2 * mean * mean) / n), label="variance")
    joint = counts * x
    exact = shape * mean + 2 * (mean + mean * mean)  # E[N(d + 2N)]
    assert_within(joint.mean(), exact, joint.std() / math.sqrt(n), label="E[N x]")
