"""core.SampleHold: samples ``in`` on each rising edge of ``trig`` and holds it.

The sample where the trigger rises (Schmitt: above 1 V, re-armed below 0.1 V) already
outputs the new value. Polyphonic: channels follow the wider of ``in`` and ``trig``, so
a mono trigger samples every channel at once and a poly trigger samples a mono input
into separate channels.
"""

from numba import njit

from modular.dsp.block import JIT
from modular.dsp.triggers import sample_hold_block
from modular.module import MAX_CHANNELS, Input, Module, Output

S = 2


@njit(**JIT)
def sample_hold_kernel(inp, trig, out, p0, p1, state, mem, nch, ctx):
    sample_hold_block(inp, trig, out, state[:MAX_CHANNELS * S].reshape((MAX_CHANNELS, S))[:nch])


class SampleHold(Module):
    model = "SampleHold"
    title = "S&H"
    description = "Sample & hold: samples the input on each trigger"
    hp = 4
    inputs = (Input("in", "In"), Input("trig", "Trigger"))
    outputs = (Output("out", "Out"),)
    kernel = sample_hold_kernel
    state_per_channel = S
    finite_outputs = True

    def channel_count(self, input_channels):
        return max(1, *input_channels)
