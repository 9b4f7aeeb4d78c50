"""What a model tells the engine: the adapter interface.

The engine plans *simulation groups* (one model, one parameter set, one spot, one grid,
many rows) and runs them in chunks; everything that depends on the model goes through
its adapter, an instance of a :class:`Model` subclass:

* what it supports: the instruments it prices by conditional Monte Carlo
  (``conditioned``), by pathwise derivatives (``pathwise``), whether knock-outs are priced
  on survival-conditioned paths (``survival``; knock-ins then by parity with the vanilla's
  closed form, :meth:`parity_values`), which further Greeks its likelihood-ratio
  chunk estimates (``further``), and the cost of each estimator family relative to
  likelihood ratio (``relative_cost``);
* planning: the parameter columns (``parameters``), the steps its grid needs besides the
  rows' dates (:meth:`grid_steps`), whether the chain keeps E[S_t] exact and whether its
  first step is sampled (:meth:`chain_flags`);
* running a chunk: likelihood ratio (:meth:`run_likelihood_ratio`), randomised QMC
  (:meth:`run_rqmc`), pathwise values (:meth:`pathwise_values`) and the paths of the
  finite differences (:meth:`bumped_paths`);
* the standard-error floor's volatility scale (:meth:`floor_sigma`);
* early exercise (:mod:`greeks.exercise`): paths with what the policy and the Greeks
  under it read (:meth:`exercise_paths`), solved policies (:meth:`exercise_boundaries`, or
  per row tabulated rules, :meth:`exercise_table`), what a regressed policy reads (the
  remaining variance of its basis, :meth:`exercise_variance`; a table's nodes,
  :meth:`exercise_table_nodes`), the European option's
  Greeks (the controls' means, :meth:`european_price`), the hedge controls of a chunk
  (:meth:`exercise_hedges`), the dual upper bound (:meth:`upper_bound`);
* off a market: the parameters the market's dynamics carry (``market_carried``), a
  group's parameters (:meth:`market_params`), the
  volatility of a row's finite-difference proxy (:meth:`proxy_vol`);
* the further Greeks filled in by bump and revalue beside the engine's run (``revalued``,
  :meth:`revalued_greeks`).

A group's ``params`` are the values of ``parameters`` in that order.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np


class Bumped(NamedTuple):
    """Paths for central differences on common random numbers (:mod:`greeks.pathwise`):
    prices ``s`` (paths × stored dates) with the column of each row date (``columns``), the
    bumped price arrays S0·(1 ± h), S0·(1 ± 2h), σ ± h_σ, σ ± 2h_σ, the spot step h·S0, the
    vol step h_σ, and, where a row is valued by conditional Monte Carlo,
    ``conditional(j, column)`` giving its values at the base and then at each bump, in
    that order."""

    s: np.ndarray
    columns: np.ndarray
    bumped: list
    spot_step: float
    vol_step: float
    conditional: Callable | None


class BrownianPaths(NamedTuple):
    """A chunk of paths for early exercise under solved boundaries
    (:func:`greeks.payoffs.exercise_values_solved`): Brownian paths ``w`` (paths × stored
    dates, ``columns`` the stored column of each row date) and the log-price at volatility
    σ_m, ``means[m]`` + ``sigmas[m]`` w, for σ, σ + k, σ − k, σ + 2k, σ − 2k; no prices
    stored."""

    w: np.ndarray
    means: np.ndarray
    sigmas: np.ndarray
    columns: np.ndarray


class CarryPaths(NamedTuple):
    """What the exercise kernel reads for theta and rho (:func:`greeks.payoffs.
    exercise_values`): ``rate_score`` (paths × stored dates: the weight R(t) − t of a payoff
    paid at t for rho), two moved sets of paths ``reshaped`` (2 × paths × stored dates) with
    their variance states ``reshaped_state`` (no columns where the policy reads none) and the
    change of log DF per grid point of each (``reshaped_log_discount``, 2 × grid), and
    ``terms`` (a, b, c, d_0, d_1): theta = a Y − b S0 Δ − c Γ + Y_0/d_0 + Y_1/d_1, Y_m the
    discounted payoff on moved set m.  With ``price_slope`` (paths × stored dates: ∂S(t)/∂ε
    of a parallel rate shift ε, path by path) rho is taken pathwise with the stopping time
    held fixed instead, the row's weight of a payoff paid at t being
    ∂S(t)/∂ε/(S(t) − K) − t (:func:`greeks.exercise.pathwise_rate_score`); ``rate_score``
    then holds the stored dates' times."""

    rate_score: np.ndarray
    reshaped: np.ndarray
    reshaped_state: np.ndarray
    reshaped_log_discount: np.ndarray
    terms: np.ndarray
    price_slope: np.ndarray | None = None


