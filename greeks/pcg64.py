"""numpy's ``Generator(PCG64)`` draws with the generator's state held in registers.

The same doubles as ``rng.standard_normal(n)`` and ``rng.random(n)``, in the same order, and
the generator left in the same state, so that later draws from it (in numba or in Python)
continue the same stream.  numba's own methods call the bit generator's ``next_uint64``
through a function pointer for every draw; here the 128-bit step is inlined:

    s ← s·M + c (mod 2¹²⁸),  M = 0x2360ED051FC65DA44385DF649FCCF645,
    word = rotr₆₄(hi(s) ⊕ lo(s), hi(s) >> 58)          (XSL-RR of the new state),
    uniform = (word >> 11)·2⁻⁵³,

and numpy's 256-layer ziggurat (``random_standard_normal``) on the words: the low 8 bits
pick the layer i, the next the sign, the next 52 the abscissa a; x = ±a·w_i, accepted when
a < k_i, else the tail (i = 0, two more uniforms per try) or the wedge test (one uniform),
then a fresh word — numpy's draws and operations in numpy's order, tables from numba's
port.  The uniforms leapfrog (:func:`fill_uniforms`); the normals do not: their step is
already hidden behind the ziggurat's own work, and a rejected draw's extra words would
shift the lanes.  The generator must be a ``PCG64`` one (the engine's, :mod:`greeks.streams`); its
``bitgen_t.state`` points to ``pcg64_state``, whose first member points to the 128-bit
state and increment (native little-endian ``__uint128_t``, low word first).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.extending import intrinsic
from numba.np.random._constants import (
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
UNIFORM_SCALE = 1.0 / 9007199254740992.0  # 2⁻⁵³
_LAYER = np.uint64(0xFF)
_ABSCISSA = np.uint64(0x000FFFFFFFFFFFFF)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_BYTE = np.uint64(8)
_MANTISSA_SHIFT = np.uint64(11)
_ROTATION = np.uint64(58)
_WORD_BITS = np.uint64(63)
_M_LOW = np.uint64(MULTIPLIER & 0xFFFFFFFFFFFFFFFF)
_M_HIGH = np.uint64(MULTIPLIER >> 64)
LANES = 4  # interleaved streams of :func:`fill_uniforms`


def _jumps(count: int) -> np.ndarray:
    """Row d: (A_d, G_d) as (low, high) words, with d steps s ↦ A_d·s + G_d·c (mod 2¹²⁸):
    A_d = M^d, G_d = 1 + M + ... + M^(d−1)."""
    rows, a, g, mask = [], 1, 0, (1 << 64) - 1
    for _ in range(count):
        rows.append((a & mask, a >> 64, g & mask, g >> 64))
        a, g = a * MULTIPLIER % (1 << 128), (g * MULTIPLIER + 1) % (1 << 128)
    return np.array(rows, dtype=np.uint64)


JUMPS = _jumps(LANES + 1)

_I64 = ir.IntType(64)
_I128 = ir.IntType(128)


def _state_words(builder, context, bitgen_type, bitgen):
    """Pointer to the four 64-bit words (state low, high, increment low, high)."""
    proxy = cgutils.create_struct_proxy(bitgen_type)(context, builder, value=bitgen)
    pcg64_state = builder.inttoptr(proxy.state, _I64.as_pointer().as_pointer())
    return builder.load(pcg64_state)


@intrinsic
def _load(typingctx, bitgen):
    """(state low, state high, increment low, increment high) of a PCG64 bit generator."""
    if not isinstance(bitgen, types.NumPyRandomBitGeneratorType):
        return None
    sig = types.UniTuple(types.uint64, 4)(bitgen)

    def codegen(context, builder, signature, args):
        words = _state_words(builder, context, signature.args[0], args[0])
        values = [builder.load(builder.gep(words, [ir.Constant(_I64, i)])) for i in range(4)]
        return context.make_tuple(builder, signature.return_type, values)
    return sig, codegen


@intrinsic
def _store(typingctx, bitgen, low, high):
    """Write the 128-bit state (low, high) back into a PCG64 bit generator."""
    if not isinstance(bitgen, types.NumPyRandomBitGeneratorType):
        return None
    sig = types.void(bitgen, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        words = _state_words(builder, context, signature.args[0], args[0])
        builder.store(args[1], builder.gep(words, [ir.Constant(_I64, 0)]))
        builder.store(args[2], builder.gep(words, [ir.Constant(_I64, 1)]))
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _affine(typingctx, a_low, a_high, b_low, b_high, c_low, c_high):
    """a·b + c (mod 2¹²⁸) in native 128-bit arithmetic, each number as (low, high) words."""
    sig = types.UniTuple(types.uint64, 2)(*([types.uint64] * 6))

    def codegen(context, builder, signature, args):
        def wide(lo, hi):
            return builder.or_(builder.shl(builder.zext(hi, _I128), ir.Constant(_I128, 64)),
                               builder.zext(lo, _I128))
        value = builder.add(builder.mul(wide(args[0], args[1]), wide(args[2], args[3])),
                            wide(args[4], args[5]))
        lo = builder.trunc(value, _I64)
        hi = builder.trunc(builder.lshr(value, ir.Constant(_I128, 64)), _I64)
        return context.make_tuple(builder, signature.return_type, [lo, hi])
    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _output(low, high):
    """XSL-RR: rotr₆₄(high ⊕ low, high >> 58)."""
    folded = high ^ low
    rotation = high >> _ROTATION
    return (folded >> rotation) | (folded << ((-rotation) & _WORD_BITS))


@njit(cache=True, nogil=True, inline="always")
def _next(low, high, inc_low, inc_high):
    """One step: (word of the new state, new state low, new state high)."""
    low, high = _affine(low, high, _M_LOW, _M_HIGH, inc_low, inc_high)
    return _output(low, high), low, high


@njit(cache=True, nogil=True, inline="always")
def _uniform(low, high, inc_low, inc_high):
    """numpy's ``next_double``: (uniform on [0, 1), new state low, new state high)."""
    word, low, high = _next(low, high, inc_low, inc_high)
    return (word >> _MANTISSA_SHIFT) * UNIFORM_SCALE, low, high


