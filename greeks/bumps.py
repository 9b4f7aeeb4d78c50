"""Heston sensitivities by bump and revalue on common random numbers.

The likelihood-ratio weights of the Heston chain (:mod:`greeks.models.heston`) give delta,
σ0-vega, gamma and the rho of single-date rows.  The model-parameter sensitivities
(κ, θ, ξ, ρ) and theta, vanna, volga (and rho of multi-date rows) are estimated here by
central differences of the same chain on common random numbers (each bumped chain draws
from the same streams, and QE reads one normal per step in either regime, so the paths
move smoothly with the parameters):

    dkappa, dtheta, dxi   (V(p(1 + h)) − V(p(1 − h))) / (2hp),   h = ``RELATIVE_BUMP``
    drho                  (V(ρ + h) − V(ρ − h)) / (2h),           h = ``RHO_BUMP`` (within ±1)
    rho_rate              the rate moves every step's drift: S(t) e^{±h t} on the same paths,
                          discounted at r ± h
    theta                 every date δ closer (the first step shortened, δ = ``TIME_BUMP``):
                          (V(δ) − V(−δ)) / (2δ)
    vanna, volga          cross and second differences in S0 (spot scaling, exact) and σ0

each per 1.00 of its parameter, biased by O(h²).  Results are reported under the names
``dkappa``, ``dtheta``, ``dxi``, ``drho`` (``theta`` and ``rho`` name input columns).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from greeks import payoffs
from greeks.stats import Moments

PARAMETERS = ("dkappa", "dtheta", "dxi", "drho")
FILLED = ("rho", "theta", "vanna", "volga")  # NaN under Heston likelihood ratio
RELATIVE_BUMP = 0.01
RHO_BUMP = 0.01
RATE_BUMP = 1e-4
TIME_BUMP = 1.0 / 365.0
SPOT_BUMP = 0.005
VOL_BUMP = 0.005
BUMP_CHUNKS = 1 << 48  # streams of their own


def heston_sensitivities(frame, names, paths: int, seed: int, scheme: str,
                         steps_per_year: float, first_step: float):
    """(mean, se, total_mean, total_se) of the Greeks ``names`` (of ``PARAMETERS`` and
    ``FILLED``) for every Heston row of ``frame`` (NaN for the others); totals weighted by
    quantity over the Heston rows."""
    from greeks import engine

    names = list(names)
    mean = np.full((len(frame), len(names)), np.nan)
    se = np.full((len(frame), len(names)), np.nan)
    total_mean, total_var = np.zeros(len(names)), np.zeros(len(names))
    for group in engine.plan_groups(frame, scheme, steps_per_year, first_step):
        if group.model != "heston":
            continue
        rows = group.kind.size
        stats = Moments((rows + 1, len(names)))
        for chunk, n in group.chunks(paths):
            stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words,
                                                             BUMP_CHUNKS + chunk))
            values = _chunk(group, stream, n, names)  # (rows, names, paths)
            total = (group.weight[:, 0, None, None] * values).sum(axis=0)
            both = np.concatenate([values, total[None]], axis=0)
            centred = both - both.mean(axis=2, keepdims=True)
            stats.merge(n, both.mean(axis=2), (centred ** 2).sum(axis=2))
        group_se = stats.standard_error
        mean[group.positions] = stats.mean[:rows]
        se[group.positions] = group_se[:rows]
        total_mean += stats.mean[rows]
        total_var += group_se[rows] ** 2
    return mean, se, total_mean, np.sqrt(total_var)


def _chunk(group, stream, n: int, names: list[str]) -> np.ndarray:
    """Per row, Greek and path, the central difference of the discounted payoff."""
    from greeks import engine

    v0, kappa, theta, xi, rho = group.heston
    sigma0 = math.sqrt(v0)
    cache: dict = {}

    def prices(key, shift=0.0, **changes):
        """Prices on the stored dates with changed parameters (or every date ``shift``
        closer), from the same stream."""
        if key not in cache:
            moved = {**dict(v0=v0, kappa=kappa, theta=theta, xi=xi, rho=rho), **changes}
            bumped = replace(group, heston=tuple(moved[k] for k in ("v0", "kappa", "theta",
                                                                     "xi", "rho")),
                             times=group.times - shift)
            rng = np.random.Generator(np.random.PCG64(stream))
            cache[key] = engine.heston_paths(bumped, rng, n).s
        return cache[key]

    base = prices("base")
    stored_times = group.times[np.unique(group.date_index)]
    h_vol = min(VOL_BUMP, sigma0 / 2)
    out = np.full((group.kind.size, len(names), n), np.nan)
    for j in range(group.kind.size):
        payoff = _payoff_on(group, j)
        t = group.maturity[j]
        discount = group.discount[j]
        for g, name in enumerate(names):
            if name in ("dkappa", "dtheta", "dxi"):
                parameter = name[1:]
                value = dict(kappa=kappa, theta=theta, xi=xi)[parameter]
                up = prices(name + "+", **{parameter: value * (1 + RELATIVE_BUMP)})
                down = prices(name + "-", **{parameter: value * (1 - RELATIVE_BUMP)})
                out[j, g] = (payoff(up) - payoff(down)) / (2 * RELATIVE_BUMP * value)
            elif name == "drho":
                high, low = min(rho + RHO_BUMP, 0.999), max(rho - RHO_BUMP, -0.999)
                out[j, g] = (payoff(prices("rho+", rho=high))
                             - payoff(prices("rho-", rho=low))) / (high - low)
            elif name == "rho":  # every step's drift moves: S(t) e^{±h t}, discounted at r ± h
                growth = np.exp(RATE_BUMP * stored_times)
                out[j, g] = (payoff(base * growth, discount * math.exp(-RATE_BUMP * t))
                             - payoff(base / growth, discount * math.exp(RATE_BUMP * t))
                             ) / (2 * RATE_BUMP)
            elif name == "theta":
                shift = min(TIME_BUMP, 0.5 * group.times[0])
                out[j, g] = (payoff(prices("t+", shift=shift), discount * math.exp(group.rate * shift))
                             - payoff(prices("t-", shift=-shift),
                                      discount * math.exp(-group.rate * shift))) / (2 * shift)
            elif sigma0 > 0:  # vanna, volga: σ0 ± h, spot scaled exactly
                up = prices("vol+", v0=(sigma0 + h_vol) ** 2)
                down = prices("vol-", v0=(sigma0 - h_vol) ** 2)
                if name == "volga":
                    out[j, g] = (payoff(up) - 2 * payoff(base) + payoff(down)) / h_vol ** 2
                else:
                    out[j, g] = (payoff(up * (1 + SPOT_BUMP)) - payoff(down * (1 + SPOT_BUMP))
                                 - payoff(up * (1 - SPOT_BUMP)) + payoff(down * (1 - SPOT_BUMP))
                                 ) / (4 * SPOT_BUMP * group.spot * h_vol)
    return out


def _payoff_on(group, j: int):
    """f(prices, discount) = row j's discounted payoffs on a price array (stored dates)."""
    stored = np.unique(group.date_index)
    dates = np.searchsorted(stored, group.date_index[group.date_start[j]:group.date_start[j + 1]])

    def evaluate(s, discount=None):
        out = np.empty(s.shape[0])
        payoffs.evaluate(s, dates, group.kind[j], group.omega[j], group.strike[j],
                         group.payout[j], group.barrier[j], group.barrier_kind[j],
                         group.discount[j] if discount is None else discount, out)
        return out
    return evaluate
