"""Normal and uniform draws per second from the engine's generator, ``Generator(PCG64)``,
three ways (the same numbers), against a vectorised xoshiro256++ with a ziggurat, one
thread.  The xoshiro rows are a measurement only: another generator would change every
number.

    python benchmarks/normals.py [--count 4000000] [--repeats 9] [--lanes 8]

* ``pcg64 numba``: ``rng.standard_normal()`` (``rng.random()``) inside a numba kernel, one
  call through the bit generator's function pointer per word (numpy's 256-layer ziggurat),
  into a preallocated array;
* ``pcg64 greeks``: :func:`greeks.pcg64.fill_normals` (:func:`greeks.pcg64.fill_uniforms`),
  the engine's: the same draws with the state in registers;
* ``pcg64 numpy``: ``rng.standard_normal(out=...)`` (``rng.random(out=...)``) from Python;
* ``xoshiro``: ``--lanes`` independent xoshiro256++ streams (Blackman & Vigna 2018), each
  filling its share of a block of 64-bit words with its state in registers; then the same
  ziggurat's fast path (Marsaglia & Tsang 2000; numpy's variant: 8 bits pick
  the layer, 1 the sign, 52 the abscissa) as a second vectorised loop over the block, the
  about 1 % of draws outside a layer's rectangle redone one by one (wedge and tail, as
  numpy does) from a scalar xoshiro256++ stream;
* ``xoshiro words``: the generator alone (64-bit words per second).

Prints ns per draw (the fastest of the repeats, the least disturbed by other jobs, and the
median), each row's median over numba's (the same kind of draw), checks that the three
PCG64 ways give the same numbers, and the xoshiro normals' first four moments.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from numba import njit

from greeks.pcg64 import fill_normals, fill_uniforms

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


@njit(cache=True)
def pcg64_uniforms(rng, out):
    """Fill ``out`` with numba's ``Generator.random`` draws."""
    for i in range(out.size):
        out[i] = rng.random()


def seeded(lanes: int, seed: int) -> np.ndarray:
    """4 × ``lanes`` xoshiro256++ states from SplitMix64-like words of numpy's SeedSequence."""
    words_ = np.random.SeedSequence(seed).generate_state(4 * lanes, dtype=np.uint64)
    return words_.reshape(4, lanes).copy()


def check(n: int) -> None:
    """The three PCG64 ways draw the same numbers and leave the same state."""
    generators = [np.random.Generator(np.random.PCG64(7)) for _ in range(3)]
    draws = [np.empty((2, n)) for _ in range(3)]
    pcg64_normals(generators[0], draws[0][0])
    pcg64_uniforms(generators[0], draws[0][1])
    fill_normals(generators[1], draws[1][0])
    fill_uniforms(generators[1], draws[1][1])
    generators[2].standard_normal(out=draws[2][0])
    generators[2].random(out=draws[2][1])
    states = [g.bit_generator.state for g in generators]
    if not (np.array_equal(draws[0], draws[1]) and np.array_equal(draws[0], draws[2])
            and states[0] == states[1] == states[2]):
        raise SystemExit("the PCG64 draws differ")


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
    check(n)
    xoshiro_normals(state, scalar, k, w, f, block, out)
    words(state, raw)
    normals = {"normal  pcg64 numba": lambda: pcg64_normals(rng, out),
               "normal  pcg64 greeks (the engine's)": lambda: fill_normals(rng, out),
               "normal  pcg64 numpy": lambda: rng.standard_normal(out=out),
               f"normal  xoshiro256++ x{args.lanes} + ziggurat": lambda: xoshiro_normals(
                   state, scalar, k, w, f, block, out),
               f"words   xoshiro256++ x{args.lanes} alone": lambda: words(state, raw)}
    uniforms = {"uniform pcg64 numba": lambda: pcg64_uniforms(rng, out),
                "uniform pcg64 greeks (the engine's)": lambda: fill_uniforms(rng, out),
                "uniform pcg64 numpy": lambda: rng.random(out=out)}
    for cases in (normals, uniforms):
        times = {name: [] for name in cases}
        for _ in range(args.repeats):  # the cases in turn, so that they share the load
            for name, function in cases.items():
                started = time.perf_counter_ns()
                function()
                times[name].append(time.perf_counter_ns() - started)
        base = statistics.median(next(iter(times.values())))
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:44s} {min(values) / n:6.2f} ns (fastest)  {median / n:6.2f} ns "
                  f"(median)  {median / base:5.2f} × numba's")
    xoshiro_normals(state, scalar, k, w, f, block, out)
    centred = out - out.mean()
    print(f"xoshiro normals: mean {out.mean():+.5f}, variance {out.var():.5f}, "
          f"skewness {(centred ** 3).mean() / out.std() ** 3:+.5f}, "
          f"kurtosis {(centred ** 4).mean() / out.var() ** 2:.4f} (normal: 0, 1, 0, 3; "
          f"SE of the mean {1 / math.sqrt(n):.5f})")


if __name__ == "__main__":
    main()
