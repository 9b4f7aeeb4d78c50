"""The blocked survival kernel gives the path-major kernel's bits, over a grid of cases.

    python benchmarks/survival_identity.py

:func:`greeks.survival.simulate` against ``baseline`` of ``benchmarks/survival_speed.py``
(the kernel before its blocks) on every combination of: date grids (1 date, 252 daily,
12 monthly, 7 uneven, a first date at 0), up and down barriers (far, near, at the spot,
through the first steps, just beyond the spot, so far beyond that no step survives), path
counts around the block size (0 to 4,096, odd ones without antithetic pairs: the engine
draws pairs only), antithetic or not, two (σ, carry); each with a seed of its own.  w, x,
weight, derivatives and the generator's next draw must be equal (NaN where NaN).  Prints
the number of cases and of paths of weight 0 among them (knocked out, or Π p_i below the
smallest double).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from survival_speed import baseline

from greeks import survival

SPOT = 100.0
GRIDS = (np.array([1.0]), np.arange(1, 253) / 252.0, np.arange(1, 13) / 12.0,
         np.array([0.01, 0.02, 0.1, 0.11, 0.5, 0.75, 2.0]), np.array([0.0, 0.25, 0.5]))
BARRIERS = ((True, 200.0), (True, 101.0), (True, 100.0), (True, 100.3), (True, 99.0),
            (True, 25.0), (False, 50.0), (False, 99.0), (False, 100.0), (False, 99.7),
            (False, 101.0), (False, 400.0))
COUNTS = (0, 1, 2, 3, 63, 64, 65, 127, 200, 1001, 4096)
PARAMETERS = ((0.2, 0.03), (0.6, -0.05))


def run(kernel, seed, n, times, sigma, carry, up, barrier, antithetic):
    out = (np.empty((n, times.size)), np.empty((n, times.size)), np.empty(n),
           np.empty((n, 4)))
    rng = np.random.Generator(np.random.PCG64(seed))
    kernel(rng, n, times, math.log(SPOT), carry, sigma, up, barrier, antithetic, *out)
    return (*out, rng.random())


def main() -> None:
    cases = zero = 0
    for times, (up, barrier), n, antithetic, (sigma, carry) in itertools.product(
            GRIDS, BARRIERS, COUNTS, (False, True), PARAMETERS):
        if antithetic and n % 2:
            continue
        arguments = (cases, n, times, sigma, carry, up, barrier, antithetic)
        new, old = run(survival.simulate, *arguments), run(baseline, *arguments)
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(new, old)), arguments
        zero += int(np.sum(old[2] == 0.0))
        cases += 1
    print(f"{cases} cases bit-identical (w, x, weight, derivatives, the generator's next "
          f"draw); {zero} paths of weight 0 among them")


if __name__ == "__main__":
    main()