@njit(cache=True, nogil=True, inline="always")
def _candidate(word):
    """The ziggurat's draw from one word: (layer i, abscissa a, ±a·w_i), the sign the
    word's ninth bit."""
    index = word & _LAYER
    r = word >> _BYTE
    rabs = (r >> _ONE) & _ABSCISSA
    x = rabs * wi_double[index]
    if r & _ONE:
        x = -x
    return index, rabs, x


@njit(cache=True, nogil=True)
def _rejected(word, low, high, inc_low, inc_high):
    """The ziggurat from a word outside its layer's rectangle: numpy's tail and wedge
    steps, then fresh words until one is accepted.  Returns (x, state low, state high)."""
    while True:
        index, rabs, x = _candidate(word)
        if rabs < ki_double[index]:
            return x, low, high
        if index == 0:
            while True:
                u, low, high = _uniform(low, high, inc_low, inc_high)
                xx = -ziggurat_nor_inv_r * np.log1p(-u)
                u, low, high = _uniform(low, high, inc_low, inc_high)
                yy = -np.log1p(-u)
                if yy + yy > xx * xx:
                    if (rabs >> _BYTE) & _ONE:
                        return -(ziggurat_nor_r + xx), low, high
                    return ziggurat_nor_r + xx, low, high
        u, low, high = _uniform(low, high, inc_low, inc_high)
        if (fi_double[index - 1] - fi_double[index]) * u + fi_double[index] < np.exp(-0.5 * x * x):
            return x, low, high
        word, low, high = _next(low, high, inc_low, inc_high)


@njit(cache=True, nogil=True)
def fill_normals(rng, out):
    """Fill the 1-d ``out`` with ``rng.standard_normal()`` draws, in order; the state is
    read once and written back once."""
    bitgen = rng.bit_generator
    low, high, inc_low, inc_high = _load(bitgen)
    for i in range(out.size):
        word, low, high = _next(low, high, inc_low, inc_high)
        index, rabs, x = _candidate(word)
        if rabs >= ki_double[index]:
            x, low, high = _rejected(word, low, high, inc_low, inc_high)
        out[i] = x
    _store(bitgen, low, high)


