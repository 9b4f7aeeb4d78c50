"""Score weights (Broadie & Glasserman 1996, Glasserman 2004 §7.3).  A payoff that
reads the path only on the dates t_{d_1} < ... < t_{d_n} of one row has a price
E[f(S_{d_1}, ..., S_{d_n})]; the log-density of those log-returns is

    Σ_i [ −log(σ sqrt(Δ_i)) − (x_i − (r − q − σ²/2) Δ_i)² / (2 σ² Δ_i) ],
    x_i = log(S_{d_i}/S_{d_{i−1}}),

with Δ_i = t_{d_i} − t_{d_{i−1}} and S_{d_0} = S0.  Writing
Z_i = (W(t_{d_i}) − W(t_{d_{i−1}}))/sqrt(Δ_i) for the increment aggregated onto the row's own
dates, its derivatives are

    ∂/∂S0 = Z_1 / (S0 σ sqrt(Δ_1))                          (only x_1 depends on S0),
    ∂/∂σ  = Σ_i [ (Z_i² − 1)/σ − Z_i sqrt(Δ_i) ]            (every x_i depends on σ).

Both have mean zero, so E[f · w] is exactly dE[f]/dθ (the likelihood-ratio
identity; differentiation under the integral holds for any f of polynomial
growth, including the discontinuous digital and barrier payoffs).  Using the
row's dates rather than the finer simulation grid matters: the coarse score is
the conditional expectation of the fine one given the row's dates, so it is
unbiased with never larger variance (a daily grid would multiply a European
delta's variance by about the number of grid steps).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def score_setup(times, dates, spot, sigma):
    """Per-row constants of :func:`path_scores`: 1/Δ_i on the row's dates and 1/(S0 σ Δ_1)."""
    inverse_dt = np.empty(dates.size)
    previous = 0.0
    for i in range(dates.size):
        inverse_dt[i] = 1.0 / (times[dates[i]] - previous)
        previous = times[dates[i]]
    return inverse_dt, inverse_dt[0] / (spot * sigma)


@njit(cache=True, nogil=True, inline="always")
def path_scores(p, args):
    """Delta and vega score weights of path ``p`` on one row's ``dates`` (indices into the grid).

    With the Brownian increments aggregated onto those dates,
    Z_i sqrt(Δ_i) = W(t_{d_i}) − W(t_{d_{i−1}}):

        w_Δ = W(t_{d_1}) / (S0 σ t_{d_1})            = Z_1 / (S0 σ sqrt(Δ_1)),
        w_σ = (Σ_i ΔW_i²/Δ_i − n)/σ − W(t_{d_n})     = Σ_i [(Z_i² − 1)/σ − Z_i sqrt(Δ_i)].

    ``args`` = (w, dates, 1/Δ_i, 1/(S0 σ Δ_1), σ) from :func:`score_setup`.
    """
    w, dates, inverse_dt, delta_scale, sigma = args
    squares = 0.0
    level = 0.0
    for i in range(dates.size):
        step = w[p, dates[i]] - level
        squares += step * step * inverse_dt[i]
        level = w[p, dates[i]]
    return w[p, dates[0]] * delta_scale, (squares - dates.size) / sigma - level
