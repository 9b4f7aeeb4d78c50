"""Pathwise delta and vega of european and asian rows under GBM, and central finite
differences on common random numbers for every row: the classical alternatives to the
likelihood ratio, for ``--method pathwise|fd`` and ``greeks compare``.

Pathwise (Broadie & Glasserman 1996).  With A = S_T (european) or the average of S on the
row's dates (asian), the discounted payoff D max(ω(A − K), 0) is Lipschitz in S0 and σ, so
its derivatives along the path are unbiased:

    delta = D ω 1{ω(A − K) > 0} A/S0             (∂S_t/∂S0 = S_t/S0),
    vega  = D ω 1{ω(A − K) > 0} ∂A/∂σ,           ∂S_t/∂σ = S_t (W_t − σ t).

It does not apply to digital and barrier payoffs (a jump in S0: the derivative of the
indicator is missed).

Finite differences (bump and revalue on common random numbers, as a risk system does):
the same random numbers revalued at S0(1 ± h_S), S0(1 ± 2h_S) and σ ± h_σ, σ ± 2h_σ, the
central differences of steps h and 2h extrapolated (Richardson, :func:`extrapolated`):

    D(h) = (V(x + h) − V(x − h)) / (2h),
    (4 D(h) − D(2h)) / 3 = (8 (V(x + h) − V(x − h)) − (V(x + 2h) − V(x − 2h))) / (12h).

D(h) = V′ + V‴h²/6 + O(h⁴), so the O(h²) bias cancels and an O(h⁴) one remains; on
common random numbers D(h) and D(2h) move together, so the standard error stays close to
that of D(h) (about 1.2× for discontinuous payoffs, whose differences have a variance
∝ 1/h).  h_S = ``SPOT_BUMP``·S0, h_σ = ``VOL_BUMP``; the bumped prices rescale the same
paths (spot) or re-exponentiate the same Brownian paths (GBM σ), so the extra points cost
no simulation.

Under Heston σ0 = sqrt(v0) is bumped by :func:`heston_vol_bump`, the variance path
re-simulated on the same streams (from σ0 = 0: the difference is exactly 0): one central
difference, whose O(h²) bias is kept below about 0.3 standard errors by a bump that
shrinks with the path count N, h = ``HESTON_VOL_BUMP``·min(1, (N_h/N)^(1/4)): the bias
∝ h² ∝ N^(−1/2) falls like the standard error, which does not grow as h shrinks (the
conditional values are smooth in σ0 on common random numbers).  N_h =
``HESTON_BUMP_PATHS`` is where the 0.002 bump's bias, from the semi-analytic values,
reaches 0.3 SE on the worst of 127 published and random rows (a low-ξ call whose
conditional vega has a per-path spread of only 0.020, bias −2.9·10⁻⁵); an extrapolation
in σ0 would cost two more simulations.
"""

from __future__ import annotations

from numba import njit

SPOT_BUMP = 0.005  # relative
VOL_BUMP = 0.005  # absolute, in volatility units
HESTON_VOL_BUMP = 0.002  # absolute, in units of σ0 = sqrt(v0), up to HESTON_BUMP_PATHS paths
HESTON_BUMP_PATHS = 40_000


def heston_vol_bump(sigma0: float, paths: int) -> float:
    """The σ0 bump of a Heston central difference in a run of ``paths`` paths (0:
    unknown): ``HESTON_VOL_BUMP``·min(1, (N_h/N)^(1/4)), at most σ0/2 (module docstring)."""
    shrink = min(1.0, (HESTON_BUMP_PATHS / paths) ** 0.25) if paths > 0 else 1.0
    return min(HESTON_VOL_BUMP * shrink, sigma0 / 2)


def extrapolated(up, down, up2, down2, h: float):
    """(8 (V(x + h) − V(x − h)) − (V(x + 2h) − V(x − 2h))) / (12h): the Richardson
    extrapolation of the central differences of steps h and 2h, O(h⁴) from V′(x)."""
    return (8.0 * (up - down) - (up2 - down2)) / (12.0 * h)


@njit(cache=True, nogil=True)
def gbm_values(s, w, times, dates, asian, omega, strike, discount, spot, sigma, payoff, delta,
               vega):
    """Per path: the discounted payoff and its pathwise delta and vega (module docstring)."""
    last = dates[dates.size - 1]
    for p in range(s.shape[0]):
        if asian:
            level = slope = 0.0
            for i in range(dates.size):
                d = dates[i]
                level += s[p, d]
                slope += s[p, d] * (w[p, d] - sigma * times[d])
            level /= dates.size
            slope /= dates.size
        else:
            level = s[p, last]
            slope = level * (w[p, last] - sigma * times[last])
        intrinsic = omega * (level - strike)
        if intrinsic > 0.0:
            payoff[p] = discount * intrinsic
            delta[p] = discount * omega * level / spot
            vega[p] = discount * omega * slope
        else:
            payoff[p] = delta[p] = vega[p] = 0.0
