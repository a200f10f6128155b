"""The LFO: sine, triangle, saw and pulse at control rates, free or locked to a clock.

Naive shapes (at LFO rates aliasing is inaudible), aligned with the VCO's: sine
sin(2 pi p), triangle 0 at p = 0 and +1 at 0.25, rising saw 2p - 1, pulse high for
p < pw. 0 V = 2 Hz, 1 V/oct.

Clock lock: once two rising edges have arrived at the clock input, the LFO runs exactly
``ratio`` cycles per clock period, ratio = 2**round(freq knob) (1/16 .. 16), its phase
recomputed from the edge count and the time since the last edge, so it never drifts
from the clock. If the clock stops (no edge for two periods) the LFO runs free again at
the knob's rate.

The block runs in three passes so the two expensive ones vectorise: per-sample phase
steps (exp2), then the phase itself (a running sum with resets, serial but cheap), then
each waveform from the stored phases.

Phase per channel in [0, 1): a separate contiguous array.
LFO state per channel, LFO_STATE_SIZE = 6:
  0 unused                1 reset Schmitt state      2 clock Schmitt state
  3 samples since the last clock edge                4 clock period in samples (0: none)
  5 clock edges counted modulo 16
Scratch ``work``: float64 (LFO_WORK_ROWS, channels, block).
"""

import math

from numba import njit

from modular.dsp.approx import exp2, sin2pi
from modular.dsp.block import JIT, clamp, constant, ramp, row
from modular.dsp.osc import tri_wave
from modular.dsp.triggers import schmitt

LFO_BASE = 2.0  # Hz at 0 V
LFO_STATE_SIZE = 6
LFO_WORK_ROWS = 2
MAX_STEP = 0.45


@njit(**JIT)
def lfo_block(freq_cv, reset, clock, out_sin, out_tri, out_saw, out_sqr, phase, state, work,
              freq_p0, freq_p1, pw, unipolar, sample_rate):
    """One block; channels = state.shape[0]. Inputs (channels or 1, block) float32;
    outputs ±5 V, or 0..10 V when ``unipolar``; outputs with no rows are skipped.
    phase: float64 (channels,), each channel's phase, contiguous so the channels can run
    side by side. work: float64 scratch (LFO_WORK_ROWS, channels, block)."""
    nch = state.shape[0]
    n = freq_cv.shape[1]
    base = LFO_BASE / sample_rate
    ratio = 2.0 ** clamp(math.floor(freq_p1 + 0.5), -4.0, 4.0)
    steps = work[0]
    phases = work[1]
    for c in range(nch):
        rf = row(freq_cv, c)
        if freq_p0 == freq_p1 and constant(freq_cv[rf]):
            # Rate knob and CV still (the usual case): one exponential for the block.
            step = clamp(base * exp2(freq_p1 + freq_cv[rf, 0]), 0.0, MAX_STEP)
            for i in range(n):
                steps[c, i] = step
        else:
            for i in range(n):
                steps[c, i] = clamp(base * exp2(ramp(freq_p0, freq_p1, i, n) + freq_cv[rf, i]), 0.0, MAX_STEP)
    # Most LFOs have neither clock nor reset patched: then each phase is a plain running
    # sum, and running all channels side by side (SIMD across channels) hides the
    # latency of the sum, several times faster than the edge-checking loop.
    quiet = True
    for c in range(nch):
        st = state[c]
        if st[4] != 0.0 or st[1] != 0.0 or st[2] != 0.0:
            quiet = False
    for r in range(min(nch, reset.shape[0])):
        for i in range(n):
            if reset[r, i] >= 1.0:
                quiet = False
    for r in range(min(nch, clock.shape[0])):
        for i in range(n):
            if clock[r, i] >= 1.0:
                quiet = False
    if quiet:
        for i in range(n):
            for c in range(nch):
                q = phase[c] + steps[c, i]
                q = q - 1.0 if q >= 1.0 else q
                phase[c] = q
                phases[c, i] = q
        for c in range(nch):
            state[c, 3] += n
    else:
        for c in range(nch):
            phase[c] = _edges_and_phases(reset, clock, phase[c], state[c], steps[c], phases[c], ratio,
                                         row(reset, c), row(clock, c))
    off = 5.0 if unipolar else 0.0
    for c in range(nch):
        ph = phases[c]
        if out_sin.shape[0] > 0:
            for i in range(n):
                out_sin[c, i] = 5.0 * sin2pi(ph[i]) + off
        if out_tri.shape[0] > 0:
            for i in range(n):
                out_tri[c, i] = 5.0 * tri_wave(ph[i]) + off
        if out_saw.shape[0] > 0:
            for i in range(n):
                out_saw[c, i] = 5.0 * (2.0 * ph[i] - 1.0) + off
        if out_sqr.shape[0] > 0:
            for i in range(n):
                out_sqr[c, i] = (5.0 if ph[i] < pw else -5.0) + off


@njit(**JIT)
def _edges_and_phases(reset, clock, p, st, steps, phases, ratio, rr, rc):
    """One channel's phases when a clock or reset is patched: Schmitt edges, clock lock.
    Returns the phase at the end of the block."""
    n = steps.shape[0]
    since = st[3]
    period = st[4]
    edges = st[5]
    for i in range(n):
        if schmitt(st, 2, clock[rc, i]):
            if since > 0.0:
                period = since
            since = 0.0
            edges = (edges + 1.0) % 16.0
        if period > 0.0 and since < 2.0 * period:
            x = ratio * (edges + min(since / period, 1.0))
            p = x - math.floor(x)
        else:
            p += steps[i]
            if p >= 1.0:
                p -= 1.0
        if schmitt(st, 1, reset[rr, i]):
            p = 0.0
            edges = 0.0
        since += 1.0
        phases[i] = p
    st[3] = since
    st[4] = period
    st[5] = edges
    return p
