"""Heston inputs: the parameter columns, the schemes' names and the rows no weight can price.

No numba here: validation and option checks import this module alone.
"""

from __future__ import annotations

import numpy as np

PARAMETERS = ("v0", "kappa", "theta", "xi", "rho")
QE, EXACT, EULER = 0, 1, 2
SCHEME_CODES = {"qe": QE, "exact": EXACT, "euler": EULER}


def from_zero_without_feller(v0, kappa, theta, xi):
    """Whether the chain starts at v0 = 0 with 2κθ < ξ² (scalars or arrays): its first
    variance then has a density ∝ v^{d/2 − 1} near 0 (d = 4κθ/ξ² < 2), and every weight that
    divides by the first integrated variance (the delta weight R/(S0 V), the Gaussian terms
    of the parameter scores) has no usable variance."""
    with np.errstate(invalid="ignore", over="ignore"):
        return (np.asarray(v0) == 0) & (2 * np.asarray(kappa) * np.asarray(theta)
                                        < np.asarray(xi) ** 2 * (1 - 1e-12))
