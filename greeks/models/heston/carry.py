"""Pathwise carry sensitivities of Heston rows priced off a market
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
