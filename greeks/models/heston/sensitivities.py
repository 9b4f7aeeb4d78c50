"""Heston sensitivities beyond delta, σ0-vega and gamma: by likelihood ratio where the
chain allows it, otherwise by bump and revalue on common random numbers.

The likelihood-ratio weights of the Heston chain (:mod:`greeks.models.heston`) give delta,
σ0-vega, gamma and the rho of single-date rows in the engine.  The model-parameter
sensitivities (κ, θ, ξ, ρ) come from one of two estimators, per row and parameter:

* ``lr+baseline`` (``exact`` scheme): E[(f − b)·s_π], s_π the score of the simulated chain
  in π summed up to the row's last date (:func:`greeks.models.heston.exact.simulate_exact`; its
  transition density, with the Poisson count of each step, is smooth in every parameter).
  E[s_π] = 0, so the constant baseline b = E[f s²]/E[s²], taken from an independent pilot,
  keeps it unbiased while cancelling most of f's level.  QE's regime switch and Euler's
  truncation move with the parameters, so their chains' scores would miss the mass that
  crosses the switch: those schemes use ``fd``.
* ``fd``: central differences of the same chain on common random numbers (each bumped chain
  draws from the same streams, and QE reads one normal per step in either regime, so the
  paths move smoothly with the parameters),

    D(h)    (V(p(1 + h)) − V(p(1 − h))) / (2hp)   for κ, θ, ξ,  h = ``RELATIVE_BUMP``
            (V(ρ + h) − V(ρ − h)) / (2h)           for ρ,  h = ``RHO_BUMP``, at most (1 − |ρ|)/4

  biased by O(h²): dκ, dθ, dξ are D(h); dρ (``EXTRAPOLATED``) is (4 D(h) − D(2h)) / 3 from
  steps h and 2h (Richardson, as vanna below), whose O(h²) terms cancel, on four chains.

  Why (``benchmarks/heston_fd_bias.py``, ``benchmarks/results/heston_fd_bias.md``; N* the
  path count at which a bias reaches 0.3 SE): over the ATM call, digital and Asian (κ = 2,
  θ = 0.04, ξ = 0.5, ρ = −0.7) and the six published calls, one difference's bias in κ,
  θ, ξ has N* ≥ 4.3·10⁸ (Andersen's 10-year, ξ = 1 call at K = 140, dξ), far beyond a risk
  run's 10⁷ paths, but in ρ N* = 1.1·10⁶ on that call (−0.014, 0.2 %): the ρ difference is
  extrapolated, N* ≥ 1.5·10¹¹ there.  The extrapolation costs twice the chains and its
  per-path spread is 0–1 % above one difference's on european and Asian rows, 18 % on the
  digital and a knock-out; on κ, θ, ξ it would have been 3–19 % above for no bias that
  matters, so they keep one difference.  A smaller fixed h or one shrinking with N was not
  taken for ρ: where QE switches regime as a parameter moves, a path's difference jumps by
  O(1/h), and a digital's differences have variance O(1/h) (on the ATM call at ρ = −0.9995
  the ρ difference's spread was 448 at a step of 0.00025 against 144 at 0.01).  Near
  ρ = ±1 the step shrinks so that ρ ± 2h stay symmetric inside (−1, 1); the spread, and the
  error bars with it, then grow.

``auto`` (and every method but ``lr`` and ``fd``) takes, per row and parameter, the one with
the smaller variance × ``RELATIVE_COST`` on the pilot.  Theta, vanna, volga (and rho of
multi-date rows) are central differences on common random numbers (theta's is a single
difference: its O(δ²) bias reaches 0.3 SE only beyond 2·10¹² paths over the same rows):

    rho_rate              the rate moves every step's drift: S(t) e^{±h t} on the same paths,
                          discounted at r ± h
    theta                 every date δ closer (the first step shortened, δ = ``TIME_BUMP``):
                          (V(δ) − V(−δ)) / (2δ)
    vanna, volga          cross and second differences in S0 (spot scaling, exact) and σ0,
                          from bumps h and 2h extrapolated (Richardson), so that their O(h²)
                          biases cancel:
                          volga (−V(2h) + 16 V(h) − 30 V(0) + 16 V(−h) − V(−2h)) / (12h²),
                          vanna (4 C(h) − C(2h)) / 3, C(h) the cross difference of bumps
                          h_S = ``SPOT_BUMP``·S0 and h = ``VOL_BUMP`` (at most σ0/4)

each per 1.00 of its parameter.  Results are reported under the names ``dkappa``,
``dtheta``, ``dxi``, ``drho`` (``theta`` and ``rho`` name input columns).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from greeks import payoffs, streams
from greeks.models.heston.adapter import group_paths
from greeks.models.heston.closer import closer_times
from greeks.models.heston.schema import EXACT, from_zero_without_feller
from greeks.stats import Moments

PARAMETERS = ("dkappa", "dtheta", "dxi", "drho")  # in the order of the chain's scores
FILLED = ("rho", "theta", "vanna", "volga")  # NaN under Heston likelihood ratio
RELATIVE_BUMP = 0.01
RHO_BUMP = 0.01
RATE_BUMP = 1e-4
TIME_BUMP = 1.0 / 365.0
SPOT_BUMP = 0.005
VOL_BUMP = 0.005
EXTRAPOLATED = ("drho",)  # the parameters whose differences are taken at h and 2h
RELATIVE_COST = {"lr+baseline": 1.0, "fd": 2.0}  # simulations per parameter (LR: one, shared;
# an extrapolated difference twice "fd")


def heston_sensitivities(frame, names, paths: int, seed: int, scheme: str,
                         steps_per_year: float, first_step: float, method: str = "auto",
                         threads: int | None = None, scheduler: str = "local"):
    """(mean, se, total_mean, total_se, choice) of the Greeks ``names`` (of ``PARAMETERS``
    and ``FILLED``) for every Heston row of ``frame`` (NaN and "" for the others); totals
    weighted by quantity over the Heston rows; ``choice`` names each estimator.  The
    pilots and the chunks run as chunk jobs on ``scheduler`` with ``threads``
    (:func:`greeks.engine.scheduler.completed`), each on a stream of its own, merged in
    chunk order: the numbers do not depend on where they run."""
    from greeks import engine
    from greeks.engine.scheduler import in_order

    names = list(names)
    mean = np.full((len(frame), len(names)), np.nan)
    se = np.full((len(frame), len(names)), np.nan)
    choice = np.full((len(frame), len(names)), "", dtype=object)
    total_mean, total_var = np.zeros(len(names)), np.zeros(len(names))
    groups = [group for group in engine.plan_groups(frame, scheme, steps_per_year, first_step,
                                                    paths=paths)
              if group.model == "heston"]
    chosen = _choose(groups, names, paths, seed, method, threads, scheduler)
    tasks = [(g, streams.PARAMETERS + chunk, n) for g, group in enumerate(groups)
             for chunk, n in group.chunks(paths)]
    results = in_order(_sensitivity_chunk, groups, tasks, seed, threads, scheduler=scheduler,
                       args=[(names, lr, baseline) for lr, baseline in chosen])
    stats = [Moments((group.n_rows + 1, len(names))) for group in groups]
    for (g, _, n), (chunk_mean, chunk_m2) in zip(tasks, results):
        stats[g].merge(n, chunk_mean, chunk_m2)
    for group, (lr, _), group_stats in zip(groups, chosen, stats):
        rows = group.n_rows
        group_se = group_stats.standard_error
        mean[group.positions] = group_stats.mean[:rows]
        se[group.positions] = group_se[:rows]
        choice[group.positions] = np.where(lr, "lr+baseline", "fd")
        total_mean += group_stats.mean[rows]
        total_var += group_se[rows] ** 2
    return mean, se, total_mean, np.sqrt(total_var), choice


def _sensitivity_chunk(group, seed: int, chunk: int, n: int, names: list[str], lr, baseline):
    """The chunk job (:func:`greeks.engine.scheduler.completed`) of the main run: on stream
    ``chunk`` (``streams.PARAMETERS`` + c), the (mean, M2) over paths of every row's
    per-path values (:func:`_chunk`) and of their quantity-weighted group total, each
    (rows + 1) × names."""
    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, chunk))
    values = _chunk(group, stream, n, names, lr, baseline)  # (rows, names, paths)
    total = (group.weight[:, 0, None, None] * values).sum(axis=0)
    both = np.concatenate([values, total[None]], axis=0)
    centred = both - both.mean(axis=2, keepdims=True)
    return both.mean(axis=2), (centred ** 2).sum(axis=2)


def _choose(groups, names: list[str], paths: int, seed: int, method: str,
            threads: int | None, scheduler: str) -> list:
    """Per group (lr, baseline), rows × names: which parameter sensitivities go by
    likelihood ratio, and their baselines (:func:`_sensitivity_pilot`).  Only ``exact``
    groups whose chain has scores (never from v0 = 0 without the Feller condition,
    :func:`greeks.models.heston.schema.from_zero_without_feller`) take a pilot, unless
    ``method`` is ``fd``; each pilot is one task on the scheduler (one stream, not
    chunked).  The others: central differences throughout."""
    from greeks import engine
    from greeks.engine.scheduler import in_order

    asked = any(name in PARAMETERS for name in names)
    piloted = [g for g, group in enumerate(groups)
               if asked and method != "fd" and group.scheme == EXACT
               and not from_zero_without_feller(*group.params[:4])]
    pilot = int(np.clip(paths // 8, engine.MIN_PILOT, engine.MAX_PILOT))
    tasks = [(g, streams.PARAMETERS_PILOT, pilot) for g in piloted]
    found = in_order(_sensitivity_pilot, groups, tasks, seed, threads, scheduler=scheduler,
                     args=(names, method))
    out = [(np.zeros((group.n_rows, len(names)), dtype=bool),
            np.zeros((group.n_rows, len(names)))) for group in groups]
    for g, lr_and_baseline in zip(piloted, found):
        out[g] = lr_and_baseline
    return out


def _sensitivity_pilot(group, seed: int, chunk: int, n: int, names: list[str], method: str):
    """The pilot's chunk job: on stream ``chunk`` (``streams.PARAMETERS_PILOT``), n paths,
    (lr, baseline), rows × names: the baselines b = E[f s²]/E[s²] of the parameter
    sensitivities and which go by likelihood ratio (``auto``: where its variance × cost is
    below that of the central difference; ``lr``: all of them)."""
    lr = np.zeros((group.n_rows, len(names)), dtype=bool)
    baseline = np.zeros(lr.shape)
    wanted = [g for g, name in enumerate(names) if name in PARAMETERS]
    lr[:, wanted] = True
    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, chunk))
    asked = [names[g] for g in wanted]
    everything = np.ones((group.n_rows, len(asked)), dtype=bool)
    f_s, s = _chunk(group, stream, n, asked, everything, None, raw=True)
    square = (s * s).sum(axis=2)
    baseline[:, wanted] = (f_s * s).sum(axis=2) / np.where(square > 0, square, 1.0)
    if method != "lr":
        lr_var = np.var(f_s - baseline[:, wanted, None] * s, axis=2)
        fd_var = np.var(_chunk(group, stream, n, asked, ~everything, None), axis=2)
        fd_cost = np.array([RELATIVE_COST["fd"] * (2 if name in EXTRAPOLATED else 1)
                            for name in asked])
        lr[:, wanted] = lr_var * RELATIVE_COST["lr+baseline"] <= fd_var * fd_cost
    return lr, baseline


def _chunk(group, stream, n: int, names: list[str], lr, baseline, raw: bool = False):
    """Per row, Greek and path: (f − b)·s for the (row, Greek) pairs in ``lr``, the central
    difference of the discounted payoff for the others.  ``raw``: (f·s, s) of the
    likelihood-ratio pairs instead (zeros elsewhere)."""
    v0, kappa, theta, xi, rho = group.params
    sigma0 = math.sqrt(v0)
    cache: dict = {}

    def prices(key, shift=0.0, **changes):
        """Prices on the stored dates with changed parameters (or every date ``shift``
        closer, :func:`greeks.models.heston.closer.closer_times`), from the same stream."""
        if key not in cache:
            moved = {**dict(v0=v0, kappa=kappa, theta=theta, xi=xi, rho=rho), **changes}
            bumped = replace(group, params=tuple(moved[k] for k in ("v0", "kappa", "theta",
                                                                     "xi", "rho")),
                             times=closer_times(group.times, shift))
            rng = np.random.Generator(np.random.PCG64(stream))
            cache[key] = group_paths(bumped, rng, n, scores=key == "base" and lr.any())
        return cache[key].s

    base = prices("base")
    scores = cache["base"].scores  # paths × rows × (κ, θ, ξ, ρ), or None
    stored_times = group.times[np.unique(group.date_index)]
    # V depends on σ0 through v0 = σ0² only, so it is even in σ0 and V(σ0 − h) is the value
    # at v0 = (σ0 − h)² for any h: at σ0 = 0 the differences below give vanna 0 and a
    # finite volga
    h_vol = min(VOL_BUMP, sigma0 / 4) if sigma0 > 0 else VOL_BUMP
    out = np.full((2 if raw else 1, group.n_rows, len(names), n), np.nan)
    if raw:
        out[:] = 0.0
    for j in range(group.n_rows):
        payoff = _payoff_on(group, j)
        t = group.maturity[j]
        discount = group.payoff.discount[j]
        for g, name in enumerate(names):
            if lr[j, g]:
                s = scores[:, j, PARAMETERS.index(name)]
                f = payoff(base)
                if raw:
                    out[:, j, g] = f * s, s
                else:
                    out[0, j, g] = (f - baseline[j, g]) * s
            elif raw:
                continue
            elif name in EXTRAPOLATED:  # steps h and 2h
                one, two = (_difference(payoff, prices, name, group.params, multiple)
                            for multiple in (1, 2))
                out[0, j, g] = (4 * one - two) / 3
            elif name in PARAMETERS:
                out[0, j, g] = _difference(payoff, prices, name, group.params, 1)
            elif name == "rho":  # every step's drift moves: S(t) e^{±h t}, discounted at r ± h
                growth = np.exp(RATE_BUMP * stored_times)
                out[0, j, g] = (payoff(base * growth, discount * math.exp(-RATE_BUMP * t))
                                - payoff(base / growth, discount * math.exp(RATE_BUMP * t))
                                ) / (2 * RATE_BUMP)
            elif name == "theta":
                shift = min(TIME_BUMP, 0.5 * group.times[0])
                out[0, j, g] = (payoff(prices("t+", shift=shift),
                                       discount * math.exp(group.rate * shift))
                                - payoff(prices("t-", shift=-shift),
                                         discount * math.exp(-group.rate * shift))
                                ) / (2 * shift)
            else:  # vanna, volga: σ0 ± h, σ0 ± 2h, spot scaled exactly; extrapolated
                up, down, up2, down2 = (prices(f"vol{k:+d}", v0=(sigma0 + k * h_vol) ** 2)
                                        for k in (1, -1, 2, -2))
                if name == "volga":
                    out[0, j, g] = (16 * (payoff(up) + payoff(down)) - 30 * payoff(base)
                                    - payoff(up2) - payoff(down2)) / (12 * h_vol ** 2)
                else:
                    out[0, j, g] = (4 * _cross(payoff, up, down, SPOT_BUMP) / h_vol
                                    - _cross(payoff, up2, down2, 2 * SPOT_BUMP) / (2 * h_vol)
                                    ) / (3 * group.spot)
    return out if raw else out[0]


def parameter_bump(name: str, params, multiple: int = 1) -> tuple[dict, dict, float]:
    """(up, down, width): the parameters changed at the two points of ``name``'s central
    difference (of ``PARAMETERS``) bumped ``multiple`` times h, and the distance between
    them; h = ``RELATIVE_BUMP`` of κ, θ, ξ, and for ρ ``RHO_BUMP``, at most (1 − |ρ|)/4,
    so that ρ ± 2h stay symmetric about ρ inside (−1, 1)."""
    v0, kappa, theta, xi, rho = params
    if name == "drho":
        h = multiple * min(RHO_BUMP, (1 - abs(rho)) / 4)
        high, low = rho + h, rho - h
        return dict(rho=high), dict(rho=low), high - low
    parameter = name[1:]
    value = dict(kappa=kappa, theta=theta, xi=xi)[parameter]
    h = multiple * RELATIVE_BUMP
    return {parameter: value * (1 + h)}, {parameter: value * (1 - h)}, 2 * h * value


def _difference(payoff, prices, name: str, params, multiple: int) -> np.ndarray:
    """Per path, ``name``'s central difference (:func:`parameter_bump`) of the discounted
    payoff ``payoff`` on the chains ``prices(key, **changes)`` (common random numbers)."""
    up, down, width = parameter_bump(name, params, multiple)
    return (payoff(prices(f"{name}{multiple:+d}", **up))
            - payoff(prices(f"{name}{-multiple:+d}", **down))) / width


def _cross(payoff, high, low, h_s: float):
    """(f(high·(1 + h_s)) − f(low·(1 + h_s)) − f(high·(1 − h_s)) + f(low·(1 − h_s))) / (4h_s):
    the spot difference (per unit of S0) of the difference between two σ0 chains' prices."""
    return (payoff(high * (1 + h_s)) - payoff(low * (1 + h_s))
            - payoff(high * (1 - h_s)) + payoff(low * (1 - h_s))) / (4 * h_s)


def _payoff_on(group, j: int):
    """f(prices, discount) = row j's discounted payoffs on a price array (stored dates)."""
    stored = np.unique(group.date_index)
    dates = np.searchsorted(stored, group.dates_of(j))

    def evaluate(s, discount=None):
        out = np.empty(s.shape[0])
        spec = group.payoff if discount is None else payoffs.with_discount(group.payoff, j,
                                                                             discount)
        payoffs.evaluate(s, dates, spec, j, out)
        return out
    return evaluate
