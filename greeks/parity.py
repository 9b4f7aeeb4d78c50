"""Knock-ins by in–out parity on the knock-out's survival-conditioned paths.

A knock-in and its knock-out twin (the same strike, barrier and monitoring dates, "in"
turned to "out") test the barrier on the same dates the same way, and exactly one of them
pays, so path by path

    1{touched} g(S_T) + 1{not touched} g(S_T) = g(S_T),    KI = V − KO,

V the european's value at T (discrete monitoring: the identity is exact).  Where a model
prices the twin by survival conditioning (:mod:`greeks.survival`, Y = DF(T) Π p_i g(S_T),
E[Y] = KO) and has V in closed form (:meth:`greeks.models.base.Model.parity_values`), the
knock-in's estimator is

    V − Y,

and each Greek's likewise: the closed form's Greek less the twin's estimator of it
(pathwise delta and vega, the likelihood-ratio multipliers of the further Greeks on the
conditioned paths).  It is the survival estimator of −KO plus a known constant, so it is
unbiased and its variance is the twin's: a rarely hit knock-in, whose payoff few paths of
an unconditioned simulation carry (and whose standard error such a sample gets wrong),
gets the standard error of a smooth estimator of the knock-out.  The Greeks the twin's
family does not estimate are not estimated here either.

The twins run on the knock-ins' group as it is (its streams, dates, weights, totals and
further Greeks; knock-ins of one barrier and one set of monitoring dates share their paths)
with the barrier's kind turned; a chunk's moments are then turned: a row's mean m becomes
V − m, its M2 stays, and a total or subtotal of the rows it holds, Σ weight · m, becomes
Σ weight · (V − m), its M2 unchanged (each unit's total moves by the same constant).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from greeks import payoffs
from greeks.engine.methods import Family

# a knock-in's code → its knock-out twin's (greeks.payoff_table.KNOCK_OUT_TWIN by code)
_TWIN = {payoffs.UP_AND_IN: payoffs.UP_AND_OUT, payoffs.DOWN_AND_IN: payoffs.DOWN_AND_OUT}


def knock_out_twin(group):
    """The group of knock-ins by parity as their knock-out twins' survival group: the same
    group, the barrier's kind turned to the knock-out."""
    kinds = np.array([_TWIN[int(k)] for k in group.payoff.barrier_kind], dtype=np.int64)
    return replace(group, payoff=group.payoff._replace(barrier_kind=kinds),
                   method=Family.SURVIVAL)


def knock_in(group, moments: np.ndarray, vanilla: np.ndarray) -> np.ndarray:
    """The twins' chunk ``moments`` ((rows + totals, Greeks, 2): (mean, M2) of each row,
    then of the group total and its subtotals) turned to the knock-ins': row j's mean m_j
    to V_j − m_j (``vanilla``: rows × Greeks, V's value and Greeks in the chunk's order), a
    total's mean Σ w_j m_j over the rows it holds to Σ w_j (V_j − m_j); the M2s stay (each
    unit's total moves by the same constant)."""
    rows = group.n_rows
    out = moments.copy()
    out[:rows, :, 0] = vanilla - moments[:rows, :, 0]
    weight = np.concatenate([group.weight,
                             np.repeat(group.extra_weight[:, None], moments.shape[1] - 3,
                                       axis=1)], axis=1)
    for t in range(moments.shape[0] - rows):
        held = np.ones(rows, dtype=bool) if t == 0 else group.total_of == t
        out[rows + t, :, 0] = (weight[held] * out[:rows, :, 0][held]).sum(axis=0)
    return out
