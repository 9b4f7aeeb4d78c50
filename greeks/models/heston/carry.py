"""Carry sensitivities of Heston rows priced off a market, pathwise or by likelihood ratio
(:class:`greeks.market.factors.CarryFactors`)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def carry_pathwise(s, columns, asian, omega, strike, discount, beta, out):
    """``out[k, p]`` = DF f'(X) ∂X/∂θ_k on path p for a european (X = S(T), the last of
    ``columns``) or asian (X the average over ``columns``) payoff max(ω(X − K), 0):
    f'(X) = ω 1{ω(X − K) > 0}, ∂X/∂θ_k = S(T) β_k(T) or the average of S(t_i) β_k(t_i)
    (``beta``: factors × the row's dates; a european reads its last column)."""
    n, factors = columns.size, beta.shape[0]
    for p in range(s.shape[0]):
        if asian:
            level = 0.0
            for i in range(n):
                level += s[p, columns[i]]
            level /= n
        else:
            level = s[p, columns[n - 1]]
        live = omega * (level - strike) > 0.0
        for k in range(factors):
            if not live:
                out[k, p] = 0.0
                continue
            slope = 0.0
            if asian:
                for i in range(n):
                    slope += s[p, columns[i]] * beta[k, i]
                slope /= n
            else:
                slope = s[p, columns[n - 1]] * beta[k, beta.shape[1] - 1]
            out[k, p] = discount * omega * slope


@njit(cache=True, nogil=True)
def carry_scores(residual, variance, columns, beta, out):
    """``out[k, p]`` = the likelihood-ratio score of path p's prices at the row's dates
    ``columns`` for a factor θ_k that moves log S(t_i) by β_k(t_i) (``beta``: factors × the
    row's dates), for payoffs without a pathwise derivative (digitals, barriers).

    Given the variance path the chain's log-prices have independent Gaussian increments,
    residual R and variance V accumulated from 0 (``residual``, ``variance``: paths × stored
    dates); the carry moves only their means (S = X G on the zero-carry chain X) and not the
    variance path's law, so

        ∂ log p/∂θ_k = Σ_i (β_k(t_i) − β_k(t_{i−1})) (R_i − R_{i−1}) / (V_i − V_{i−1}),

    t_0 = 0, β_k(0) = R_0 = V_0 = 0: E[f ∂ log p/∂θ_k] = ∂E[f]/∂θ_k for any payoff f of the
    prices at those dates."""
    n, factors = columns.size, beta.shape[0]
    for p in range(residual.shape[0]):
        for k in range(factors):
            score, r, v, b = 0.0, 0.0, 0.0, 0.0
            for i in range(n):
                r_i, v_i = residual[p, columns[i]], variance[p, columns[i]]
                score += (beta[k, i] - b) * (r_i - r) / (v_i - v)
                r, v, b = r_i, v_i, beta[k, i]
            out[k, p] = score


@njit(cache=True, nogil=True)
def cash_scores(s, residual, variance, columns, at, amount, out):
    """``out[k, p]`` = the likelihood-ratio score of path p for the cash dividend
    ``amount[k]`` paid at the row's score date ``at[k]`` (``columns``: the score dates'
    stored columns), on the chain with drops (:mod:`greeks.models.heston.dropped`).

    Take the post-drop price y = S(τ) as the path's coordinate at τ (every payoff reads
    post-drop prices; the next segment starts from y and does not involve D).  Given the
    variance path, log(y + D) − log S(s_{c−1}) is Gaussian with the segment's residual
    e = R_c − R_{c−1} and variance V_c − V_{c−1}, so with the Jacobian 1/(y + D)

        ∂ log p/∂D = −(e/(V_c − V_{c−1}) + 1)/S(τ−),   S(τ−) = y + D,

    of mean zero given the past and the variance path.  On a path the drop takes to 0 the
    score is 0 (the mass of the floor left out, as for GBM rows:
    :mod:`greeks.market.factors`)."""
    for k in range(at.size):
        c = at[k]
        col = columns[c]
        before = columns[c - 1] if c > 0 else -1
        for p in range(s.shape[0]):
            price = s[p, col]
            if price <= 0.0:
                out[k, p] = 0.0
                continue
            r, v = residual[p, col], variance[p, col]
            if before >= 0:
                r -= residual[p, before]
                v -= variance[p, before]
            out[k, p] = -(r / v + 1.0) / (price + amount[k])
