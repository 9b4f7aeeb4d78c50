"""The dual upper bound of Heston rows (greeks.models.heston.duality; calls through the put
they equal by put–call symmetry, or where it does not exist themselves).

* Its martingale: with exercise at maturity only, max_i (Z_i − M_i) = Z_n − M_n, whose mean
  is the European put's price exactly when M is a martingale (whatever the hedge's
  accuracy): against the characteristic function's price within k·SE, with a dividend yield
  (so that a wrong discounting of S̃ shows) and ρ > 0.
* The bounds of the Clarke–Parrott American puts (data/american_reference.csv) lie above the
  published prices (within k·SE) and within 10 % + 0.002 of them (a stated tightness: the
  hedge is daily, from a 200 × 100 ADI grid; measured +1.7 % to +8.6 %).
"""

import numpy as np
from helpers import k_for, seed

from greeks.duality import martingale_z
from greeks.models.heston.analytic import heston_greeks
from greeks.models.heston.duality import upper_bound
from tests.models.gbm.test_american import HESTON_PUBLISHED

LAW = (0.0625, 5.0, 0.16, 0.9, 0.1)  # v0, κ, θ, ξ, ρ (Clarke & Parrott)


def test_exercise_at_maturity_only_gives_the_european_price():
    rate, dividend, maturity = 0.05, 0.04, 0.5
    result = upper_bound(10.0, 10.5, maturity, rate, dividend, LAW, np.array([maturity]),
                         paths=20_000, seed=seed(90))
    european = heston_greeks("put", 10.0, 10.5, maturity, rate, *LAW, dividend).price
    assert abs(result.upper - european) <= k_for(1) * result.se, (result.upper, european)


def test_bounds_above_the_published_american_puts():
    spots = sorted(HESTON_PUBLISHED)
    k = k_for(len(spots))
    times = np.arange(1, 64) * 0.25 / 63
    for spot in spots:
        result = upper_bound(spot, 10.0, 0.25, 0.1, 0.0, LAW, times, paths=8_000,
                             seed=seed(91), american=True, richardson=True)
        price = HESTON_PUBLISHED[spot]
        assert result.upper >= price - k * result.se, (spot, result.upper, price)
        assert result.upper <= 1.1 * price + 0.002, (spot, result.upper, price)
        assert abs(martingale_z(result)) <= k, (spot, martingale_z(result))


def test_a_call_is_bounded_through_the_put_it_equals():
    """A Bermudan call's bound is its symmetric put's (spot and strike, rate and yield
    swapped, κ* = κ − ρξ, θ* = κθ/κ*, −ρ): above the ADI solution's price of the call and
    within 10 % + 0.002 of it."""
    from greeks import models
    from greeks.models.heston.american import heston_american

    row = dict(option_type="call", spot=100.0, strike=100.0, maturity=1.0, rate=0.03,
               dividend=0.06, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
    times = np.arange(1, 13) / 12
    result = models.adapter("heston").upper_bound(row, times, paths=8_000, seed=seed(92),
                                                  american=False, richardson=False)
    price = heston_american("call", 100.0, 100.0, 1.0, 0.03, 0.06, 0.04, 1.5, 0.04, 0.5, -0.7,
                            exercise_times=times).price
    assert price - k_for(1) * result.se <= result.upper <= 1.1 * price + 0.002, (result.upper,
                                                                                price)
    assert abs(martingale_z(result)) <= k_for(1)


def test_a_call_without_a_symmetric_put_is_bounded_itself():
    """κ − ρξ ≤ 0 leaves a call no symmetric put: the bound is the call's own (its ADI
    solution as the hedge's value function, Z_i = e^{−r t_i}(S − K)⁺).  Exercisable at
    expiry only, its mean is the European call's (the Fourier price, within k·SE); on
    monthly dates it lies above the ADI solution's Bermudan call (within k·SE) and within
    10 % + 0.002 of it, the martingale checked."""
    from greeks import models
    from greeks.models.heston.american import heston_value_grids

    law = dict(v0=0.04, kappa=0.5, theta=0.04, xi=1.0, rho=0.6)  # κ − ρξ = −0.1
    row = dict(option_type="call", spot=100.0, strike=100.0, maturity=0.5, rate=0.02,
               dividend=0.06, **law)
    heston = models.adapter("heston")
    k = k_for(4)
    one = heston.upper_bound(row, np.array([0.5]), paths=8_000, seed=seed(93), american=False,
                             richardson=False)
    european = heston_greeks("call", 100.0, 100.0, 0.5, 0.02, *law.values(), 0.06).price
    assert abs(one.upper - european) <= k * one.se, (one.upper, european)
    times = np.arange(1, 7) / 12
    result = heston.upper_bound(row, times, paths=8_000, seed=seed(94), american=False,
                                richardson=False)
    s, v, values = heston_value_grids(100.0, 0.5, 0.02, 0.06, *law.values(), times,
                                      option_type="call")
    at_spot = [np.interp(100.0, s, values[0][:, j]) for j in range(v.size)]
    price = float(np.interp(0.04, v, at_spot))  # the solution at (S0, v0), bilinear
    assert price - k * result.se <= result.upper <= 1.1 * price + 0.002, (result.upper, price)
    assert abs(martingale_z(result)) <= k
