"""Estimators that combine per-path payoffs with per-path score weights.

Plain likelihood ratio: with f the discounted payoff of a row on one path and
w_Δ, w_σ the score weights of the path on the row's dates (see the model
module), the per-path estimates

    price: f,    delta: f · w_Δ,    vega: f · w_σ

are unbiased for V, ∂V/∂S0 and ∂V/∂σ; their sample means over N iid paths are
the estimates and sqrt(M2/(N−1)/N) their standard errors.
"""

from __future__ import annotations

from numba import njit

from greeks.stats import moments

PRICE, DELTA, VEGA = 0, 1, 2
QUANTITIES = ("price", "delta", "vega")


@njit(cache=True, nogil=True)
def likelihood_ratio(payoff, delta_weight, vega_weight, out):
    """Per-path LR estimates of one row, in place, and their moments.

    On return ``delta_weight`` holds f·w_Δ and ``vega_weight`` holds f·w_σ;
    ``out[k]`` = (mean, M2) of price, delta and vega for k = 0, 1, 2.
    """
    for p in range(payoff.size):
        delta_weight[p] *= payoff[p]
        vega_weight[p] *= payoff[p]
    moments(payoff, out[PRICE])
    moments(delta_weight, out[DELTA])
    moments(vega_weight, out[VEGA])
