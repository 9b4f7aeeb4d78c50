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
the same random numbers revalued at x ± h and x ± 2h (x = S0, σ, or Heston's σ0), the
central differences of steps h and 2h extrapolated (Richardson, :func:`extrapolated`):

    D(h) = (V(x + h) − V(x − h)) / (2h),
    (4 D(h) − D(2h)) / 3 = (8 (V(x + h) − V(x − h)) − (V(x + 2h) − V(x − 2h))) / (12h).

D(h) = V′ + V‴h²/6 + O(h⁴), so the O(h²) bias cancels and an O(h⁴) one remains: a
one-step difference's bias is fixed while the standard error falls like N^(−1/2), so at
some path count it would dominate (a Heston call with ξ = 0.12, whose conditional values
barely vary: the spot difference of 0.5 % is off by 6.8·10⁻⁶, 30 SE of 200,000 paths, and
the σ0 difference of 0.002 by 2.9·10⁻⁵, 0.3 SE at 44,000 paths;
``benchmarks/bump_bias.py``).  On common random numbers D(h) and D(2h) move together, so
the standard error stays close to that of D(h) (up to about 1.3× where the payoff or the
chain jumps, whose differences have a variance ∝ 1/h).  Shrinking h with the path count
instead would not do for Heston's σ0: QE's switch between its two regimes moves some
paths by a jump as σ0 moves, and the per-path differences' tails grow like 1/h (at
h = 0.00025 a kurtosis of 3,700 against 15 at 0.002), which leaves the mean and the
standard error of a run unreliable.  h_S = ``SPOT_BUMP``·S0, h_σ = ``VOL_BUMP`` (GBM) and
``HESTON_VOL_BUMP`` (σ0 = sqrt(v0), at most σ0/4; the σ0 ± h, σ0 ± 2h chains re-simulated
on the same streams; from σ0 = 0 the difference is exactly 0).  The spot points rescale
the same paths and GBM's vol points re-exponentiate the same Brownian paths, so they cost
no simulation; Heston's cost two more chains.
"""

from __future__ import annotations

from numba import njit

SPOT_BUMP = 0.005  # relative
VOL_BUMP = 0.005  # absolute, in volatility units
HESTON_VOL_BUMP = 0.002  # absolute, in units of σ0 = sqrt(v0)


def extrapolated(up, down, up2, down2, h: float):
    """(8 (V(x + h) − V(x − h)) − (V(x + 2h) − V(x − 2h))) / (12h): the Richardson
    extrapolation of the central differences of steps h and 2h, O(h⁴) from V′(x)."""
    return (8.0 * (up - down) - (up2 - down2)) / (12.0 * h)


@njit(cache=True, nogil=True, inline="always")
def store(p, level, slope, omega, strike, discount, spot, payoff, delta, vega):
    """Path p's discounted payoff D max(ω(A − K), 0) and its pathwise delta D ω 1{ω(A − K) > 0}
    A/S0 and vega D ω 1{ω(A − K) > 0} ∂A/∂σ, from A = ``level`` and ∂A/∂σ = ``slope``."""
    intrinsic = omega * (level - strike)
    if intrinsic > 0.0:
        payoff[p] = discount * intrinsic
        delta[p] = discount * omega * level / spot
        vega[p] = discount * omega * slope
    else:
        payoff[p] = delta[p] = vega[p] = 0.0


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
        store(p, level, slope, omega, strike, discount, spot, payoff, delta, vega)
