"""core.VCO: a band-limited oscillator with sine, triangle, saw and pulse outputs.

Pitch follows 1 V/oct around C4 (0 V = 261.6256 Hz); the ``freq`` knob (in volts) adds
to the pitch input. Saw and pulse are band-limited with polyBLEP, the triangle with
polyBLAMP, so they stay clean up the keyboard. Outputs are ±5 V.
"""

import math

from modular.module import Input, Module, Output, Param, kernel, ramp, row

C4 = 261.6256
TWO_PI = 2.0 * math.pi
LN2 = math.log(2.0)


@kernel
def _blep(t, dt):
    if t < dt:
        x = t / dt
        return x + x - x * x - 1.0
    if t > 1.0 - dt:
        x = (t - 1.0) / dt
        return x * x + x + x + 1.0
    return 0.0


@kernel
def _blamp(t, dt):
    if t < dt:
        x = t / dt - 1.0
        return -x * x * x / 3.0
    if t > 1.0 - dt:
        x = (t - 1.0) / dt + 1.0
        return x * x * x / 3.0
    return 0.0


@kernel
def vco_kernel(pitch, fm, pw_in, sin_out, tri_out, saw_out, sqr_out, p0, p1, state, mem, nch, ctx):
    n = sin_out.shape[1]
    sr = ctx[0]
    fmax = 0.45 * sr
    for c in range(nch):
        rp, rf, rw = row(pitch, c), row(fm, c), row(pw_in, c)
        phase = state[c]
        for i in range(n):
            v = pitch[rp, i] + ramp(p0[0], p1[0], i, n) + ramp(p0[1], p1[1], i, n) * fm[rf, i]
            f = C4 * math.exp(v * LN2)
            if f > fmax:
                f = fmax
            dt = f / sr
            pw = ramp(p0[2], p1[2], i, n) + ramp(p0[3], p1[3], i, n) * pw_in[rw, i] * 0.1
            if pw < 0.01:
                pw = 0.01
            elif pw > 0.99:
                pw = 0.99
            t = phase
            sin_out[c, i] = 5.0 * math.sin(TWO_PI * t)
            saw_out[c, i] = 5.0 * (2.0 * t - 1.0 - _blep(t, dt))
            t2 = t - pw
            if t2 < 0.0:
                t2 += 1.0
            sq = 1.0 if t < pw else -1.0
            sqr_out[c, i] = 5.0 * (sq + _blep(t, dt) - _blep(t2, dt))
            # Triangle: -1 at phase 0, +1 at 0.5; corners rounded by polyBLAMP.
            t3 = t + 0.5
            if t3 >= 1.0:
                t3 -= 1.0
            tri = 1.0 - 4.0 * abs(t - 0.5)
            tri += 8.0 * dt * (_blamp(t, dt) - _blamp(t3, dt))
            tri_out[c, i] = 5.0 * tri
            phase += dt
            if phase >= 1.0:
                phase -= 1.0
        state[c] = phase


class VCO(Module):
    model = "VCO"
    title = "VCO"
    description = "Band-limited oscillator: sine, triangle, saw, pulse; 1 V/oct"
    hp = 8
    params = (
        Param("freq", -5.0, 5.0, 0.0, unit="V", label="Frequency"),
        Param("fm", -1.0, 1.0, 0.0, label="FM amount"),
        Param("pw", 0.01, 0.99, 0.5, label="Pulse width"),
        Param("pwm", -1.0, 1.0, 0.0, label="PW CV amount"),
    )
    inputs = (Input("pitch", "V/oct"), Input("fm", "FM"), Input("pw", "PW"))
    outputs = (Output("sin", "Sine"), Output("tri", "Triangle"), Output("saw", "Saw"), Output("sqr", "Pulse"))
    state_per_channel = 1  # phase in cycles, [0, 1)
    kernel = vco_kernel
