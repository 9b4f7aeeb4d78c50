"""What one variance transition of the exact scheme costs, part by part, one thread.

    python benchmarks/exact_profile.py [--draws 200000] [--repeats 7]

On the transitions of benchmarks/bench_heston.py (κ = 1.5, θ = 0.04, ξ = 0.5, Δ = 1/52:
d = 4κθ/ξ² = 0.96 < 1, λ = v e^{−κΔ}/c with v drawn from the stationary Gamma law of the
variance, so μ = λ/2 has median 7 and mean 16) and at d = 2.67 (ξ = 0.3, the d ≥ 1
sampler), in ns per transition (numba loops over fixed arrays of draws; the fastest of the
repeats, the least disturbed by other jobs): the whole χ'²_d(λ) variate by the direct
inversions (:func:`greeks.maths.noncentral_chi_square_variate`, QE's first step and the
exact scheme's before its tables) and by the tables (:func:`greeks.maths.
tabulated_noncentral_chi_square_variate`), and their parts: the Gamma(a) variate, the
zero-degree quantile, one evaluation of its distribution function and the Bessel count
(drawn only when the (κ, θ, ξ, ρ) scores are kept).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from numba import njit

from greeks.maths import (
    _zero_dof_cdf,
    bessel_quantile,
    log_gamma_by_inversion,
    noncentral_chi_square_variate,
    normal_cdf,
    tabulated_log_gamma_quantile,
    tabulated_noncentral_chi_square_variate,
    tabulated_zero_dof_quantile,
    zero_dof_quantile,
)
from greeks.models.heston.exact import exact_tables

KAPPA, THETA, DT = 1.5, 0.04, 1.0 / 52.0


@njit(cache=True)
def _direct(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    total = 0.0
    for p in range(lam.size):
        total += noncentral_chi_square_variate(lam[p], shape, z[p], u_gamma[p], u_boost[p])[0]
    return total


@njit(cache=True)
def _tabulated(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    total = 0.0
    for p in range(lam.size):
        total += tabulated_noncentral_chi_square_variate(
            lam[p], shape, z[p], u_gamma[p], u_boost[p], gamma_table, starts, reciprocals)[0]
    return total


@njit(cache=True)
def _gamma_direct(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    a = 0.5 * shape if shape < 1.0 else 0.5 * (shape - 1.0)
    total = 0.0
    for p in range(lam.size):
        total += log_gamma_by_inversion(a, u_gamma[p], u_boost[p])
    return total


@njit(cache=True)
def _gamma_tabulated(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    a = 0.5 * shape if shape < 1.0 else 0.5 * (shape - 1.0)
    total = 0.0
    for p in range(lam.size):
        total += tabulated_log_gamma_quantile(gamma_table, u_gamma[p]) + np.log(u_boost[p]) / a
    return total


@njit(cache=True)
def _zero_direct(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    total = 0.0
    for p in range(lam.size):
        total += zero_dof_quantile(0.5 * lam[p], min(normal_cdf(z[p]), 1.0 - 2.0 ** -53))
    return total


@njit(cache=True)
def _zero_tabulated(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    total = 0.0
    for p in range(lam.size):
        total += tabulated_zero_dof_quantile(0.5 * lam[p], min(normal_cdf(z[p]), 1.0 - 2.0 ** -40),
                                             starts, reciprocals)
    return total


@njit(cache=True)
def _one_cdf(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    total = 0.0
    for p in range(lam.size):
        mu = 0.5 * lam[p]
        if mu < 90.0:  # the sum from 0 (the lower start μ − 10√μ is then below 1)
            total += _zero_dof_cdf(mu, mu + 1e-3, 0, np.exp(-mu), 0.0, reciprocals)[0]
    return total


@njit(cache=True)
def _bessel(lam, shape, z, u_gamma, u_boost, gamma_table, starts, reciprocals):
    total = 0
    for p in range(lam.size):
        total += bessel_quantile(0.5 * shape - 1.0, np.sqrt(lam[p] * (lam[p] + shape)),
                                 u_boost[p])
    return total


PARTS = {
    "χ'²_d(λ) variate, direct inversions": _direct,
    "χ'²_d(λ) variate, tabulated": _tabulated,
    "Gamma(a) variate, direct (Halley on P(a + 1, x))": _gamma_direct,
    "Gamma(a) variate, tabulated (cubic Hermite in the logit)": _gamma_tabulated,
    "zero-degree quantile, direct (Cornish–Fisher start)": _zero_direct,
    "zero-degree quantile, tabulated start, one Halley step": _zero_tabulated,
    "one evaluation of the zero-degree distribution function (μ < 90)": _one_cdf,
    "Bessel count (with the parameter scores only)": _bessel,
}


def transitions(xi: float, draws: int, rng: np.random.Generator):
    e = math.exp(-KAPPA * DT)
    c = xi * xi * (1.0 - e) / (4.0 * KAPPA)
    shape = 4.0 * KAPPA * THETA / (xi * xi)
    v = rng.gamma(0.5 * shape, 2.0 * THETA / shape, draws)  # the stationary law
    u = rng.random((2, draws))
    u[u == 0.0] = 2.0 ** -54
    return v * e / c, shape, rng.standard_normal(draws), u[0], u[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    print("| part | ns, d = 0.96 (ξ = 0.5) | ns, d = 2.67 (ξ = 0.3) |")
    print("| --- | ---: | ---: |")
    cases = [transitions(xi, args.draws, rng) for xi in (0.5, 0.3)]
    inputs = [(*case, *exact_tables(case[1])) for case in cases]
    for name, part in PARTS.items():
        cells = []
        for case in inputs:
            if case[1] >= 1.0 and "zero-degree" in name:
                cells.append("—")
                continue
            part(*(x[:10] if isinstance(x, np.ndarray) and x.ndim == 1 else x for x in case))
            best = math.inf
            for _ in range(args.repeats):
                start = time.perf_counter()
                part(*case)
                best = min(best, time.perf_counter() - start)
            cells.append(f"{best / args.draws * 1e9:.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
