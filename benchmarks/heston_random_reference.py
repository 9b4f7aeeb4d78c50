"""The references of ``heston_random.py`` against two computations independent of them, in
units of the engine's standard errors at the paths of the random runs.

    python benchmarks/heston_random_reference.py [--seeds 5,11,...] [--rows 8] [--worst 3]
                                                 [--paths 2000000] [--se-paths 200000]

For every row of ``heston_random.random_rows(seed, rows)`` the semi-analytic price, delta and
σ0-vega (:mod:`greeks.models.heston.analytic`, little-trap characteristic function,
adaptive Gauss–Legendre) are compared with

- QuantLib's ``AnalyticHestonEngine`` (adaptive Gauss–Lobatto, relative tolerance 1e-13) on
  the row rescaled in time to T' = 1 year (t = T t': κ, θ, ξ, v0, r and q times T, the
  same law of S_T); cash digitals as −∂C/∂K; delta and vega by central differences of
  relative step 2·10⁻³, Richardson-extrapolated (error O(h⁴));
- for the ``--worst`` rows per Greek with the largest differences, Gil-Pelaez integrals by
  ``scipy.integrate.quad`` (P1, P2 = 1/2 + 1/π ∫₀^∞ Re[e^{−iuk} φ_j(u)/(iu)] du, φ₂ = ψ,
  φ₁(u) = ψ(u − i); the module's characteristic function ψ, another integral and another
  quadrature), the Greeks by the same differences of relative step 10⁻³.

Those rows are priced at ``--se-paths`` paths (threads 1) for their standard errors, which
are scaled to ``--paths`` by sqrt(se_paths/paths).  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
import QuantLib as ql
from heston_random import GREEKS, random_rows, reference
from scipy.integrate import quad

import greeks
from greeks.models.heston.analytic import heston_cf

TODAY = ql.Date(2, 1, 2030)
DAYS = ql.Actual365Fixed()


def rich(f, x: float, h: float) -> float:
    """Central difference of step h and 2h, Richardson-extrapolated."""
    d = lambda step: (f(x + step) - f(x - step)) / (2.0 * step)  # noqa: E731
    return (4.0 * d(h) - d(2.0 * h)) / 3.0


def quantlib_call(row, spot: float, strike: float, sigma0: float) -> float:
    """QuantLib's Heston call on the row rescaled to a one-year maturity."""
    c = row.maturity
    ql.Settings.instance().evaluationDate = TODAY
    flat = lambda r: ql.YieldTermStructureHandle(  # noqa: E731
        ql.FlatForward(TODAY, r, DAYS, ql.Continuous, ql.NoFrequency))
    process = ql.HestonProcess(flat(row.rate * c), flat(row.dividend * c),
                               ql.QuoteHandle(ql.SimpleQuote(spot)), c * sigma0 ** 2,
                               c * row.kappa, c * row.theta, c * row.xi, row.rho)
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, strike),
                              ql.EuropeanExercise(TODAY + 365))
    option.setPricingEngine(ql.AnalyticHestonEngine(ql.HestonModel(process), 1e-13, 1_000_000))
    return option.NPV()


def gil_pelaez_call(row, spot: float, strike: float, sigma0: float) -> tuple[float, float]:
    """(call, cash digital call) from P1 and P2 by adaptive quadrature."""
    t = row.maturity
    forward = spot * math.exp((row.rate - row.dividend) * t)
    k = math.log(strike / forward)

    def probability(shift: complex) -> float:
        def integrand(u):
            psi = heston_cf(u + shift, t, sigma0 ** 2, row.kappa, row.theta, row.xi, row.rho)
            return (np.exp(-1j * u * k) * psi / (1j * u)).real
        edges = (1e-12, 1.0, 10.0, 100.0, 1e3, 2e4)
        return 0.5 + sum(quad(integrand, a, b, epsabs=1e-15, epsrel=1e-13, limit=2000)[0]
                         for a, b in zip(edges[:-1], edges[1:])) / math.pi

    p1, p2 = probability(-1j), probability(0.0)
    disc, carry = math.exp(-row.rate * t), math.exp(-row.dividend * t)
    return spot * carry * p1 - strike * disc * p2, disc * p2


def greeks_of(row, value, step: float) -> tuple[float, float, float]:
    """Price, delta and σ0-vega of the row from ``value(spot, strike, σ0)`` of the call (or of
    the cash digital call), puts by parity."""
    spot, strike, sigma0 = row.spot, row.strike, math.sqrt(row.v0)
    price = value(spot, strike, sigma0)
    delta = rich(lambda s: value(s, strike, sigma0), spot, step * spot)
    vega = rich(lambda v: value(spot, strike, v), sigma0, step * sigma0)
    if row.option_type == "put":
        disc, carry = math.exp(-row.rate * row.maturity), math.exp(-row.dividend * row.maturity)
        if row.instrument == "european":
            return price - spot * carry + strike * disc, delta - carry, vega
        return disc - price, -delta, -vega
    return price, delta, vega


def quantlib(row) -> tuple[float, float, float]:
    if row.instrument == "european":
        return greeks_of(row, lambda s, k, v: quantlib_call(row, s, k, v), 2e-3)
    return greeks_of(row, lambda s, k, v: -rich(lambda x: quantlib_call(row, s, x, v), k,
                                                2e-3 * k), 2e-3)


def gil_pelaez(row) -> tuple[float, float, float]:
    which = 0 if row.instrument == "european" else 1
    return greeks_of(row, lambda s, k, v: gil_pelaez_call(row, s, k, v)[which], 1e-3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="5,11,23,31,37,41,43,47,53,59,61,67,71,73,79")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--paths", type=int, default=2_000_000)
    parser.add_argument("--se-paths", type=int, default=200_000)
    parser.add_argument("--worst", type=int, default=3, help="rows per Greek checked by quad")
    args = parser.parse_args()
    frame = pd.concat([random_rows(int(s), args.rows) for s in args.seeds.split(",")],
                      ignore_index=True)
    rows = list(frame.itertuples(index=False))
    ours = np.array([reference(r) for r in rows])
    diff = np.abs(ours - np.array([quantlib(r) for r in rows]))
    picked = sorted({int(i) for g in range(3) for i in np.argsort(diff[:, g])[-args.worst:]})
    check = frame.iloc[picked].reset_index(drop=True)
    se = greeks.price_portfolio(check, seed=1, paths=args.se_paths, threads=1)
    se = se[[f"{g}_se" for g in GREEKS]].to_numpy() * math.sqrt(args.se_paths / args.paths)
    quad_diff = np.abs(ours[picked] - np.array([gil_pelaez(rows[i]) for i in picked]))
    print(f"{len(rows)} rows; largest |reference − QuantLib| per Greek "
          f"(price, delta, vega): " + ", ".join(f"{d:.1e}" for d in diff.max(axis=0)) + "\n")
    print(f"| id | instrument | type | {' | '.join(f'QuantLib {g}' for g in GREEKS)} | "
          f"{' | '.join(f'quad {g}' for g in GREEKS)} |")
    print("| --- | --- | --- |" + " ---: |" * 6)
    for j, i in enumerate(picked):
        r = rows[i]
        cells = [f"{diff[i, g]:.1e} ({diff[i, g] / se[j, g]:.1e} SE)" for g in range(3)]
        cells += [f"{quad_diff[j, g]:.1e} ({quad_diff[j, g] / se[j, g]:.1e} SE)"
                  for g in range(3)]
        print(f"| {r.id} | {r.instrument} | {r.option_type} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
