"""Knock-out barriers under GBM by one-step survival conditioning (Glasserman & Staum 2001).

A discretely monitored knock-out pays g(S_T) = max(ω(S_T − K), 0) if S stays below an up
barrier B (above a down barrier) at every monitoring date t_1 < ... < t_n = T.  Between
dates the log-price moves by a Gaussian step: log S_i = m_i + s_i ζ, ζ ~ N(0, 1), with
m_i = log S_{i−1} + μ_i.  Flat rows have μ_i = (r − q − σ²/2)Δ_i and s_i = σ sqrt(Δ_i);
rows off a market without cash dividends (:mod:`greeks.models.gbm.dated`) have
μ_i = Δlog G_i − Δw_i/2 and s_i = sqrt(Δw_i), G the growth (curves and proportional
dividends) and w the vol curve's total variance.  Instead of killing paths, every step is
drawn conditionally on surviving it: with b_i = (log B − m_i)/s_i and ε = +1 for an up
barrier (−1 for a down barrier), the step survives with probability p_i = Φ(ε b_i), and

    log S_i = m_i + s_i z_i,   z_i = ε Φ^{−1}(U_i p_i),   U_i ~ U(0, 1),

is the normal step conditioned on survival.  The estimator

    Y = DF(T) Π_i p_i · g(S_T)

is unbiased for the price (the product of survival probabilities is the likelihood ratio
of the unconditioned to the conditioned chain), has no indicator, and is a Lipschitz
function of S0 and of the vol parameter θ (σ flat; off a market the parallel shift of the
vol curve, ∂w/∂θ the market's ``shift``) for fixed uniforms: its pathwise derivatives are
unbiased for delta and vega,

    ∂Y/∂θ = Y Σ_i ∂p_i/∂θ / p_i + DF(T) Π_i p_i · ω 1{ω(S_T − K) > 0} S_T ∂log S_T/∂θ,

with ∂p_i = ε φ(b_i) ∂b_i, ∂b_i = (−∂m_i − b_i ∂s_i)/s_i, ∂z_i = ε U_i ∂p_i / φ(z_i) and
∂log S_i = ∂m_i + ∂s_i z_i + s_i ∂z_i carried forward step by step from ∂log S_0/∂S0 = 1/S0,
∂log S_0/∂θ = 0 (∂m_i = ∂log S_{i−1} + ∂μ_i).  The steps enter only through the per-step
μ_i, s_i, ∂μ_i/∂θ, ∂s_i/∂θ (:func:`flat_steps`, :func:`dated_steps`): flat −σΔ_i and
sqrt(Δ_i), off a market −Δw'_i/2 and Δw'_i/(2 s_i) (w' = ∂w/∂θ).  For any path functional
m, E_q[Y m] = E[f m] (q the conditioned chain, f the knock-out payoff), so the
likelihood-ratio multipliers of the further Greeks (:mod:`greeks.sensitivities`; off a
market gamma's, :func:`greeks.models.gbm.dated.gamma_weights`) apply on these paths with Y
in place of f, evaluated on the path's Brownian motion W(t_i) = Σ_{k ≤ i} r_k z_k
(r_k = sqrt(Δ_k) flat, sqrt(Δw_k) on the variance clock off a market).  The control
variates of :mod:`greeks.estimators` do not: their means under the conditioned chain are
unknown.  Antithetic pairs use U and 1 − U.

Cash dividends (rows off a market).  The chain's dates are then the row's monitoring dates
and the cash ex-dates up to its expiry; at an ex-date the step above gives the pre-drop
log-price y_i = m_i + s_i z_i and the price drops by the amount D_i, floored at 0
(:mod:`greeks.models.gbm.dated`, the package's rule for a drop larger than the price),

    S_i = max(e^{y_i} − D_i, 0),   log S_i = log(e^{y_i} − D_i) while e^{y_i} > D_i,

from which the next step starts (m_{i+1} = log S_i + μ_{i+1}).  A monitoring date on an
ex-date watches the price after the drop, as the payoffs on the unconditioned paths do
(:func:`greeks.payoffs.evaluate` on :func:`greeks.models.gbm.dated.simulate_dated`'s
prices): S_i < B ⇔ y_i < log(B + D_i) for an up barrier and S_i > B ⇔ y_i > log(B + D_i)
for a down one, so the step is conditioned as above with b_i = (log(B + D_i) − m_i)/s_i.
An ex-date that is no monitoring date has p_i = 1 and the unconditioned z_i = Φ^{−1}(U_i).
Y = DF(T) Π p_i g(S_T) is again the likelihood ratio of the unconditioned to the
conditioned chain times the payoff: given the past each monitored step's pre-drop
log-price is N(m_i, s_i²) restricted to the surviving side, of probability p_i, and the
drop is a fixed map of it, so E_q[Y] = E[f], f the knock-out's discounted payoff on the
dated chain.  For fixed uniforms Y is continuous in S0 and θ, the drop included (a price
taken to 0 by it leaves the later p_i → 1 under an up barrier, → 0 under a down one, as
it approaches 0) and Lipschitz, so its pathwise derivatives stay unbiased; the chain rule
carries them through the drop, ∂(e^y − D) = e^y ∂y, i.e.

    ∂log S_i = ∂y_i · e^{y_i}/(e^{y_i} − D_i),

with ∂b_i = (−∂m_i − b_i ∂s_i)/s_i as before (log(B + D_i) moves with neither S0 nor θ).
A price that a drop takes to 0 stays at 0: under a down barrier the path cannot survive
its next monitoring date (the expiry at the latest), Y = 0; under an up barrier every later
p_i = 1, log S = −∞ and its derivatives 0 (g(0) = max(−ωK, 0): a put pays K).  A price
left below ``RUIN`` times its pre-drop value counts as 0 (the ratio above would overflow;
the paths concerned have a probability of that order).  Gamma's multiplier reads W on the
row's first score date (its first date, or the first ex-date before it), as off a market
without cash dividends: W is the sum of the z_k scaled by sqrt(Δw_k), the standardised
log-returns from each post-drop price to the next pre-drop one, the same function of the
path on both chains.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks.estimators import add_to_totals
from greeks.maths import (
    QUANTILE_TAIL,
    normal_cdf,
    normal_pdf,
    normal_quantile,
    normal_quantile_central,
)
from greeks.pcg64 import fill_uniforms
from greeks.vector_math import normal_cdfs, normal_pdfs

TINY = 1e-300
QUANTILE_EDGE = 2.0 ** -53  # an unconditioned step's U at most 1 − this (1 − U may be 1)
RUIN = 1e-200  # a price left below this fraction of its pre-drop value by a cash drop: 0
BLOCK = 64  # paths advanced together, date by date
# rows of a steps array (:func:`flat_steps`, :func:`dated_steps`), one column per date: the
# step's mean, deviation, their vol derivatives, the Brownian scale, the cash dropped after
# it (0: none) and whether the date is monitored (1.0) or only an ex-date (0.0)
MEAN, SD, MEAN_V, SD_V, ROOT, CASH, WATCHED = range(7)


@njit(cache=True, nogil=True, error_model="numpy")
def flat_steps(times, carry, sigma):
    """The steps of a flat row on the dates ``times``: μ_i = (carry − σ²/2)Δ_i,
    s_i = σ sqrt(Δ_i), ∂μ_i/∂σ = −σΔ_i, ∂s_i/∂σ = sqrt(Δ_i) and the Brownian increment's
    scale sqrt(Δ_i) (rows ``MEAN``, ``SD``, ``MEAN_V``, ``SD_V``, ``ROOT``), every date
    monitored and no cash (``CASH``, ``WATCHED``)."""
    steps = np.empty((7, times.size))
    previous = 0.0
    for i in range(times.size):
        dt = times[i] - previous
        previous = times[i]
        root = math.sqrt(dt)
        steps[MEAN, i] = (carry - 0.5 * sigma * sigma) * dt
        steps[SD, i] = sigma * root
        steps[MEAN_V, i] = -(sigma * dt)
        steps[SD_V, i] = root
        steps[ROOT, i] = root
        steps[CASH, i] = 0.0
        steps[WATCHED, i] = 1.0
    return steps


def dated_steps(clock, log_growth, shift, cash, watched):
    """The steps of a row off a market on its grid (its dates and the cash ex-dates up to
    its expiry): the variance clock w(t_i) in ``clock``, Δlog G_i in ``log_growth``,
    ∂w(t_i)/∂θ of the parallel vol shift in ``shift``: μ_i = Δlog G_i − Δw_i/2,
    s_i = sqrt(Δw_i), ∂μ_i/∂θ = −Δw'_i/2, ∂s_i/∂θ = Δw'_i/(2 s_i), the variance clock's
    Brownian increment scale s_i, the cash dropped at each point (``cash``) and whether it
    is a monitoring date (``watched``)."""
    variance = np.diff(clock, prepend=0.0)
    moved = np.diff(shift, prepend=0.0)
    sd = np.sqrt(variance)
    return np.stack([log_growth - 0.5 * variance, sd, -0.5 * moved, 0.5 * moved / sd, sd,
                     cash, np.asarray(watched, dtype=float)])


@njit(cache=True, nogil=True, error_model="numpy")
def simulate(rng, n_paths, times, log_spot, carry, sigma, up, barrier, antithetic, w, x,
             weight, derivatives):
    """Survival-conditioned paths of a flat row on the monitoring dates ``times``
    (:func:`simulate_steps` on :func:`flat_steps`)."""
    simulate_steps(rng, n_paths, flat_steps(times, carry, sigma), log_spot, up, barrier,
                   antithetic, w, x, weight, derivatives)


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_steps(rng, n_paths, steps, log_spot, up, barrier, antithetic, w, x, weight,
                   derivatives):
    """Survival-conditioned paths on the monitoring dates of ``steps`` (one column per date:
    :func:`flat_steps`, :func:`dated_steps`).

    Fills ``w[p, i]`` = W(t_i), ``x[p, i]`` = log S(t_i), ``weight[p]`` = Π p_i (0 once a
    step cannot survive) and ``derivatives[p]`` = (∂ log Π p/∂S0,
    ∂ log Π p/∂θ, ∂ log S_T/∂S0, ∂ log S_T/∂θ).  With ``antithetic``, path p + n/2 uses
    1 − U where path p uses U.  The paths go in blocks of ``BLOCK`` (:func:`_block`).
    """
    half = n_paths // 2 if antithetic else n_paths
    uniforms = np.empty((half, steps.shape[1]))
    fill_uniforms(rng, uniforms.reshape(uniforms.size))
    for start in range(0, n_paths, BLOCK):
        _block(uniforms, half, start, min(BLOCK, n_paths - start), steps, log_spot,
               1.0 if up else -1.0, math.log(barrier), w, x, weight, derivatives)


@njit(cache=True, nogil=True, error_model="numpy")
def _block(uniforms, half, start, size, steps, log_spot, eps, log_barrier, w, x, weight,
           derivatives):
    """Paths ``start`` to ``start + size − 1`` of :func:`simulate_steps`, date by date.

    Each path's arithmetic is the one-path recursion of the module docstring, operation for
    operation; the paths of a block are independent, so at each date their steps go in
    passes over the block (the barrier's coordinate, then Φ and φ, then the quantile, then
    the state), which the processor overlaps and the compiler vectorises where no library
    call is made: Φ and φ are :mod:`greeks.vector_math`'s passes.  A path that cannot
    survive a step keeps its state from then on.  Dates with a cash drop or without
    monitoring, and every date once a drop has taken a path of the block to 0, go path by
    path (:func:`_dropped_step`).
    """
    spot = math.exp(log_spot)
    level, x_p = np.zeros(size), np.full(size, log_spot)
    dx_s, dx_v = np.full(size, 1.0 / spot), np.zeros(size)
    product, dlw_s, dlw_v = np.ones(size), np.zeros(size), np.zeros(size)
    alive = np.ones(size, dtype=np.bool_)
    ruined = np.zeros(size, dtype=np.bool_)
    any_ruined = False
    m, b, u, survive, density_b = (np.empty(size), np.empty(size), np.empty(size),
                                   np.empty(size), np.empty(size))
    given, z, density_z = np.empty(size), np.empty(size), np.empty(size)
    side, powers = np.empty(size), np.empty((2, size), dtype=np.int64)
    for i in range(steps.shape[1]):
        drift, sd, drift_v, sd_v, root = (steps[MEAN, i], steps[SD, i], steps[MEAN_V, i],
                                          steps[SD_V, i], steps[ROOT, i])
        cash, watched = steps[CASH, i], steps[WATCHED, i] > 0.0
        if cash > 0.0 or not watched or any_ruined:
            any_ruined = _dropped_step(uniforms, half, start, size, i, steps[:, i], eps,
                                       log_barrier, level, x_p, dx_s, dx_v, product, dlw_s,
                                       dlw_v, alive, ruined)
            for k in range(size):
                w[start + k, i] = level[k]
                x[start + k, i] = x_p[k]
            continue
        for k in range(size):
            p = start + k
            mirror = p >= half
            source = p - half if mirror else p
            u[k] = 1.0 - uniforms[source, i] if mirror else uniforms[source, i]
            m[k] = x_p[k] + drift
            b[k] = (log_barrier - m[k]) / sd
            side[k] = eps * b[k]
        normal_cdfs(side, survive, powers)
        normal_pdfs(b, density_b, powers)
        for k in range(size):
            given[k] = max(u[k] * survive[k], TINY)
            z[k] = normal_quantile_central(given[k])
        for k in range(size):
            if given[k] < QUANTILE_TAIL or given[k] > 1.0 - QUANTILE_TAIL:
                z[k] = normal_quantile(given[k])
            z[k] = eps * z[k]
        normal_pdfs(z, density_z, powers)
        for k in range(size):
            dm_s, dm_v = dx_s[k], dx_v[k] + drift_v
            db_s, db_v = -dm_s / sd, (-dm_v - b[k] * sd_v) / sd
            dp_s, dp_v = eps * density_b[k] * db_s, eps * density_b[k] * db_v
            scale = eps * u[k] / density_z[k] if density_z[k] > 0.0 else 0.0
            if survive[k] <= TINY or not alive[k]:
                alive[k] = False
            else:
                x_p[k] = m[k] + sd * z[k]
                dx_s[k] = dm_s + sd * scale * dp_s
                dx_v[k] = dm_v + sd_v * z[k] + sd * scale * dp_v
                product[k] *= survive[k]
                dlw_s[k] += dp_s / survive[k]
                dlw_v[k] += dp_v / survive[k]
                level[k] += root * z[k]
        for k in range(size):
            w[start + k, i] = level[k]
            x[start + k, i] = x_p[k]
    for k in range(size):
        weight[start + k] = product[k] if alive[k] else 0.0
        derivatives[start + k, 0] = dlw_s[k]
        derivatives[start + k, 1] = dlw_v[k]
        derivatives[start + k, 2] = dx_s[k]
        derivatives[start + k, 3] = dx_v[k]


@njit(cache=True, nogil=True, error_model="numpy")
def _dropped_step(uniforms, half, start, size, i, step, eps, log_barrier, level, x_p, dx_s,
                  dx_v, product, dlw_s, dlw_v, alive, ruined):
    """Date i of :func:`_block` for paths ``start`` to ``start + size − 1``, path by path:
    the pre-drop step y = m + s z, conditioned on the price after the drop surviving where
    the date is monitored (the barrier log(B + D) on y), unconditioned where it is only an
    ex-date; then the drop log S = log(e^y − D) and its derivatives e^y/(e^y − D) ∂y, or
    the price at 0 (module docstring).  Returns whether a path of the block is at 0."""
    drift, sd, drift_v, sd_v, root = step[MEAN], step[SD], step[MEAN_V], step[SD_V], step[ROOT]
    cash, watched = step[CASH], step[WATCHED] > 0.0
    log_level = math.log(math.exp(log_barrier) + cash) if cash > 0.0 else log_barrier
    any_ruined = False
    for k in range(size):
        p = start + k
        u = 1.0 - uniforms[p - half, i] if p >= half else uniforms[p, i]
        if not alive[k]:
            continue
        if ruined[k]:  # S = 0: survives an up barrier surely, its step unconditioned
            level[k] += root * normal_quantile(min(max(u, TINY), 1.0 - QUANTILE_EDGE))
            any_ruined = True
            continue
        m = x_p[k] + drift
        dm_s, dm_v = dx_s[k], dx_v[k] + drift_v
        if watched:
            b = (log_level - m) / sd
            survive = normal_cdf(eps * b)
            if survive <= TINY:
                alive[k] = False
                continue
            density_b = normal_pdf(b)
            z = eps * normal_quantile(max(u * survive, TINY))
            density_z = normal_pdf(z)
            dp_s = eps * density_b * (-dm_s / sd)
            dp_v = eps * density_b * ((-dm_v - b * sd_v) / sd)
            scale = eps * u / density_z if density_z > 0.0 else 0.0
            dy_s = dm_s + sd * scale * dp_s
            dy_v = dm_v + sd_v * z + sd * scale * dp_v
            product[k] *= survive
            dlw_s[k] += dp_s / survive
            dlw_v[k] += dp_v / survive
        else:
            z = normal_quantile(min(max(u, TINY), 1.0 - QUANTILE_EDGE))
            dy_s, dy_v = dm_s, dm_v + sd_v * z
        y = m + sd * z
        level[k] += root * z
        if cash <= 0.0:
            x_p[k], dx_s[k], dx_v[k] = y, dy_s, dy_v
            continue
        before = math.exp(y)
        rest = before - cash
        if rest > RUIN * before:
            ratio = before / rest
            x_p[k], dx_s[k], dx_v[k] = math.log(rest), dy_s * ratio, dy_v * ratio
        elif eps > 0.0:
            ruined[k] = True
            any_ruined = True
            x_p[k], dx_s[k], dx_v[k] = -math.inf, 0.0, 0.0
        else:
            alive[k] = False
    return any_ruined


@njit(cache=True, nogil=True, error_model="numpy")
def values(x, weight, derivatives, omega, strike, discount, payoff, delta, vega):
    """Per path: Y = DF(T) Π p_i g(S_T) (``discount`` = DF(T)) and its pathwise ∂/∂S0,
    ∂/∂θ."""
    last = x.shape[1] - 1
    for p in range(x.shape[0]):
        s_t = math.exp(x[p, last])
        intrinsic = omega * (s_t - strike)
        y = discount * weight[p] * intrinsic if intrinsic > 0.0 else 0.0
        slope = discount * weight[p] * omega * s_t if intrinsic > 0.0 else 0.0
        payoff[p] = y
        delta[p] = y * derivatives[p, 0] + slope * derivatives[p, 2]
        vega[p] = y * derivatives[p, 1] + slope * derivatives[p, 3]


@njit(cache=True, nogil=True, error_model="numpy")
def add_row_to_totals(payoff, delta, vega, n_units, antithetic, weight, slot, totals):
    """Add a row's per-unit values (pairs (p, p + n_units) averaged with ``antithetic``),
    times its ``weight`` per Greek, to the group total ``totals[0]`` and to its subtotal
    ``totals[slot]`` (slot 0: in none)."""
    for u in range(n_units):
        f, d, v = payoff[u], delta[u], vega[u]
        if antithetic:
            f = 0.5 * (f + payoff[u + n_units])
            d = 0.5 * (d + delta[u + n_units])
            v = 0.5 * (v + vega[u + n_units])
        add_to_totals(totals, u, slot, weight, f, d, v)

