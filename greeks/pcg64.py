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
port.  The generator must be a ``PCG64`` one (the engine's, :mod:`greeks.streams`); its
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
_BYTE = np.uint64(8)
_MANTISSA_SHIFT = np.uint64(11)

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
def _next(typingctx, low, high, inc_low, inc_high):
    """One PCG64 step in native 128-bit arithmetic: (word, new state low, new state high)."""
    sig = types.UniTuple(types.uint64, 3)(types.uint64, types.uint64, types.uint64,
                                          types.uint64)

    def codegen(context, builder, signature, args):
        def wide(lo, hi):
            return builder.or_(builder.shl(builder.zext(hi, _I128), ir.Constant(_I128, 64)),
                               builder.zext(lo, _I128))
        state = builder.add(builder.mul(wide(args[0], args[1]), ir.Constant(_I128, MULTIPLIER)),
                            wide(args[2], args[3]))
        lo = builder.trunc(state, _I64)
        hi = builder.trunc(builder.lshr(state, ir.Constant(_I128, 64)), _I64)
        folded = builder.xor(hi, lo)
        rotation = builder.lshr(hi, ir.Constant(_I64, 58))
        back = builder.and_(builder.sub(ir.Constant(_I64, 0), rotation), ir.Constant(_I64, 63))
        word = builder.or_(builder.lshr(folded, rotation), builder.shl(folded, back))
        return context.make_tuple(builder, signature.return_type, [word, lo, hi])
    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _uniform(low, high, inc_low, inc_high):
    """numpy's ``next_double``: (uniform on [0, 1), new state low, new state high)."""
    word, low, high = _next(low, high, inc_low, inc_high)
    return (word >> _MANTISSA_SHIFT) * UNIFORM_SCALE, low, high


@njit(cache=True, nogil=True)
def _rejected(word, low, high, inc_low, inc_high):
    """The ziggurat from a word outside its layer's rectangle: numpy's tail and wedge
    steps, then fresh words until one is accepted.  Returns (x, state low, state high)."""
    while True:
        index = word & _LAYER
        r = word >> _BYTE
        rabs = (r >> _ONE) & _ABSCISSA
        x = rabs * wi_double[index]
        if r & _ONE:
            x = -x
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
        r = word >> _BYTE
        rabs = (r >> _ONE) & _ABSCISSA
        index = word & _LAYER
        x = rabs * wi_double[index]
        if r & _ONE:
            x = -x
        if rabs >= ki_double[index]:
            x, low, high = _rejected(word, low, high, inc_low, inc_high)
        out[i] = x
    _store(bitgen, low, high)


@njit(cache=True, nogil=True)
def fill_uniforms(rng, out):
    """Fill the 1-d ``out`` with ``rng.random()`` draws (on [0, 1)), in order."""
    bitgen = rng.bit_generator
    low, high, inc_low, inc_high = _load(bitgen)
    for i in range(out.size):
        out[i], low, high = _uniform(low, high, inc_low, inc_high)
    _store(bitgen, low, high)


@njit(cache=True, nogil=True)
def fill_open_uniforms(rng, out):
    """Fill the 1-d ``out`` with :func:`greeks.maths.open_uniform` draws: ``rng.random()``,
    its 0 (chance 2⁻⁵³) moved to 2⁻⁵⁴, so on (0, 1)."""
    fill_uniforms(rng, out)
    for i in range(out.size):
        if not out[i] > 0.0:
            out[i] = 2.0 ** -54
