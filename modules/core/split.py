"""core.Split: one polyphonic cable into sixteen mono cables.

Channel K of ``in`` comes out of ``outK``; outputs past the input's channel count read
0 V. A mono input comes out of ``out1``.
"""

from numba import njit

from modular.dsp.block import JIT
from modular.module import MAX_CHANNELS, Input, Module, Output


@njit(**JIT)
def split_kernel(inp, out1, out2, out3, out4, out5, out6, out7, out8, out9, out10, out11, out12,
                 out13, out14, out15, out16, p0, p1, state, mem, nch, ctx):
    outs = (out1, out2, out3, out4, out5, out6, out7, out8, out9, out10, out11, out12, out13, out14,
            out15, out16)
    n = inp.shape[1]
    rows = inp.shape[0]
    for k in range(MAX_CHANNELS):
        o = outs[k]
        if o.shape[0] == 0:
            continue
        if k < rows:
            for i in range(n):
                o[0, i] = inp[k, i]
        else:
            for i in range(n):
                o[0, i] = 0.0


class Split(Module):
    model = "Split"
    title = "Split"
    description = "One polyphonic input into sixteen mono outputs"
    hp = 6
    inputs = (Input("in", "Poly in"),)
    outputs = tuple(Output(f"out{k}", f"{k}") for k in range(1, MAX_CHANNELS + 1))
    kernel = split_kernel
    finite_outputs = True
    skips_unconnected = True

    def output_channels(self, index, nch):
        return 1
