"""Randomised quasi-Monte Carlo paths: scrambled Sobol points and a Brownian bridge.

``--method rqmc`` prices rows on ``REPLICATES`` (64) independent scramblings (Owen-type
linear matrix scrambling with a digital shift, ``scipy.stats.qmc.Sobol``) of a Sobol
sequence of dimension m = the group's grid points (GBM) or 2m (Heston: the variance's
and the log-price's Brownian motions, their coordinates interleaved so that both take
the leading ones), n = 2^k points each.  Each point is
turned into a Brownian path by the Brownian bridge: the first coordinate sets W(t_m),
the next ones fill in midpoints, W(t_j) = a W(t_l) + b W(t_r) + c Z with
a = (t_r − t_j)/(t_r − t_l), b = (t_j − t_l)/(t_r − t_l),
c = sqrt((t_j − t_l)(t_r − t_j)/(t_r − t_l)),
so that the leading, best-distributed coordinates carry most of the path's variance.
Under Heston the increments W(t_k) − W(t_{k−1}) over sqrt(Δ_k) are the schemes' normals
(iid standard, as the bridge keeps the law of W); draws that are not normals (QE's
first transition from v_0 = 0, the exact scheme's variance) come from the replicate's own
pseudo-random stream.  Every replicate gives an unbiased estimate (each scrambled point is
uniform), the estimators of :mod:`greeks.estimators` are averaged over its points,
and the standard error comes from the spread of the REPLICATES independent replicate
means, never from the points within one (they are not independent).
"""

from __future__ import annotations

import math

import numpy as np

from greeks import streams

# Replicates: the SE has REPLICATES − 1 degrees of freedom, so value ± 1.96·SE covers 95 % only
# for many of them (t quantile 2.13 at 16 replicates, 2.00 at 64: within 2 % of the normal's)
REPLICATES = 64
MIN_POINTS = 1 << 6


def points_per_replicate(paths: int) -> int:
    """The power of two nearest to paths / REPLICATES (at least ``MIN_POINTS``)."""
    wanted = max(paths / REPLICATES, MIN_POINTS)
    return 1 << max(int(round(math.log2(wanted))), 0)


def bridge_plan(times: np.ndarray) -> list[tuple[int, int, int, float, float, float]]:
    """(target, left, right, a, b, c) per coordinate, in the bridge order; left = −1 is
    W(0) = 0 and right = −1 means none (the first coordinate, W(t_m) = sqrt(t_m) Z)."""
    m = times.size
    plan = [(m - 1, -1, -1, 0.0, 0.0, math.sqrt(times[-1]))]
    intervals = [(-1, m - 1)]
    while intervals:
        following = []
        for left, right in intervals:
            if right - left < 2:
                continue
            middle = (left + right) // 2
            t_left = times[left] if left >= 0 else 0.0
            t_mid, t_right = times[middle], times[right]
            span = t_right - t_left
            plan.append((middle, left, right, (t_right - t_mid) / span,
                         (t_mid - t_left) / span,
                         math.sqrt((t_mid - t_left) * (t_right - t_mid) / span)))
            following += [(left, middle), (middle, right)]
        intervals = following
    return plan


def brownian_paths(uniforms: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Brownian motion W on ``times`` (paths × points) from uniforms by the bridge."""
    from scipy.special import ndtri

    normals = ndtri(uniforms)
    w = np.empty_like(normals)
    for k, (target, left, right, a, b, c) in enumerate(bridge_plan(times)):
        w[:, target] = c * normals[:, k]
        if right >= 0:
            w[:, target] += b * w[:, right]
        if left >= 0:
            w[:, target] += a * w[:, left]
    return w


def points(group, seed: int, replicate: int, n: int, dimension: int) -> np.ndarray:
    """``n`` points of one scrambled replicate of the group's Sobol sequence."""
    from scipy.stats import qmc

    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, streams.RQMC + replicate))
    sobol = qmc.Sobol(d=dimension, scramble=True, seed=np.random.default_rng(stream))
    return sobol.random(n)


def replicate_normals(group, seed: int, replicate: int, n: int) -> np.ndarray:
    """The (2, steps, n) normals of the variance and the log-price at every grid step of a
    Heston group, from one scrambled replicate of ``n`` points (coordinates interleaved)."""
    uniforms = points(group, seed, replicate, n, 2 * group.times.size)
    root_dt = np.sqrt(np.diff(group.times, prepend=0.0))
    out = np.empty((2, group.times.size, n))
    for i in range(2):
        w = brownian_paths(uniforms[:, i::2], group.times)
        out[i] = (np.diff(w, axis=1, prepend=0.0) / root_dt).T
    return out


