"""Normal draws per second: numba's PCG64 generator (the engine's) against a vectorised
xoshiro256++ with a ziggurat, one thread.  A measurement only: the engine keeps its
generator (another one would change every number).

    python benchmarks/normals.py [--count 4000000] [--repeats 9] [--lanes 8]

* ``pcg64``: ``Generator(PCG64).standard_normal()`` inside a numba kernel, the generator
  :func:`greeks.models.gbm.paths.simulate` draws from (numpy's 256-layer ziggurat), into a
  preallocated array;
* ``xoshiro``: ``--lanes`` independent xoshiro256++ streams (Blackman & Vigna 2018), each
  filling its share of a block of 64-bit words with its state in registers; then the same
  ziggurat's fast path (Marsaglia & Tsang 2000; numpy's variant: 8 bits pick
  the layer, 1 the sign, 52 the abscissa) as a second vectorised loop over the block, the
  about 1 % of draws outside a layer's rectangle redone one by one (wedge and tail, as
  numpy does) from a scalar xoshiro256++ stream;
* ``xoshiro words``: the generator alone (64-bit words per second).

Prints ns per normal (the fastest of the repeats, the least disturbed by other jobs, and the
median) and checks the xoshiro normals' first four moments.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from numba import njit

LAYERS = 256
R = 3.6541528853610088  # the base layer's right edge (numpy's ziggurat_nor_r)
V = 0.00492867323399  # the area of each layer
SCALE = 2.0 ** 52


def tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, w, f) of the 256-layer ziggurat (Marsaglia & Tsang 2000's construction, numpy's
    52-bit abscissa): accept |x| = u·w[i] at once when u < k[i]; f[i] = exp(−x_i²/2)."""
    k, w, f = np.zeros(LAYERS, np.uint64), np.zeros(LAYERS), np.zeros(LAYERS)
    dn = tn = R
    q = V / math.exp(-0.5 * dn * dn)
    k[0], k[1] = np.uint64(dn / q * SCALE), 0
    w[0], w[LAYERS - 1] = q / SCALE, dn / SCALE
    f[0], f[LAYERS - 1] = 1.0, math.exp(-0.5 * dn * dn)
    for i in range(LAYERS - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = np.uint64(dn / tn * SCALE)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / SCALE
    return k, w, f


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, inline="always")
def _step(s0, s1, s2, s3):
    """One xoshiro256++ step: (word, next state)."""
    result = _rotl(s0 + s3, 23) + s0
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    return result, s0, s1, s2, _rotl(s3, 45)


@njit(cache=True, inline="always")
def _next(state, lane):
    """One xoshiro256++ word of lane ``lane`` of ``state`` (4 × lanes)."""
    result, s0, s1, s2, s3 = _step(state[0, lane], state[1, lane], state[2, lane],
                                   state[3, lane])
    state[0, lane], state[1, lane], state[2, lane], state[3, lane] = s0, s1, s2, s3
    return result


@njit(cache=True)
def words(state, out):
    """Fill ``out`` with xoshiro256++ words: each lane's state held in registers while it
    fills its share of ``out`` (a lane's steps depend on each other; the lanes do not)."""
    lanes = state.shape[1]
    per = out.size // lanes
    for lane in range(lanes):
        s0, s1, s2, s3 = state[0, lane], state[1, lane], state[2, lane], state[3, lane]
        base = lane * per
        for i in range(per):
            out[base + i], s0, s1, s2, s3 = _step(s0, s1, s2, s3)
        state[0, lane], state[1, lane], state[2, lane], state[3, lane] = s0, s1, s2, s3


@njit(cache=True, inline="always")
def _uniform(state):
    return (_next(state, 0) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _slow(word, x, scalar, k, w, f):
    """The ziggurat's rejected draw (numpy's wedge and tail steps), then fresh draws."""
    while True:
        index = word & np.uint64(0xFF)
        r = word >> np.uint64(8)
        sign = r & np.uint64(1)
        rabs = (r >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
        x = float(rabs) * w[index]
        if sign:
            x = -x
        if rabs < k[index]:
            return x
        if index == 0:
            while True:
                xx = -math.log1p(-_uniform(scalar)) / R
                yy = -math.log1p(-_uniform(scalar))
                if yy + yy > xx * xx:
                    return -(R + xx) if (rabs >> np.uint64(8)) & np.uint64(1) else R + xx
        if (f[index - 1] - f[index]) * _uniform(scalar) + f[index] < math.exp(-0.5 * x * x):
            return x
        word = _next(scalar, 0)


@njit(cache=True)
def xoshiro_normals(state, scalar, k, w, f, block, out):
    """Fill ``out`` with standard normals: blocks of words from the lanes, the ziggurat's
    fast path over a block (vectorised), the rejected draws redone by :func:`_slow`."""
    size = block.size
    for start in range(0, out.size, size):
        words(state, block)
        stop = min(size, out.size - start)
        for i in range(stop):
            word = block[i]
            index = word & np.uint64(0xFF)
            r = word >> np.uint64(8)
            rabs = (r >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
            x = float(rabs) * w[index]
            out[start + i] = -x if r & np.uint64(1) else x
        for i in range(stop):
            word = block[i]
            index = word & np.uint64(0xFF)
            rabs = (word >> np.uint64(9)) & np.uint64(0x000FFFFFFFFFFFFF)
            if rabs >= k[index]:
                out[start + i] = _slow(word, out[start + i], scalar, k, w, f)


@njit(cache=True)
def pcg64_normals(rng, out):
    """Fill ``out`` with numba's ``Generator.standard_normal`` draws (no allocation timed)."""
    for i in range(out.size):
        out[i] = rng.standard_normal()


def seeded(lanes: int, seed: int) -> np.ndarray:
    """4 × ``lanes`` xoshiro256++ states from SplitMix64-like words of numpy's SeedSequence."""
    words_ = np.random.SeedSequence(seed).generate_state(4 * lanes, dtype=np.uint64)
    return words_.reshape(4, lanes).copy()


def timed(function, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        function()
        times.append(time.perf_counter_ns() - started)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--lanes", type=int, default=8)
    args = parser.parse_args()
    n = args.count
    k, w, f = tables()
    state, scalar = seeded(args.lanes, 1), seeded(1, 2)
    block, out, raw = np.empty(1024, np.uint64), np.empty(n), np.empty(n, np.uint64)
    rng = np.random.Generator(np.random.PCG64(1))
    pcg64_normals(rng, out[:1000])
    xoshiro_normals(state, scalar, k, w, f, block, out)
    words(state, raw)
    cases = {"pcg64 (numba, the engine's)": lambda: pcg64_normals(rng, out),
             f"xoshiro256++ x{args.lanes} + ziggurat": lambda: xoshiro_normals(
                 state, scalar, k, w, f, block, out),
             f"xoshiro256++ x{args.lanes} words alone": lambda: words(state, raw)}
    for name, function in cases.items():
        best, median = timed(function, args.repeats)
        print(f"{name:36s} {best / n:6.2f} ns (fastest)  {median / n:6.2f} ns (median)")
    xoshiro_normals(state, scalar, k, w, f, block, out)
    centred = out - out.mean()
    print(f"xoshiro normals: mean {out.mean():+.5f}, variance {out.var():.5f}, "
          f"skewness {(centred ** 3).mean() / out.std() ** 3:+.5f}, "
          f"kurtosis {(centred ** 4).mean() / out.var() ** 2:.4f} (normal: 0, 1, 0, 3; "
          f"SE of the mean {1 / math.sqrt(n):.5f})")


if __name__ == "__main__":
    main()