class ExercisePaths(NamedTuple):
    """A chunk of paths for early exercise (:mod:`greeks.exercise`): prices ``s`` (paths ×
    stored dates) with the stored column of each row date (``columns``, ``date_index``
    order) and the variance state u that a tabulated rule reads on the same columns (no
    columns without one); the same on common random numbers at σ ± k, k =
    :meth:`Model.exercise_vol_step` (``vol_s``, ``vol_state``: 4 × paths × stored dates, at
    σ + k, σ − k, σ + 2k, σ − 2k)."""

    s: np.ndarray
    state: np.ndarray
    vol_s: np.ndarray
    vol_state: np.ndarray
    columns: np.ndarray
    spot_s: np.ndarray = np.empty((0, 0, 0))  # S not linear in S0 (cash dividends): the
    # paths from S0 (1 + h), S0 (1 − h), S0 (1 + 2h), S0 (1 − 2h) (greeks.payoffs.SPOT_STEP)
    # or, where given, ``spot_moves(h)`` for a row's own h (Model.exercise_spot_step: GBM's
    # and Heston's)
    carry: CarryPaths | None = None  # with theta and rho (carries_exercise)
    linear: np.ndarray = np.empty((0, 0))  # a price control of the model's own where it has
    # one, per path and row (Model.exercise_controls)
    spot_moves: Callable[[float], np.ndarray] | None = None


