"""greeks.pcg64 against numpy's Generator(PCG64): the same doubles in the same order, and
the generator left in numpy's state (the engine's numbers must not move)."""

import numpy as np
import pytest
from helpers import seed, seeds
from numba import njit
from numba.np.random._constants import fi_double, ki_double, wi_double

from greeks.pcg64 import _load, fill_normals, fill_open_uniforms, fill_uniforms

SIZES = (0, 1, 2, 7, 1000, 2 ** 16 + 3)
R = 3.6541528853610087963519472518  # the ziggurat's base-layer edge: |x| beyond it, the tail


def generator(n: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(n))


@njit
def loaded(rng):
    return _load(rng.bit_generator)


@pytest.mark.parametrize("n", seeds(3))
def test_state_layout(n):
    rng = generator(n)
    rng.random(5)
    state = rng.bit_generator.state["state"]
    low, high, inc_low, inc_high = loaded(rng)
    assert int(low) + (int(high) << 64) == state["state"]
    assert int(inc_low) + (int(inc_high) << 64) == state["inc"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("n", seeds(4, start=10))
def test_draws_and_state(n, size):
    ours, numpy_ = generator(n), generator(n)
    normals, uniforms, opened = np.empty(size), np.empty(size), np.empty(size)
    fill_normals(ours, normals)
    fill_uniforms(ours, uniforms)
    fill_open_uniforms(ours, opened)
    assert np.array_equal(normals, numpy_.standard_normal(size))
    assert np.array_equal(uniforms, numpy_.random(size))
    reference = numpy_.random(size)
    assert np.array_equal(opened, np.where(reference > 0.0, reference, 2.0 ** -54))
    assert ours.bit_generator.state == numpy_.bit_generator.state


def test_open_uniform_zero():
    """A zero uniform (chance 2⁻⁵³) becomes 2⁻⁵⁴: a state whose next word is < 2¹¹."""
    rng = generator(seed(30))
    bit_generator = rng.bit_generator
    state = bit_generator.state
    # the state s with output(s·M + c) = 0: s·M + c = 0 gives hi ⊕ lo = 0
    multiplier, inc = 0x2360ED051FC65DA44385DF649FCCF645, state["state"]["inc"]
    state["state"]["state"] = (-inc * pow(multiplier, -1, 2 ** 128)) % 2 ** 128
    bit_generator.state = state
    out = np.empty(2)
    fill_open_uniforms(rng, out)
    assert out[0] == 2.0 ** -54 and 0.0 < out[1] < 1.0


@njit
def _branches(words, count):
    """numpy's ziggurat replayed on its raw words, counting the tail's tries and the wedge
    tests of ``count`` normals (the values themselves are compared with numpy's)."""
    used = tails = wedges = 0
    for _ in range(count):
        while True:
            word = words[used]
            used += 1
            index = word & np.uint64(0xFF)
            rabs = (word >> np.uint64(9)) & np.uint64(0x000FFFFFFFFFFFFF)
            if rabs < ki_double[index]:
                break
            if index == 0:
                while True:
                    tails += 1
                    xx = -np.log1p(-((words[used] >> np.uint64(11)) * 2.0 ** -53)) / R
                    yy = -np.log1p(-((words[used + 1] >> np.uint64(11)) * 2.0 ** -53))
                    used += 2
                    if yy + yy > xx * xx:
                        break
                break
            wedges += 1
            x = rabs * wi_double[index]
            u = (words[used] >> np.uint64(11)) * 2.0 ** -53
            used += 1
            height = (fi_double[index - 1] - fi_double[index]) * u + fi_double[index]
            if height < np.exp(-0.5 * x * x):
                break
    return tails, wedges, used


def test_tail_and_wedge():
    """10⁶ normals: the ziggurat's rejected draws (about 1.3 %: ~250 in the tail, ~12,000
    in the wedges) come out as numpy's, and the state after them is numpy's."""
    n = 10 ** 6
    ours, numpy_ = generator(seed(40)), generator(seed(40))
    out = np.empty(n)
    fill_normals(ours, out)
    reference = numpy_.standard_normal(n)
    assert np.array_equal(out, reference)
    assert ours.bit_generator.state == numpy_.bit_generator.state
    words = generator(seed(40)).bit_generator.random_raw(n + n // 10)
    tails, wedges, used = _branches(words, n)
    assert tails > 150 and wedges > 5000
    advanced = np.random.PCG64(seed(40)).advance(used)
    assert ours.bit_generator.state == advanced.state


@njit
def _mixed(rng, a, b, c):
    fill_normals(rng, a)
    fill_uniforms(rng, b)
    x = rng.standard_normal()
    y = rng.random()
    fill_normals(rng, c)
    return x, y


@pytest.mark.parametrize("n", seeds(3, start=50))
def test_mixed_with_numba_and_numpy(n):
    """Blocks, numba's own scalar draws and numpy's Python draws continue one stream."""
    ours, numpy_ = generator(n), generator(n)
    a, b, c = np.empty(1001), np.empty(17), np.empty(300)
    x, y = _mixed(ours, a, b, c)
    assert np.array_equal(a, numpy_.standard_normal(1001))
    assert np.array_equal(b, numpy_.random(17))
    assert x == numpy_.standard_normal() and y == numpy_.random()
    assert np.array_equal(c, numpy_.standard_normal(300))
    assert np.array_equal(ours.standard_normal(50), numpy_.standard_normal(50))
    assert ours.bit_generator.state == numpy_.bit_generator.state
