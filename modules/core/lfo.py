"""core.LFO: a low-frequency oscillator, free running or locked to a clock.

0 V on the ``freq`` knob is 2 Hz (120 BPM), 1 V/oct with the ``freq`` input. Patch a
clock and the LFO locks to it: 2**round(freq) cycles per clock period (1/16 .. 16),
recomputed from the clock's edges so it never drifts (modular/dsp/lfo.py). ``reset``
restarts the cycle. Outputs ±5 V, or 0..10 V in unipolar mode.
"""

from modular.dsp.lfo import LFO_STATE_SIZE, LFO_WORK_ROWS, lfo_block
from modular.module import MAX_CHANNELS, Input, Module, Output, Param, kernel

S = LFO_STATE_SIZE


@kernel
def lfo_kernel(freq, reset, clock, sin_out, tri_out, saw_out, sqr_out, p0, p1, state, mem, nch, ctx, scratch):
    n = freq.shape[1]
    phase = state[:MAX_CHANNELS][:nch]
    st = state[MAX_CHANNELS:].reshape((MAX_CHANNELS, S))[:nch]
    # All 16 rows, not [:, :nch]: a view sliced in the middle would lose its C layout.
    work = scratch[: LFO_WORK_ROWS * MAX_CHANNELS * n].reshape((LFO_WORK_ROWS, MAX_CHANNELS, n))
    lfo_block(freq, reset, clock, sin_out, tri_out, saw_out, sqr_out, phase, st, work,
              p0[0], p1[0], p1[1], p1[2] > 0.5, ctx[0])


class LFO(Module):
    model = "LFO"
    title = "LFO"
    description = "Low-frequency oscillator: sine, triangle, saw, pulse; clock lock, reset"
    hp = 6
    params = (
        Param("freq", -8.0, 10.0, 0.0, unit="V", label="Rate (0 V = 2 Hz)"),
        Param("pw", 0.01, 0.99, 0.5, label="Pulse width"),
        Param("unipolar", 0, 1, 0, label="Range", options=("bipolar", "unipolar")),
    )
    inputs = (Input("freq", "Rate"), Input("reset", "Reset"), Input("clock", "Clock"))
    outputs = (Output("sin", "Sine"), Output("tri", "Triangle"), Output("saw", "Saw"), Output("sqr", "Square"))
    kernel = lfo_kernel
    finite_outputs = True
    skips_unconnected = True

    state_per_channel = S + 1  # the phase, then the rest

    def scratch_size(self, sample_rate, block):
        return LFO_WORK_ROWS * MAX_CHANNELS * block
