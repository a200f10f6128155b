"""ADSR envelope, 0..10 V, with gate and retrigger.

Curves are exponential approaches, as in VCV Fundamental's ADSR, but aimed past their
end point (by a fifth of the stage's span, like VCV's attack target of 1.2) so each
stage ends in finite time, and the time constant is chosen so that:
  attack  0 -> 10 V takes exactly the attack time (from a level L: less, along the curve),
  decay   10 V -> sustain takes exactly the decay time,
  release any level -> 0 takes exactly the release time.
Per sample: level += (target - level) * c with c = 1 - 6**(-1 / (time * fs)) (computed with expm1: exact to the sample), since the
distance to the target shrinks from 6/5 to 1/5 of the span.

ENV_STATE_SIZE = 5 per channel (all zeros = idle):
  0 level 0..1   1 stage (IDLE, ATTACK, DECAY, SUSTAIN, RELEASE)   2 gate Schmitt
  3 retrigger Schmitt   4 level when release began
"""

import math

from numba import njit

from modular.dsp.block import INLINE, JIT, clamp, ramp, row
from modular.dsp.triggers import schmitt

ENV_STATE_SIZE = 5
IDLE, ATTACK, DECAY, SUSTAIN, RELEASE = 0.0, 1.0, 2.0, 3.0, 4.0
MIN_TIME = 1e-3
MAX_TIME = 10.0
OVERSHOOT = 0.2
_LN6 = math.log(6.0)


@njit(**INLINE)
def stage_coef(time_s, sample_rate):
    """Per-sample coefficient for a stage lasting time_s (clamped to 1 ms .. 10 s)."""
    t = clamp(time_s, MIN_TIME, MAX_TIME)
    # expm1, not exp2: c is ~1e-5 for long stages, and its relative error is the
    # stage time's relative error.
    return -math.expm1(-_LN6 / (t * sample_rate))


@njit(**INLINE)
def exp_time(x, t_min, t_max):
    """Knob position 0..1 to a time on an exponential scale (VCV-style stage knobs)."""
    return t_min * (t_max / t_min) ** x


@njit(**INLINE)
def adsr_tick(st, gate_v, retrig_v, attack, decay, sustain, release, sample_rate):
    """One sample; times in seconds, sustain 0..1. Returns the level 0..1."""
    rose = schmitt(st, 2, gate_v)
    retrig = schmitt(st, 3, retrig_v)
    level = st[0]
    stage = st[1]
    if st[2] != 0.0:
        if rose or retrig:
            stage = ATTACK
    elif stage != IDLE and stage != RELEASE:
        stage = RELEASE
        st[4] = level
    if stage == ATTACK:
        level += (1.0 + OVERSHOOT - level) * stage_coef(attack, sample_rate)
        if level >= 1.0:
            level = 1.0
            stage = DECAY
    elif stage == DECAY:
        target = sustain - OVERSHOOT * (1.0 - sustain)
        level += (target - level) * stage_coef(decay, sample_rate)
        if level <= sustain:
            level = sustain
            stage = SUSTAIN
    elif stage == SUSTAIN:
        level = sustain
    elif stage == RELEASE:
        level += (-OVERSHOOT * st[4] - level) * stage_coef(release, sample_rate)
        if level <= 0.0:
            level = 0.0
            stage = IDLE
    st[0] = level
    st[1] = stage
    return level


@njit(**JIT)
def adsr_block(gate, retrig, out, state, a_p0, a_p1, d_p0, d_p1, s_p0, s_p1, r_p0, r_p1,
               sample_rate):
    """Polyphonic ADSR; gate/retrig (channels or 1, block) V; out 0..10 V.
    Times in seconds (1 ms .. 10 s), sustain 0..1, all ramped. state: (channels, ENV_STATE_SIZE)."""
    nch = state.shape[0]
    n = gate.shape[1]
    for c in range(nch):
        rg = row(gate, c)
        rr = row(retrig, c)
        st = state[c]
        for i in range(n):
            out[c, i] = 10.0 * adsr_tick(st, gate[rg, i], retrig[rr, i], ramp(a_p0, a_p1, i, n),
                                         ramp(d_p0, d_p1, i, n), clamp(ramp(s_p0, s_p1, i, n), 0.0, 1.0),
                                         ramp(r_p0, r_p1, i, n), sample_rate)
