"""Which theta and rho estimators for american and bermudan GBM rows: the SE of each
candidate under the solved policy, on the same paths.

    python benchmarks/american_carry.py [--paths 20000] [--seed 7]

The Longstaff–Schwartz put (S0 = 36, K = 40, r = 6 %, σ = 20 %, T = 1) as a Bermudan on
daily dates and on 50 dates, its policy the finite-difference boundaries
(:func:`greeks.models.gbm.american.exercise_boundaries`), exact GBM steps on the dates (numpy,
independent of the engine's kernels).  Each estimator gets the European option's same
estimator as a control (least squares on the same sample: a variance study, not an
estimate).  Rho: the likelihood ratio Y (W_τ/σ − τ) stopped at the exercise time, the
pathwise derivative with τ held fixed, central differences at r ± δ with the policy kept.
Theta (dates fixed in calendar time): the Black–Scholes equation r Y − (r − q) S0 Δ −
½σ²S0²Γ on the path's price, Richardson delta and gamma by Richardson over h and 2h (the
engine's), at 2h or at h, h = 3 % (no hedge control here), the central difference
in calendar time (the first interval's increment scaled, ε = t_1/2 and 0.9 t_1), and the
likelihood ratio of the first interval.  Writes ``benchmarks/results/american_carry.md``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from greeks.models.gbm.american import american_fd, exercise_boundaries

SPOT, STRIKE, RATE, VOL, MATURITY = 36.0, 40.0, 0.06, 0.2, 1.0
H = 0.03  # the kernel's spot step (greeks.payoffs.SPOT_STEP)


class Put:
    """The Bermudan put on ``n`` dates and its Brownian paths."""

    def __init__(self, n: int, paths: int, seed: int):
        self.t = np.arange(1, n + 1) * MATURITY / n
        edges = exercise_boundaries(SPOT, STRIKE, MATURITY, RATE, 0.0, VOL, False, self.t)
        self.log_edges = np.append(np.where(edges > 0, np.log(np.maximum(edges, 1e-300)),
                                            -np.inf), np.log(STRIKE))
        steps = np.diff(np.concatenate([[0.0], self.t]))
        rng = np.random.default_rng(seed)
        self.w = np.cumsum(rng.standard_normal((paths, n)) * np.sqrt(steps), axis=1)

    def log_path(self, spot=SPOT, rate=RATE, w=None, times=None):
        w = self.w if w is None else w
        times = self.t if times is None else times
        return np.log(spot) + (rate - 0.5 * VOL * VOL) * times + VOL * w

    def value(self, x, rate=RATE, times=None):
        """(discounted payoff under the policy, index of the exercise date or −1)."""
        times = self.t if times is None else times
        hit = -x >= -self.log_edges
        hit[:, -1] = x[:, -1] < np.log(STRIKE)
        stopped = hit.any(axis=1)
        i = np.where(stopped, hit.argmax(axis=1), -1)
        level = np.exp(x[np.arange(x.shape[0]), np.maximum(i, 0)])
        return np.where(stopped, np.exp(-rate * times[i]) * (STRIKE - level), 0.0), i

    def european(self, x, rate=RATE, times=None):
        times = self.t if times is None else times
        return np.exp(-rate * times[-1]) * np.maximum(STRIKE - np.exp(x[:, -1]), 0.0)


def controlled_se(y, c):
    """The SE of the mean of y with c as control variate (coefficient on the same sample)."""
    centred = c - c.mean()
    beta = (centred * (y - y.mean())).sum() / (centred * centred).sum()
    return float((y - beta * centred).std() / np.sqrt(y.size))


def rho_candidates(put: Put) -> dict:
    x = put.log_path()
    y, i = put.value(x)
    e = put.european(x)
    rows = put.w.shape[0]
    out = {}
    stopped = i >= 0
    tau = np.where(stopped, put.t[np.maximum(i, 0)], 0.0)
    w_tau = np.where(stopped, put.w[np.arange(rows), np.maximum(i, 0)], 0.0)
    out["likelihood ratio, stopped at τ"] = controlled_se(
        y * (w_tau / VOL - tau), e * (put.w[:, -1] / VOL - MATURITY))
    level = np.exp(x[np.arange(rows), np.maximum(i, 0)])
    pathwise = np.where(stopped, -tau * y - np.exp(-RATE * tau) * tau * level, 0.0)
    in_money = x[:, -1] < np.log(STRIKE)
    european = np.where(in_money, -MATURITY * e - np.exp(-RATE * MATURITY) * MATURITY
                        * np.exp(x[:, -1]), 0.0)
    out["pathwise, τ held fixed"] = controlled_se(pathwise, european)
    for step in (0.005, 0.01, 0.02):
        up, down = put.log_path(rate=RATE + step), put.log_path(rate=RATE - step)
        out[f"central difference, δ = {step:g}"] = controlled_se(
            (put.value(up, RATE + step)[0] - put.value(down, RATE - step)[0]) / (2 * step),
            (put.european(up, RATE + step) - put.european(down, RATE - step)) / (2 * step))
    return out


def theta_candidates(put: Put) -> dict:
    x = put.log_path()
    y, _ = put.value(x)
    e = put.european(x)
    moved, moved_e = {}, {}
    for m in (1, -1, 2, -2):
        xm = put.log_path(spot=SPOT * (1 + m * H))
        moved[m], moved_e[m] = put.value(xm)[0], put.european(xm)
    shift = H * SPOT

    def identity(v, d, m):
        delta = (2 * (d[1] - d[-1]) - 0.25 * (d[2] - d[-2])) / (3 * shift)
        second = {m: (d[m] - 2 * v + d[-m]) / (m * shift) ** 2 for m in (1, 2)}
        gamma = (4 * second[1] - second[2]) / 3 if m == 0 else second[m]
        return RATE * v - RATE * SPOT * delta - 0.5 * VOL ** 2 * SPOT ** 2 * gamma

    out = {f"the Black–Scholes equation, gamma {label}": controlled_se(
        identity(y, moved, m), identity(e, moved_e, m))
        for m, label in ((0, "by Richardson over h and 2h"), (2, "at 2h"), (1, "at h"))}
    first = put.t[0]
    for fraction in (0.5, 0.9):
        eps = fraction * first
        values, europeans = [], []
        for sign in (1, -1):
            w = put.w + (np.sqrt((first - sign * eps) / first) - 1.0) * put.w[:, :1]
            times = put.t - sign * eps
            xs = put.log_path(w=w, times=times)
            values.append(put.value(xs, times=times)[0])
            europeans.append(put.european(xs, times=times))
        out[f"central difference in calendar time, ε = {fraction:g} t_1"] = controlled_se(
            (values[0] - values[1]) / (2 * eps), (europeans[0] - europeans[1]) / (2 * eps))
    z = put.w[:, 0] / np.sqrt(first)
    weight = RATE - (z * z - 1) / (2 * first) - z * (RATE - 0.5 * VOL ** 2) / (VOL * np.sqrt(first))
    out["likelihood ratio of the first interval"] = controlled_se(y * weight, e * weight)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    columns = {}
    for n in (252, 50):
        put = Put(n, args.paths, args.seed)
        columns[n] = {**{f"rho: {k}": v for k, v in rho_candidates(put).items()},
                      **{f"theta: {k}": v for k, v in theta_candidates(put).items()}}
        dates = put.t
        rho = (american_fd(SPOT, STRIKE, MATURITY, RATE + 1e-3, 0.0, VOL, False, dates,
                           vega=False).price
               - american_fd(SPOT, STRIKE, MATURITY, RATE - 1e-3, 0.0, VOL, False, dates,
                             vega=False).price) / 2e-3
        print(f"{n} dates: finite-difference rho {rho:.4f}")
    lines = [f"# Theta and rho estimators of american and bermudan GBM rows ({args.paths:,} "
             f"paths, seed {args.seed})", "",
             "| estimator | daily dates: SE | 50 dates: SE |", "| --- | --- | --- |"]
    lines += [f"| {name} | {columns[252][name]:.3f} | {columns[50][name]:.3f} |"
              for name in columns[252]]
    text = "\n".join(lines) + "\n"
    print(text)
    path = os.path.join(os.path.dirname(__file__), "results", "american_carry.md")
    with open(path, "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
