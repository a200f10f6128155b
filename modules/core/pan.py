"""core.Pan: a constant-power panner, polyphonic.

Position -5 V (or knob -1) is hard left, +5 V hard right, 0 centre at -3 dB on each
side: left = cos(θ), right = sin(θ), θ = (position + 1) · π/4. Each channel pans on its
own; ``core.AudioOut`` sums the channels of a polyphonic cable.
"""

from modular.dsp.approx import sin2pi_quarter
from modular.module import Input, Module, Output, Param, kernel, ramp, row


@kernel
def pan_kernel(inp, pos, left, right, p0, p1, state, mem, nch, ctx):
    n = inp.shape[1]
    for c in range(nch):
        ri, rp = row(inp, c), row(pos, c)
        for i in range(n):
            x = ramp(p0[0], p1[0], i, n) + pos[rp, i] * 0.2
            x = min(max(x, -1.0), 1.0)
            ph = (x + 1.0) * 0.125  # θ / 2π, in [0, 0.25]
            v = inp[ri, i]
            left[c, i] = v * sin2pi_quarter(0.25 - ph)  # cos θ
            right[c, i] = v * sin2pi_quarter(ph)


class Pan(Module):
    model = "Pan"
    title = "Pan"
    description = "Constant-power panner; position knob and CV (±5 V = hard left/right)"
    hp = 4
    params = (Param("pan", -1.0, 1.0, 0.0, label="Position"),)
    inputs = (Input("in", "In"), Input("pos", "Position CV"))
    outputs = (Output("left", "L"), Output("right", "R"))
    kernel = pan_kernel
    finite_outputs = True
