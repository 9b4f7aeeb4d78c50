"""Further Greeks from the same paths: gamma, rho, theta, vanna, volga.

Each is E[f · m] for a payoff-independent multiplier m of the path (the likelihood-ratio
identity, applied twice for the second derivatives: ∂²E[f]/∂a∂b = E[f (∂_a ℓ ∂_b ℓ +
∂_a∂_b ℓ)], ℓ the log-density of the row's observations), plus the derivative of the
discount factor e^{−rT} where the parameter moves it.  Under GBM, with Z_i the Brownian
increment between the row's dates i − 1 and i over sqrt(Δ_i), W = Σ_i Z_i sqrt(Δ_i) the
Brownian motion at the last date, μ = r − q − σ²/2, and w_Δ, w_σ the delta and vega
weights of :mod:`greeks.models.gbm`:

    gamma  ∂²V/∂S0²   m = (Z_1² − 1)/(S0² σ² Δ_1) − Z_1/(S0² σ sqrt(Δ_1))
    vanna  ∂²V/∂S0∂σ  m = w_Δ w_σ + 1/(σ S0) − 2 Z_1/(σ² sqrt(Δ_1) S0)
    volga  ∂²V/∂σ²    m = w_σ² + Σ_i [(1 − 3 Z_i²)/σ² + 3 Z_i sqrt(Δ_i)/σ − Δ_i]
    rho    ∂V/∂r      m = W/σ − T                       (drift of every step; discount)
    theta  dV/dt      m = r − (Z_1² − 1)/(2Δ_1) − Z_1 μ/(σ sqrt(Δ_1))

Theta is the rate of change of the value as calendar time passes, per year, with the
row's dates fixed in calendar time (no fixing passes): only the first interval Δ_1 and
the discount shorten.  ``theta_per_day`` = theta/365.

Under Heston (σ = σ0 = sqrt(v0)), given the variance path the log-price at the row's
dates is Gaussian (:mod:`greeks.models.heston`); with R_i and V_i the residual and the
conditional variance accumulated between the row's dates i − 1 and i,

    gamma  m = (R_1²/V_1 − R_1 − 1)/(S0² V_1).

Rho would need Σ_i R_i Δ_i/V_i (r enters every mean through (r − q)Δ_i), and
Σ_i R_i Δ_i/V_i, and V_i can be exactly 0 on an interval where the variance stays at 0
(QE, Euler): the chain's increment there is deterministic and the weight does not
exist; theta, vanna and volga would need the variance chain's second derivatives and its
grid-dependent first step.  The engine therefore estimates gamma only under Heston, and
:mod:`greeks.models.heston.sensitivities` gives rho, theta, vanna, volga and the model-parameter
sensitivities by central differences on common random numbers.

Each Greek k gets the controls c_1 = m_k and c_2 = L·m_k, whose means are known: the
Greek of the payoffs 1·e^{rT}e^{−rT} (E[m_k]: −T for rho, r for theta, else 0) and of the
linear payoff L of :mod:`greeks.estimators` (0 for gamma, vanna and volga; for rho
∂E[L]/∂r, for theta q·E[L]).  Their coefficients come from the pilot, as for
price, delta and vega; with antithetic pairs, averages over pairs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks.models.gbm.scores import path_scores as gbm_path_scores
from greeks.models.gbm.scores import score_setup
from greeks.stats import accumulate, finish, moments

NAMES = ("gamma", "rho", "theta", "vanna", "volga")
GAMMA, RHO, THETA, VANNA, VOLGA = range(5)
N_SUMS = 8  # per Greek: Σc1, Σc2, Σy, Σc1², Σc1c2, Σc2², Σyc1, Σyc2 (c centred on μ)


@njit(cache=True, nogil=True)
def gbm_multipliers(w, times, dates, spot, sigma, rate, dividend, maturity, greeks, out):
    """``out[g, p]`` = m of Greek ``greeks[g]`` on path p (module docstring)."""
    drift = rate - dividend - 0.5 * sigma * sigma
    first = times[dates[0]]
    root_first = np.sqrt(first)
    inverse_dt, delta_scale = score_setup(times, dates, spot, sigma)
    for p in range(w.shape[0]):
        w_delta, w_vega = gbm_path_scores(p, (w, dates, inverse_dt, delta_scale, sigma))
        z1 = w[p, dates[0]] / root_first
        level = 0.0
        volga_sum = 0.0
        for i in range(dates.size):
            step = w[p, dates[i]] - level
            root_dt = 1.0 / np.sqrt(inverse_dt[i])
            z = step / root_dt
            volga_sum += (1.0 - 3.0 * z * z) / (sigma * sigma) + 3.0 * z * root_dt / sigma \
                - root_dt * root_dt
            level = w[p, dates[i]]
        for g in range(greeks.size):
            code = greeks[g]
            if code == GAMMA:
                value = ((z1 * z1 - 1.0) / (sigma * sigma * first)
                         - z1 / (sigma * root_first)) / (spot * spot)
            elif code == VANNA:
                value = w_delta * w_vega + 1.0 / (sigma * spot) \
                    - 2.0 * z1 / (sigma * sigma * root_first * spot)
            elif code == VOLGA:
                value = w_vega * w_vega + volga_sum
            elif code == RHO:
                value = level / sigma - maturity
            else:  # THETA
                value = rate - (z1 * z1 - 1.0) / (2.0 * first) - z1 * drift / (sigma * root_first)
            out[g, p] = value


@njit(cache=True, nogil=True, error_model="numpy")
def heston_multipliers(residual, variance, columns, spot, out):
    """``out[0, p]`` = the gamma multiplier of path p under Heston; ``residual`` and
    ``variance`` hold R and V accumulated from 0, at ``columns[0]`` for the row's first
    date."""
    for p in range(residual.shape[0]):
        r1 = residual[p, columns[0]]
        v1 = variance[p, columns[0]]
        out[0, p] = (r1 * r1 / v1 - r1 - 1.0) / (spot * spot * v1)


@njit(cache=True, nogil=True)
def row_estimates(payoff, linear, multipliers, n_units, antithetic, means, coef, weight, slot,
                  add_totals, collect, totals, out, sums):
    """Moments (or, with ``collect``, pilot sums) of y_g − β_g1 (c_1 − μ_1) − β_g2 (c_2 − μ_2),
    y_g = f m_g, c_1 = m_g, c_2 = L m_g, over paths or antithetic pairs.

    ``means[g]`` = (μ_1, μ_2), ``coef[g]`` = (β_1, β_2); ``out[g]`` receives (mean, M2);
    ``totals[t, g]`` the weighted per-unit values of the group total (t = 0) and of
    subtotal ``slot``; ``sums[g]`` the pilot sums (layout of ``N_SUMS``).
    """
    n_greeks = multipliers.shape[0]
    half = n_units if antithetic else 0
    for g in range(n_greeks):
        m1, m2, b1, b2 = means[g, 0], means[g, 1], coef[g, 0], coef[g, 1]
        shift = total = squares = 0.0
        for u in range(n_units):
            y = c1 = c2 = 0.0
            for member in range(2 if antithetic else 1):
                p = u + member * half
                m = multipliers[g, p]
                y += payoff[p] * m
                c1 += m
                c2 += linear[p] * m
            if antithetic:
                y, c1, c2 = 0.5 * y, 0.5 * c1, 0.5 * c2
            c1 -= m1
            c2 -= m2
            if collect:
                s = sums[g]
                s[0] += c1
                s[1] += c2
                s[2] += y
                s[3] += c1 * c1
                s[4] += c1 * c2
                s[5] += c2 * c2
                s[6] += y * c1
                s[7] += y * c2
                continue
            e = y - b1 * c1 - b2 * c2
            if u == 0:
                shift = e
            total, squares = accumulate(e, shift, total, squares)
            if add_totals:
                totals[0, g, u] += weight * e
                if slot > 0:
                    totals[slot, g, u] += weight * e
        if not collect:
            finish(shift, total, squares, n_units, out[g])


@njit(cache=True, nogil=True)
def group_totals(totals, weight, total_of, out):
    """(mean, M2) of the group total and subtotals of every Greek into ``out[rows:]``, as
    :func:`greeks.estimators.group_total` (``weight`` per row)."""
    n_rows = weight.size
    if n_rows > 1:
        for t in range(totals.shape[0]):
            for g in range(totals.shape[1]):
                moments(totals[t, g], out[n_rows + t, g])
        return
    for t in (0, total_of[0]):
        for g in range(out.shape[1]):
            out[1 + t, g, 0] = weight[0] * out[0, g, 0]
            out[1 + t, g, 1] = weight[0] * weight[0] * out[0, g, 1]


def control_means(greeks: np.ndarray, rate: float, dividend: float, maturity: float,
                  forward: float, growth_times: np.ndarray) -> np.ndarray:
    """(μ_1, μ_2) per Greek for one row: E[m] and the Greek of L (module docstring).

    ``forward`` = E[L]; ``growth_times`` the row's dates (the asian's averaging dates, or
    just T), for ∂E[L]/∂r = E[L]·(Σ t_i e^{(r−q)t_i}/Σ e^{(r−q)t_i} − T)."""
    out = np.zeros((greeks.size, 2))
    for g, code in enumerate(greeks):
        if code == RHO:
            growth = np.exp((rate - dividend) * growth_times)
            out[g] = (-maturity, forward * ((growth_times * growth).sum() / growth.sum()
                                            - maturity))
        elif code == THETA:
            out[g] = (rate, dividend * forward)
    return out


def coefficients(sums: np.ndarray, count: int) -> np.ndarray:
    """(β_1, β_2) per row and Greek (rows, G, 2) from the pilot sums (rows, G, N_SUMS)."""
    from greeks.estimators import regression

    mean = sums / count
    c = mean[..., :2]
    y = mean[..., 2]
    cov = np.empty(sums.shape[:-1] + (2, 2))
    cov[..., 0, 0] = mean[..., 3] - c[..., 0] ** 2
    cov[..., 0, 1] = cov[..., 1, 0] = mean[..., 4] - c[..., 0] * c[..., 1]
    cov[..., 1, 1] = mean[..., 5] - c[..., 1] ** 2
    cross = mean[..., 6:8] - y[..., None] * c
    return regression(cov, cross, np.ones(c.shape, dtype=bool), mean[..., [3, 5]])
