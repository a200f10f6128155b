"""Delay lines: a caller-owned ring buffer per channel, read at a fractional delay.

Convention: read before write. delay_read(buf, pos, d) returns the sample written d
writes ago (d = 1: the previous one), so an integer delay of d samples is exact; d is
clamped to [1, len(buf) - 3] so the cubic read has its neighbours.

DELAY_STATE_SIZE = 2 per channel: 0 write position, 1 tone (one-pole) state.
Buffers: float32 (channels, length), length >= max delay in samples + 4.
"""

import math

from numba import njit

from modular.dsp.approx import exp2, tan_pade
from modular.dsp.block import INLINE, JIT, clamp, ramp, row

DELAY_STATE_SIZE = 2


@njit(**INLINE)
def _at(buf, pos, back):
    j = pos - back
    L = buf.shape[0]
    while j < 0:
        j += L
    return buf[j]


@njit(**INLINE)
def delay_read_linear(buf, pos, d):
    """Linear interpolation between the samples d and d + 1 writes ago (fractional d)."""
    d = clamp(d, 1.0, buf.shape[0] - 3.0)
    k = int(d)
    f = d - k
    a = _at(buf, pos, k)
    if f == 0.0:
        return a
    return a + (_at(buf, pos, k + 1) - a) * f


@njit(**INLINE)
def delay_read_cubic(buf, pos, d):
    """4-point Hermite interpolation; exact at integer d. Needs d >= 2 for causality:
    below that it falls back to linear."""
    d = clamp(d, 1.0, buf.shape[0] - 3.0)
    k = int(d)
    f = d - k
    if f == 0.0:
        return _at(buf, pos, k)
    if k < 2:
        return delay_read_linear(buf, pos, d)
    y0 = _at(buf, pos, k - 1)
    y1 = _at(buf, pos, k)
    y2 = _at(buf, pos, k + 1)
    y3 = _at(buf, pos, k + 2)
    c1 = 0.5 * (y2 - y0)
    c2 = y0 - 2.5 * y1 + 2.0 * y2 - 0.5 * y3
    c3 = 0.5 * (y3 - y0) + 1.5 * (y1 - y2)
    return ((c3 * f + c2) * f + c1) * f + y1


@njit(**INLINE)
def delay_write(buf, st, x):
    """Write x at the position in st[0] and advance it."""
    pos = int(st[0])
    buf[pos] = x
    pos += 1
    if pos >= buf.shape[0]:
        pos = 0
    st[0] = pos


@njit(**JIT)
def delay_block(inp, time_cv, out, state, buffers, time_p0, time_p1, fb_p0, fb_p1,
                tone_p0, tone_p1, mix_p0, mix_p1, sample_rate):
    """Polyphonic delay with feedback, tone and dry/wet mix.

    Delay in seconds: time * 2**time_cv (CV at 1 V/oct: +1 V doubles it), in samples
    clamped to [1, length - 3], read with cubic interpolation. feedback 0..~1.1; tone: a
    one-pole low-pass in the feedback path, cutoff in Hz; mix 0 dry .. 1 wet.
    buffers: float32 (channels, length). state: (channels, DELAY_STATE_SIZE).
    """
    nch = state.shape[0]
    n = inp.shape[1]
    pi_over_sr = math.pi / sample_rate
    for c in range(nch):
        ri = row(inp, c)
        rt = row(time_cv, c)
        st = state[c]
        buf = buffers[c]
        for i in range(n):
            d = ramp(time_p0, time_p1, i, n) * exp2(time_cv[rt, i]) * sample_rate
            wet = delay_read_cubic(buf, int(st[0]), d)
            # tone: TPT one-pole low-pass on the signal fed back
            x = clamp(ramp(tone_p0, tone_p1, i, n) * pi_over_sr, 1e-5, 1.5)
            tn, td = tan_pade(x)
            G = tn / (tn + td)
            v = (wet - st[1]) * G
            lp = v + st[1]
            st[1] = lp + v
            dry = inp[ri, i]
            delay_write(buf, st, dry + ramp(fb_p0, fb_p1, i, n) * lp)
            m = ramp(mix_p0, mix_p1, i, n)
            out[c, i] = dry + (wet - dry) * m
