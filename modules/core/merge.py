"""core.Merge: sixteen mono cables into one polyphonic cable.

Input ``inK`` becomes channel K (its first channel, if it is itself polyphonic). The
``channels`` param sets the count; 0 (automatic) takes the highest connected input, so
merging in1 and in3 makes three channels with channel 2 at 0 V.
"""

from numba import njit

from modular.dsp.block import JIT
from modular.module import MAX_CHANNELS, Input, Module, Output, Param


@njit(**JIT)
def merge_kernel(in1, in2, in3, in4, in5, in6, in7, in8, in9, in10, in11, in12, in13, in14, in15,
                 in16, out, p0, p1, state, mem, nch, ctx):
    if out.shape[0] == 0:
        return
    ins = (in1, in2, in3, in4, in5, in6, in7, in8, in9, in10, in11, in12, in13, in14, in15, in16)
    n = out.shape[1]
    for c in range(nch):
        a = ins[c]
        for i in range(n):
            out[c, i] = a[0, i]


class Merge(Module):
    model = "Merge"
    title = "Merge"
    description = "Sixteen mono inputs into one polyphonic output"
    hp = 6
    params = (Param("channels", 0, 16, 0, label="Channels (0 = auto)", integer=True),)
    inputs = tuple(Input(f"in{k}", f"{k}") for k in range(1, MAX_CHANNELS + 1))
    outputs = (Output("out", "Poly out"),)
    kernel = merge_kernel
    finite_outputs = True
    skips_unconnected = True

    def channel_count(self, input_channels):
        fixed = int(self.param_values["channels"])
        if fixed > 0:
            return fixed
        connected = [k + 1 for k, ch in enumerate(input_channels) if ch > 0]
        return max(connected, default=1)
