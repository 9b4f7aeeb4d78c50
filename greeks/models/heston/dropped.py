"""Cash dividends on the Heston chain off a market.

Given the variance path, the chain's log-price increments are Gaussian with means and
variances that do not depend on the price level.  So the price with carry and cash
dividends follows from the zero-carry chain S̃ on the stored dates t_1 < t_2 < … (every
ex-date among them) by

    S(t_i) = max(S(t_{i−1}) · (G(t_i)/G(t_{i−1})) · (S̃(t_i)/S̃(t_{i−1})) − D_i, 0),

with S(0) = S̃(0) = S0, G the growth (:mod:`greeks.market.dynamics`) and D_i the cash
paid at t_i (0 on the other dates); a price that a drop takes to 0 stays at 0.  Without
cash dividends this is S = G S̃.  The payoff is a function of the variance path and of the
log-returns between consecutive *score dates* (a row's dates and the ex-dates up to its
expiry), which given the variance path are independent Gaussians: S0 enters only the law of
the first one, x_0 = log S0 (:func:`greeks.models.heston.scores.path_scores` on the first
score date), and v0 only the variance path's law and the first step's.

The unfloored prices Ŝ (the same recursion, the drops not floored) are
Ŝ(t) = G(t) [S̃(t) − Σ_{τ_j ≤ t} D_j S̃(t)/(G(τ_j) S̃(τ_j))], so on a chain whose S̃ is
an exact martingale E[Ŝ(t)] = G(t) (S0 − Σ_{τ_j ≤ t} D_j/G(τ_j)): exact, affine in S0 and
free of v0.  The controls' linear payoff reads them (:mod:`greeks.engine.dated`).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def with_dividends(s, growth, cash, spot, unfloored):
    """In place: ``s`` (paths × stored dates), the zero-carry chain's prices S̃, becomes
    S (module docstring) with ``growth`` G and the cash ``cash`` paid at each stored date;
    ``unfloored`` receives Ŝ.  Date by date over every path (the arrays are date-major
    views)."""
    n = s.shape[0]
    chain = np.full(n, spot)  # S̃ at the previous date
    price = np.full(n, spot)
    free = np.full(n, spot)
    before = 1.0  # G at the previous date
    for c in range(s.shape[1]):
        ratio, paid = growth[c] / before, cash[c]
        before = growth[c]
        for p in range(n):
            level = s[p, c]
            factor = level / chain[p] * ratio
            chain[p] = level
            price[p] = (max(price[p] * factor - paid, 0.0) if paid > 0.0
                        else price[p] * factor)
            free[p] = free[p] * factor - paid
            s[p, c] = price[p]
            unfloored[p, c] = free[p]
