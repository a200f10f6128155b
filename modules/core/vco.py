"""core.VCO: a band-limited oscillator with sine, triangle, saw and pulse outputs.

Pitch follows 1 V/oct around C4 (0 V = 261.6256 Hz); the ``freq`` knob (in volts) adds
to the pitch input. Saw, pulse and triangle are band-limited with polyBLEP/polyBLAMP at
the exact sub-sample time of every edge, so they stay clean up the keyboard and
through sync and FM (modular/dsp/osc.py). Outputs are ±5 V, one sample late (the
band-limiting looks one sample ahead).

- ``fm``: through-zero linear FM; the frequency is multiplied by 1 + depth · fm / 5 V.
- ``pw``: pulse width CV, pw + pwm · cv / 10 V, clamped to 1 %..99 %.
- ``sync``: a rising zero crossing resets the phase (hard) or reverses it (soft).
"""

from modular.dsp.osc import VCO_STATE_SIZE, VCO_WORK_ROWS, vco_block
from modular.module import MAX_CHANNELS, Input, Module, Output, Param, kernel

S = VCO_STATE_SIZE


@kernel
def vco_kernel(pitch, fm, pw_in, sync, sin_out, tri_out, saw_out, sqr_out, p0, p1, state, mem, nch, ctx, scratch):
    n = pitch.shape[1]
    st = state.reshape((MAX_CHANNELS, S))[:nch]
    work = scratch[: VCO_WORK_ROWS * n].reshape((VCO_WORK_ROWS, n))
    vco_block(pitch, fm, pw_in, sync, sin_out, tri_out, saw_out, sqr_out, st, work,
              p0[0], p1[0], p0[1], p1[1], p0[2], p1[2], p0[3], p1[3], int(p1[4]), ctx[0])


class VCO(Module):
    model = "VCO"
    title = "VCO"
    description = "Band-limited oscillator: sine, triangle, saw, pulse; 1 V/oct, FM, PWM, sync"
    hp = 8
    params = (
        Param("freq", -5.0, 5.0, 0.0, unit="V", label="Frequency"),
        Param("fm", -1.0, 1.0, 0.0, label="FM depth"),
        Param("pw", 0.01, 0.99, 0.5, label="Pulse width"),
        Param("pwm", -1.0, 1.0, 0.0, label="PW CV depth"),
        Param("sync", 0, 2, 0, label="Sync", options=("off", "hard", "soft")),
    )
    inputs = (Input("pitch", "V/oct"), Input("fm", "FM"), Input("pw", "PW"), Input("sync", "Sync"))
    outputs = (Output("sin", "Sine"), Output("tri", "Triangle"), Output("saw", "Saw"), Output("sqr", "Pulse"))
    kernel = vco_kernel
    finite_outputs = True
    skips_unconnected = True
    state_per_channel = S

    def scratch_size(self, sample_rate, block):
        return VCO_WORK_ROWS * block
