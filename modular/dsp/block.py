"""Helpers every block kernel uses: row selection for mono inputs, param ramps, clamps.

They mirror modular.module's ``row``/``ramp`` so dsp kernels do not import the engine.
"""

from numba import njit


@njit(cache=True, nogil=True, inline="always")
def row(a, c):
    """The row of a (channels, block) input that channel c reads: mono applies to all."""
    return c if a.shape[0] > 1 else 0


@njit(cache=True, nogil=True, inline="always")
def ramp(p0, p1, i, n):
    """A param's value at sample i of n, moving linearly from p0 (the previous block's
    value) to p1, which it reaches on the block's last sample."""
    return p0 + (p1 - p0) * (i + 1) / n


@njit(cache=True, nogil=True, inline="always")
def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@njit(cache=True, nogil=True, inline="always")
def finite(x):
    """x, or 0 for NaN and ±inf (so one bad input cannot poison a filter's state)."""
    return x if x - x == 0.0 else 0.0
