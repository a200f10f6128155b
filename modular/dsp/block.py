"""Helpers every block kernel uses: row selection for mono inputs, param ramps, clamps.

They mirror modular.module's ``row``/``ramp`` so dsp kernels do not import the engine.
"""

from numba import njit


# Compile flags for every dsp kernel. error_model="numpy" drops the per-division
# ZeroDivisionError check, which otherwise blocks vectorisation (4x slower filters).
# The fastmath flags are the safe ones: fused multiply-add, reciprocal and approximate
# functions, signless zeros. Never nnan/ninf: they would delete the NaN guards (finite()).
SAFE_FASTMATH = frozenset({"contract", "arcp", "afn", "nsz"})
JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath=set(SAFE_FASTMATH))
INLINE = dict(JIT, inline="always")


@njit(**INLINE)
def row(a, c):
    """The row of a (channels, block) input that channel c reads: mono applies to all."""
    return c if a.shape[0] > 1 else 0


@njit(**INLINE)
def ramp(p0, p1, i, n):
    """A param's value at sample i of n, moving linearly from p0 (the previous block's
    value) to p1, which it reaches on the block's last sample."""
    return p0 + (p1 - p0) * (i + 1) / n


@njit(**INLINE)
def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@njit(**INLINE)
def finite(x):
    """x, or 0 for NaN and ±inf (so one bad input cannot poison a filter's state)."""
    return x if x - x == 0.0 else 0.0



@njit(**INLINE)
def constant(a):
    """True when every sample of the 1-D block ``a`` equals the first: a control signal
    that did not move (an unpatched input, a Const), so per-sample work can be done once."""
    first = a[0]
    same = True
    for i in range(a.shape[0]):
        same &= a[i] == first
    return same