class Model:
    """The adapter interface (see the module docstring); subclasses set the attributes and
    implement the methods."""

    name: str = ""
    parameters: tuple[str, ...] = ()
    conditioned: tuple[int, ...] = ()   # payoff codes by conditional Monte Carlo
    pathwise: tuple[int, ...] = ()      # payoff codes with pathwise delta and vega
    survival: bool = False              # knock-outs on survival-conditioned paths
    further: tuple[int, ...] = ()       # codes of greeks.sensitivities.NAMES by LR
    relative_cost: dict = {}            # family → cost per path relative to LR
    solves_exercise: bool = False       # exercise_boundaries solved, not a table
    # an exercise group's cost per path on single paths relative to antithetic pairs
    # (flat parameters, off a market; greeks.exercise.prepare with ``choose``)
    single_cost: tuple[float, float] = (1.0, 1.0)
    # progress units (greeks.engine.progress) per family: per path and grid date, per path
    # and row date; of an exercise policy's fit per pilot path and grid date; the share of a
    # competing family's main run that auto is expected to make
    step_cost: dict = {}
    row_cost: dict = {}
    fit_cost: float = 10.0
    alternative_share: dict = {}
    # the shares of a finite-difference chunk's cost in its spot bumps and its vol bumps
    # (a group that takes neither costs the rest: the base paths and payoffs)
    bump_share: tuple[float, float] = (0.0, 0.0)
    # off a market: the parameter columns that the row's market dynamics carry (GBM's vol,
    # its vol curve), left out of a dated group's key
    market_carried: tuple[str, ...] = ()
    # off a market: a dated group's key (and so its streams) names only the cash dividends
    # paid by the last expiry of its rows, so that one paid later changes nothing
    keys_paid_dividends: bool = False
    # further Greeks (greeks.names.GREEKS) its rows get by bump and revalue beside the
    # engine's run (:meth:`revalued_greeks`; :mod:`greeks.revaluation`)
    revalued: tuple[str, ...] = ()

    def market_params(self, row, dynamics, maturity: float) -> tuple:
        """A group's ``params`` off a market (:func:`greeks.engine.plan._plan_dated_group`):
        its first ``row``'s parameter columns; a model whose ``market_carried`` columns the
        market's ``dynamics`` hold reads them there, to ``maturity`` (its last expiry)."""
        return tuple(float(row[name]) for name in self.parameters)

    def lr_delta_unusable(self, frame) -> np.ndarray:
        """Rows (bool per row of ``frame``, all of this model) whose likelihood-ratio delta
        weight has no finite variance: priced by other families or refused."""
        return np.zeros(len(frame), dtype=bool)

    def grid_steps(self, params: tuple, maturities: np.ndarray, steps_per_year: float,
                   first_step: float, paths: int = 0) -> list[np.ndarray]:
        """Grid points the chain needs besides the rows' dates (none for an exact chain)
        in a run of ``paths`` paths (0: unknown), which may refine a discretised chain's
        grid so that its bias stays small against the standard error."""
        return []

    def chain_flags(self, params: tuple, grid: np.ndarray, scheme: int,
                    steps_per_year: float, carry: float, paths: int = 0) -> tuple[bool, bool]:
        """(martingale, sampled_first): whether E[S_t] is exact on the chain (the linear
        controls may be used), whether the first step is sampled given its end points."""
        return True, False

    def floor_sigma(self, params: tuple) -> tuple[float, bool]:
        """(σ, vega exactly 0): the volatility scale of the unseen-event SE floor."""
        raise NotImplementedError

    def conditional_rows(self, group) -> np.ndarray:
        """Per row of ``group``: valued by conditional Monte Carlo, a ``conditioned`` payoff
        of a group with ``conditional`` set, unless a cash dividend falls on or before its
        expiry off a market."""
        rows = np.isin(group.payoff.kind, self.conditioned) & group.conditional
        if group.market is not None:
            rows &= ~group.market.cash_rows
        return rows

    def run_likelihood_ratio(self, group, rng, n_paths: int, coef, collect: bool, out, sums):
        """Simulate a chunk and put every row's likelihood-ratio (or conditional) moments
        into ``out`` (pilot sums into ``sums`` with ``collect``).  Returns the prices on
        the stored dates, the column of each row date, ``multipliers(j, dates, out)``
        filling row j's further-Greek multipliers (:mod:`greeks.sensitivities`), and the
        prices the further Greeks' linear control L reads (:func:`greeks.estimators.
        linear_payoff`; the same prices but where a model's L needs others)."""
        raise NotImplementedError

    def run_rqmc(self, group, seed: int, replicate: int, rng, n_paths: int, coef, out,
                 sums) -> None:
        """One randomised QMC replicate's likelihood-ratio moments into ``out`` (``rng``: the
        chunk's generator, for draws the points do not give)."""
        raise NotImplementedError

    def run_survival(self, group, rng, n_paths: int, out):
        """A knock-out row on survival-conditioned paths (models with ``survival``): its
        moments into ``out``; returns Y (as the one column of a price array), its column
        and the multiplier function (L is 0 there)."""
        raise NotImplementedError

    def parity_values(self, group) -> np.ndarray:
        """Each knock-in's vanilla (the european at its strike and expiry) in closed form,
        exact on the group's market (models with ``survival``; :mod:`greeks.parity`): per
        row its price, delta, vega and the group's further Greeks ``extra``, in that order
        (rows × (3 + extras))."""
        raise NotImplementedError

    def pathwise_values(self, group, stream, n_paths: int) -> list[np.ndarray]:
        """Per row, the (3 × paths) pathwise price, delta and vega."""
        raise NotImplementedError

    def bumped_paths(self, group, stream, n_paths: int, spot_bumps: bool = True,
                     vol_bumps: bool = True) -> Bumped:
        """The paths of the central differences (:class:`Bumped`); without ``spot_bumps``
        (``vol_bumps``) its spot (vol) bumps' prices are None."""
        raise NotImplementedError

    def exercise_paths(self, group, stream, n_paths: int) -> ExercisePaths | BrownianPaths:
        """A chunk's paths for early exercise, from ``stream``, with the moved ones of the
        Greeks: :class:`ExercisePaths` (prices and the states a tabulated rule reads), or
        :class:`BrownianPaths` where a solved boundary reads the log-price alone."""
        raise NotImplementedError

    def vega_sigma(self, params: tuple) -> float:
        """The volatility that vega differentiates (σ; σ0 = sqrt(v0) under Heston)."""
        raise NotImplementedError

    def exercise_vol_step(self, group) -> float:
        """k, the volatility step of the early-exercise vega (σ ± k; σ0 under Heston)."""
        raise NotImplementedError

    def exercise_spot_step(self, group, j: int) -> float:
        """h, row j's relative spot step of the early-exercise delta and gamma (S0 (1 ± h),
        S0 (1 ± 2h)): ``greeks.payoffs.SPOT_STEP``."""
        from greeks.payoffs import SPOT_STEP

        return SPOT_STEP

    def exercise_boundaries(self, group, j: int, sigma: float, times: np.ndarray) -> np.ndarray:
        """The optimal exercise boundaries of row j exercisable on ``times`` (years, the last
        its maturity) at volatility ``sigma``, one per date before maturity (a put exercises
        at S ≤ b, a call at S ≥ b; 0 or inf: never), in models with ``solves_exercise``
        (the others rule their rows by a table: :meth:`exercise_table`)."""
        raise NotImplementedError

    def exercise_table(self, group, j: int, times: np.ndarray,
                       dates: np.ndarray) -> tuple[float, np.ndarray]:
        """(1/Δu, levels: ``times``.size × nodes) of row j's tabulated rule (the fields
        ``table_scale`` and ``table`` of :class:`greeks.payoffs.PayoffSpec`, read by
        :func:`greeks.payoffs.stopping_index`) on its exercise dates ``times`` (the last its
        maturity), exercising on the dates of index ``dates`` only (the maturity among them;
        the others 0: never)."""
        raise NotImplementedError

    def exercise_variance(self, group, j: int, times: np.ndarray, sigma: float) -> np.ndarray:
        """(2, ``times``.size): a_i, b_i of the variance a_i + b_i u of the log-price from each
        of row j's dates to its maturity (the last of ``times``) given the path's variance
        state u there, at volatility ``sigma``: the European value in the basis of a
        regressed policy (:mod:`greeks.exercise_regression`)."""
        raise NotImplementedError

    def exercise_table_nodes(self, group, times: np.ndarray) -> tuple[float, np.ndarray]:
        """(1/Δw, the nodes u_m = (m Δw)²) of a tabulated rule on the dates ``times``
        (:meth:`exercise_table`; a regressed policy's table too), in models without
        ``solves_exercise``."""
        raise NotImplementedError

    zero_volatility: bool = False  # the volatility a ladder shifts may reach 0
    ladder_market: bool = False  # the ladder reweights its rows off a market (else
    # re-prices them at every scenario)

    def volatility(self, rows) -> np.ndarray:
        """Per row of this model (a frame), the volatility a ladder's ``--vol`` shifts (σ; σ0
        = sqrt(v0) under Heston)."""
        raise NotImplementedError

    def with_volatility(self, rows, shift: float):
        """The rows (a frame) with that volatility moved by ``shift``."""
        raise NotImplementedError

    def ladder_paths(self, group, rng, n_paths: int):
        """(prices, the columns of the rows' dates, ratio) of a ladder's chunk
        (:mod:`greeks.ladder`): ``ratio(j, logs, vols)`` the (paths × scenarios)
        likelihood ratio of the group's row j for spot moves log(1 + x) = ``logs`` and
        volatility shifts ``vols`` (0 where the model cannot reweight: re-simulated)."""
        raise NotImplementedError

    def ladder_fraction(self, group, seed: int, paths: int, logs, vols,
                        threads: int | None = None, scheduler: str = "local") -> np.ndarray:
        """(rows × scenarios) effective sample size 1/E[ρ²] of those ratios, as a fraction of
        the paths (``paths``: a pilot's size where it is estimated, its chunks run on
        ``threads`` or ``scheduler``)."""
        raise NotImplementedError

    def revalued_greeks(self, frame, names, paths: int, seed: int, scheme: str,
                        steps_per_year: float, first_step: float, method: str,
                        threads: int | None = None, scheduler: str = "local"):
        """(mean, se, total_mean, total_se, choice) of the Greeks ``names`` (of ``revalued``)
        of this model's rows of a flat-market frame (NaN and "" for the others), by bump and
        revalue on ``paths`` paths; totals weighted by quantity; ``choice`` names each
        row's estimator; the chunks run on ``threads`` or ``scheduler``."""
        raise NotImplementedError

    def upper_bound(self, row, times: np.ndarray, *, paths: int, seed: int, american: bool,
                    richardson: bool, market=None):
        """The dual upper bound of an american or bermudan row (a mapping of a validated
        frame; ``market``: its :class:`greeks.market.dynamics.RowMarket` where it is priced off
        a market) exercisable on ``times`` (:class:`greeks.duality.UpperBound`), or None where
        the model has none."""
        return None

    buckets = False  # whether rows off a market get bucketed Greeks (:mod:`greeks.engine.buckets`)

    def bucket_row(self, group, j: int, frame, market):
        """What row j of a dated group adds to a chunk of the bucketed Greeks: an object with
        ``position``, ``labels``, ``kinds``, ``control`` (∂E[L]/∂θ per factor, NaN without a
        control), ``sample(paths, group, j)`` → (g, h, f) (factors × paths: the derivatives of
        f and of the control L, or their per-path estimators; f the discounted payoff per
        path), ``counted`` (per label and parallel shift: whether its estimate weighs the
        payoff, so that its SE takes the few-carrying-units rule,
        :func:`greeks.engine.buckets.carried_se`) and ``parallel(r)`` (``r`` with the
        parallel shifts appended)."""
        raise NotImplementedError

    def bucket_paths(self, group, rng, count: int, theta: bool = True):
        """One chunk of a dated group's paths, in antithetic pairs, as its bucket rows'
        ``sample`` reads them; without ``theta`` a model may leave out what only its rows'
        theta reads (their theta is then NaN)."""
        raise NotImplementedError

    exercise_buckets = False  # whether american and bermudan rows off a market get them

    def exercise_bucket_rows(self, group, frame, market) -> list:
        """What each row of a prepared exercise group (:func:`greeks.exercise.prepare`) adds
        to a chunk of the bucketed Greeks: as :meth:`bucket_row`'s, with no ``sample``."""
        raise NotImplementedError

    def exercise_bucket_samples(self, group, rows, stream, count: int) -> list:
        """Per row of :meth:`exercise_bucket_rows`, (g, h) on one chunk of ``count`` paths (in
        antithetic pairs) from ``stream`` (a ``SeedSequence``): the main run's exercise
        paths."""
        raise NotImplementedError

    def proxy_vol(self, group, j: int, dynamics):
        """The vol curve (:class:`greeks.market.volatility.VolCurve`) at which the GBM
        finite-difference American value off ``dynamics`` stands in for row j's, a smooth
        proxy of its value in the market (:func:`greeks.exercise_moves.cash_step`)."""
        raise NotImplementedError

    carries_exercise: bool = False  # the exercise kernels estimate theta and rho

    def exercise_carry_means(self, group, means: np.ndarray, sigma: float) -> np.ndarray:
        """(rows, 2): the exact means of the European theta and rho controls of the
        exercise kernels (NaN: no control), from ``means`` (price, delta, vega, gamma of
        :func:`greeks.exercise.european_greeks`), in models with ``carries_exercise``."""
        raise NotImplementedError

    def european_price(self, group, j: int, spot: float, sigma: float) -> float:
        """The closed-form price of row j's European option (same strike, type and maturity)
        from ``spot`` at volatility ``sigma`` (σ0 under Heston): the early-exercise controls'
        means (or those of the control :meth:`exercise_controls` puts in its place)."""
        raise NotImplementedError

    def exercise_controls(self, group, paths, j: int, controls: np.ndarray) -> None:
        """In place: row j's European controls ``controls`` on a chunk's ``paths`` (of
        :func:`greeks.payoffs.exercise_values`) replaced by a control of the model's own
        where it has one, their means then :meth:`european_price`'s and
        :meth:`exercise_carry_means`'; none by default."""

    def hedges_exercise(self, group, paths) -> bool:
        """Whether a chunk's exercise ``paths`` get hedge controls (:meth:`exercise_hedges`)."""
        return False

    def exercise_hedges(self, group, paths, j: int, stops: np.ndarray) -> np.ndarray:
        """Row j's hedge controls on a chunk's ``paths`` (4 × paths, each of mean exactly
        zero: of the price, delta, vega and gamma estimators of
        :func:`greeks.payoffs.exercise_values`, whose stopping indices are ``stops``), where
        :meth:`hedges_exercise`."""
        raise NotImplementedError