@njit(cache=True, nogil=True, inline="always")
def _jump(low, high, inc_low, inc_high, d):
    """The state d steps on: A_d·s + G_d·c (:data:`JUMPS`)."""
    a_low, a_high, g_low, g_high = JUMPS[d, 0], JUMPS[d, 1], JUMPS[d, 2], JUMPS[d, 3]
    plus_low, plus_high = _affine(inc_low, inc_high, g_low, g_high, _ZERO, _ZERO)
    return _affine(low, high, a_low, a_high, plus_low, plus_high)


@njit(cache=True, nogil=True)
def fill_uniforms(rng, out):
    """Fill the 1-d ``out`` with ``rng.random()`` draws (on [0, 1)), in order.

    Leapfrog: lane j (of :data:`LANES`) starts at the state j + 1 steps on and makes words
    j, j + L, j + 2L, ..., stepping L at a time (s ↦ A_L·s + G_L·c): the lanes' steps do
    not wait for each other."""
    bitgen = rng.bit_generator
    low, high, inc_low, inc_high = _load(bitgen)
    n = out.size
    if n == 0:
        return
    l0, h0 = _jump(low, high, inc_low, inc_high, 1)
    l1, h1 = _jump(low, high, inc_low, inc_high, 2)
    l2, h2 = _jump(low, high, inc_low, inc_high, 3)
    l3, h3 = _jump(low, high, inc_low, inc_high, 4)
    a_low, a_high = JUMPS[LANES, 0], JUMPS[LANES, 1]
    c_low, c_high = _affine(inc_low, inc_high, JUMPS[LANES, 2], JUMPS[LANES, 3], _ZERO, _ZERO)
    body = (n - 1) // LANES * LANES  # then 1 to 4 words, from lanes 0 to 3
    for i in range(0, body, LANES):
        out[i] = (_output(l0, h0) >> _MANTISSA_SHIFT) * UNIFORM_SCALE
        out[i + 1] = (_output(l1, h1) >> _MANTISSA_SHIFT) * UNIFORM_SCALE
        out[i + 2] = (_output(l2, h2) >> _MANTISSA_SHIFT) * UNIFORM_SCALE
        out[i + 3] = (_output(l3, h3) >> _MANTISSA_SHIFT) * UNIFORM_SCALE
        l0, h0 = _affine(l0, h0, a_low, a_high, c_low, c_high)
        l1, h1 = _affine(l1, h1, a_low, a_high, c_low, c_high)
        l2, h2 = _affine(l2, h2, a_low, a_high, c_low, c_high)
        l3, h3 = _affine(l3, h3, a_low, a_high, c_low, c_high)
    out[body] = (_output(l0, h0) >> _MANTISSA_SHIFT) * UNIFORM_SCALE
    low, high = l0, h0
    if n - body > 1:
        out[body + 1] = (_output(l1, h1) >> _MANTISSA_SHIFT) * UNIFORM_SCALE
        low, high = l1, h1
    if n - body > 2:
        out[body + 2] = (_output(l2, h2) >> _MANTISSA_SHIFT) * UNIFORM_SCALE
        low, high = l2, h2
    if n - body > 3:
        out[body + 3] = (_output(l3, h3) >> _MANTISSA_SHIFT) * UNIFORM_SCALE
        low, high = l3, h3
    _store(bitgen, low, high)


@njit(cache=True, nogil=True)
def fill_open_uniforms(rng, out):
    """Fill the 1-d ``out`` with uniforms on (0, 1): ``rng.random()`` draws, a 0 (chance
    2⁻⁵³) moved to 2⁻⁵⁴ (inversions that take log U or Φ⁻¹(U) need U > 0)."""
    fill_uniforms(rng, out)
    for i in range(out.size):
        if not out[i] > 0.0:
            out[i] = 2.0 ** -54
