"""The simulation group: one model, its parameters, a grid, and the rows priced on it;
its chunks of paths."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from greeks import payoffs, rqmc, sensitivities
from greeks.engine.methods import Family
from greeks.models import adapter as model_of

MAX_CHUNK = 1 << 16
MIN_CHUNK = 1 << 8
CHUNK_CELLS = 1 << 20  # path-dates per chunk: bounds memory at ~8 MB per array


@dataclass
class Group:
    """One simulation: a model and its parameters, a grid, and the rows priced on it."""

    key: str
    spawn_words: tuple
    model: str
    spot: float
    rate: float
    dividend: float
    params: tuple   # the model's parameters (its adapter's ``parameters``)
    positions: np.ndarray  # rows of the frame, ordered by id
    times: np.ndarray      # simulation grid, increasing, > 0
    date_start: np.ndarray  # row j's dates are date_index[date_start[j]:date_start[j + 1]]
    date_index: np.ndarray
    payoff: payoffs.PayoffSpec  # the rows' payoffs
    weight: np.ndarray    # (rows, 3): each row's weight in the totals, per Greek
    extra_weight: np.ndarray  # (rows,): its weight in the totals of the further Greeks
    total_of: np.ndarray  # (rows,): the row's subtotal slot (1..), 0 if in none
    subtotals: np.ndarray  # global subtotal id of each slot 1..
    forward: np.ndarray  # E[L] of each row's linear payoff (the controls' known means)
    scheme: int = 0  # the index of the model's discretisation in SCHEMES
    martingale: bool = True  # the chain keeps E[S_t] exact: the L-controls may be used
    coef: np.ndarray | None = None  # (rows, 3, N_CONTROLS) control coefficients β; None: 0
    conditional: bool = True  # the model's ``conditioned`` rows by conditional Monte Carlo
    sampled_first: bool = False  # Heston qe/exact: the first step's integrated variance is
    # drawn given its end points (a first step longer than the regular ones)
    antithetic: bool = False  # GBM paths in antithetic pairs
    method: Family = Family.LR  # the estimator family of its rows
    simulation: str = ""  # the simulation's key (``key`` without the family of a separate one)
    maturity: np.ndarray | None = None  # (rows,)
    extra: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    extra_means: np.ndarray | None = None  # (rows, extra, 2): control means of the extras
    extra_coef: np.ndarray | None = None   # (rows, extra, 2): their coefficients
    market: object = None  # rows priced off a market: a greeks.engine.dated.DatedGrid
    exercise_means: np.ndarray | None = None  # (rows, 4): the European controls' means
    exercise_coef: np.ndarray | None = None   # (rows, 4): their coefficients (greeks.exercise)
    hedge_coef: np.ndarray | None = None  # (rows, 4): the hedge controls' (greeks.exercise)
    needed: np.ndarray | None = None  # (rows, 3): the price, delta and vega ``auto`` takes
    # from this family's run (finite differences bump only for those); None: all

    @property
    def n_rows(self) -> int:
        return self.payoff.kind.size

    @property
    def n_statistics(self) -> int:
        """Per-row outputs after the Greeks: the exercise statistics of an exercise group."""
        return 2 if self.method is Family.EXERCISE else 0

    @property
    def n_totals(self) -> int:
        """The group total and its subtotals."""
        return 1 + self.subtotals.size

    def with_totals(self, weight: np.ndarray, subtotal: np.ndarray) -> "Group":
        """This group with the rows' ``weight`` (frame rows × 3 for price, delta, vega, and
        optionally a 4th column for the further Greeks) and global ``subtotal`` ids (frame
        rows; −1: in none), both indexed by frame position."""
        ids = subtotal[self.positions]
        slots = np.unique(ids[ids >= 0])
        total_of = np.where(ids >= 0, np.searchsorted(slots, ids) + 1, 0).astype(np.int64)
        rows = np.asarray(weight[self.positions], dtype=float)
        return replace(self, weight=np.ascontiguousarray(rows[:, :3]),
                       extra_weight=np.ascontiguousarray(rows[:, 3]) if rows.shape[1] > 3
                       else self.extra_weight,
                       total_of=total_of, subtotals=slots.astype(np.int64))

    def with_extra(self, codes: np.ndarray) -> "Group":
        """This group estimating the further Greeks ``codes`` (of
        :data:`greeks.sensitivities.NAMES`) too, those its model's chunks estimate
        (``further``; Heston's others come from :mod:`greeks.models.heston.sensitivities`;
        an exercise group's: gamma, and theta and rho where ``carries_exercise``)."""
        model = model_of(self.model)
        codes = np.asarray(codes, dtype=np.int64)
        if self.method is Family.EXERCISE:  # gamma; theta and rho where the model's
            # exercise kernels estimate them (greeks.exercise)
            kept = ((sensitivities.GAMMA, sensitivities.THETA, sensitivities.RHO)
                    if model.carries_exercise else (sensitivities.GAMMA,))
            codes = codes[np.isin(codes, kept)]
        else:
            codes = codes[np.isin(codes, model.further)]
            if self.market is not None:  # rows off a market: gamma only
                codes = codes[codes == sensitivities.GAMMA]
        means = np.zeros((self.n_rows, codes.size, 2))
        for j in range(self.n_rows):
            dates = self.times[self.dates_of(j)]
            means[j] = sensitivities.control_means(
                codes, self.rate, self.dividend, self.maturity[j], self.forward[j],
                dates if self.payoff.kind[j] == payoffs.ASIAN else dates[-1:])
        return replace(self, extra=codes, extra_means=means)

    def dates_of(self, j: int) -> np.ndarray:
        """Row j's dates: its indices into ``times``."""
        return self.date_index[self.date_start[j]:self.date_start[j + 1]]

    def units(self, paths: int) -> int:
        """Independent units among ``paths`` paths: pairs when antithetic; a randomised
        QMC replicate is one unit (its mean is one independent draw)."""
        if self.method is Family.RQMC:
            return 1
        return paths // 2 if self.antithetic else paths

    @property
    def chunk_size(self) -> int:
        size = CHUNK_CELLS // self.times.size
        return max(MIN_CHUNK, min(MAX_CHUNK, 1 << max(size.bit_length() - 1, 0)))

    def chunks(self, paths: int) -> list[tuple[int, int]]:
        """(index, size) of each chunk of ``paths`` paths (randomised QMC: one replicate
        of :func:`greeks.rqmc.points_per_replicate` points each)."""
        if self.method is Family.RQMC:
            return [(r, rqmc.points_per_replicate(paths)) for r in range(rqmc.REPLICATES)]
        size = self.chunk_size
        return [(c, min(size, paths - c * size)) for c in range((paths + size - 1) // size)]
