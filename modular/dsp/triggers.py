"""Event helpers: Schmitt trigger, 1 ms trigger pulses, clocks exact in samples, clock
dividers/multipliers, sample & hold, slew limiter.

All are per-sample functions on a caller-owned float64 state slice `st` at index `k`
(so a module can pack several into one state row). Layouts are given per function.
"""

import math

from numba import njit

from modular.dsp.block import INLINE, JIT, row

SCHMITT_HIGH = 1.0  # V: an input reads high above this ...
SCHMITT_LOW = 0.1   # V: ... and low again only below this
TRIGGER_V = 10.0
GATE_V = 10.0
TRIGGER_SECONDS = 1e-3


@njit(**INLINE)
def schmitt(st, k, v):
    """Schmitt trigger in st[k] (0 low, 1 high); True on the sample it goes high."""
    if st[k] == 0.0:
        if v >= SCHMITT_HIGH:
            st[k] = 1.0
            return True
    elif v <= SCHMITT_LOW:
        st[k] = 0.0
    return False


@njit(**INLINE)
def pulse_length(sample_rate):
    """Samples in a 1 ms trigger (48 at 48 kHz)."""
    return max(1.0, math.floor(TRIGGER_SECONDS * sample_rate + 0.5))


@njit(**INLINE)
def pulse(st, k, fire, length):
    """Trigger generator; st[k] = samples left high. Fires for `length` samples from the
    sample where fire is True (re-firing restarts). Returns the output voltage."""
    if fire:
        st[k] = length
    if st[k] > 0.0:
        st[k] -= 1.0
        return TRIGGER_V
    return 0.0


@njit(**INLINE)
def clock_period(v, sample_rate):
    """Clock period in samples for a rate CV: 0 V = 2 Hz (120 BPM), 1 V/oct."""
    return sample_rate / (2.0 * 2.0 ** v)


@njit(**INLINE)
def bpm_period(bpm, sample_rate):
    """Clock period in samples for a tempo in beats per minute."""
    return sample_rate * 60.0 / bpm


@njit(**INLINE)
def clock(st, k, period):
    """Free-running clock; st[k] = samples since the last tick (fractional). Ticks on the
    first call, then on sample ceil(j * period) for every j: exact for integer periods,
    drift-free otherwise. Returns True on tick samples."""
    e = st[k]
    tick = e < 1.0
    e += 1.0
    if e >= period:
        e -= period
    st[k] = e
    return tick


@njit(**INLINE)
def multiplied_tick(elapsed, period, m):
    """True on the samples where a clock multiplied by m ticks, given `elapsed` samples
    since the master's tick (as clock() keeps it, read before the call) and its period:
    the sub-ticks land on ceil(j * period / m)."""
    if elapsed < 1.0:
        return True
    return math.floor(elapsed * m / period) != math.floor((elapsed - 1.0) * m / period)


@njit(**INLINE)
def divided_tick(st, k, tick, d):
    """Clock divider; st[k] counts input ticks. True on input ticks 0, d, 2d, ..."""
    if not tick:
        return False
    count = st[k]
    st[k] = count + 1.0 if count + 1.0 < d else 0.0
    return count == 0.0


@njit(**INLINE)
def follow_clock(st, k, rose, m):
    """Multiply an external clock by m. st[k] = samples since its last edge, st[k+1] =
    its measured period (0 until two edges seen). Returns True on output ticks."""
    if rose:
        if st[k] > 0.0:
            st[k + 1] = st[k]
        st[k] = 0.0
    e = st[k]
    st[k] = e + 1.0
    if rose:
        return True
    p = st[k + 1]
    if p <= 0.0:
        return False
    if e >= p:  # the input stopped: no more sub-ticks until its next edge
        return False
    return math.floor(e * m / p) != math.floor((e - 1.0) * m / p)


@njit(**INLINE)
def sample_hold(st, k, trig_v, x):
    """Sample & hold: st[k] Schmitt state, st[k+1] the held value; samples x on a rising
    trigger edge (that very sample outputs the new value)."""
    if schmitt(st, k, trig_v):
        st[k + 1] = x
    return st[k + 1]


@njit(**INLINE)
def slew(st, k, x, rise, fall):
    """Linear slew limiter: st[k] = output. rise/fall: the largest step per sample up and
    down (V/s divided by the sample rate); <= 0 means unlimited."""
    y = st[k]
    d = x - y
    if d > 0.0:
        if rise > 0.0 and d > rise:
            d = rise
    elif fall > 0.0 and -d > fall:
        d = -fall
    y += d
    st[k] = y
    return y


@njit(**JIT)
def slew_block(inp, out, state, rise_p0, rise_p1, fall_p0, fall_p1, sample_rate):
    """Polyphonic slew limiter; rise/fall in seconds per 10 V (0 = instant), ramped.
    state: (channels, 1)."""
    nch = state.shape[0]
    n = inp.shape[1]
    for c in range(nch):
        r = row(inp, c)
        st = state[c]
        for i in range(n):
            tr = rise_p0 + (rise_p1 - rise_p0) * (i + 1) / n
            tf = fall_p0 + (fall_p1 - fall_p0) * (i + 1) / n
            up = 10.0 / (tr * sample_rate) if tr > 0.0 else 0.0
            dn = 10.0 / (tf * sample_rate) if tf > 0.0 else 0.0
            out[c, i] = slew(st, 0, inp[r, i], up, dn)


@njit(**JIT)
def sample_hold_block(inp, trig, out, state):
    """Polyphonic sample & hold; state: (channels, 2) (see sample_hold)."""
    nch = state.shape[0]
    n = inp.shape[1]
    for c in range(nch):
        r = row(inp, c)
        rt = row(trig, c)
        st = state[c]
        for i in range(n):
            out[c, i] = sample_hold(st, 0, trig[rt, i], inp[r, i])
