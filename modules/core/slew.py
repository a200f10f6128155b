"""core.Slew: a linear slew limiter (portamento, lag) with separate rise and fall times.

Times are seconds per 10 V: with ``rise`` = 0.1 a jump from 0 to 10 V takes 0.1 s, one
of 5 V takes 0.05 s; 0 passes changes straight through. Polyphonic.
"""

from numba import njit

from modular.dsp.block import JIT
from modular.dsp.triggers import slew_block
from modular.module import MAX_CHANNELS, Input, Module, Output, Param


@njit(**JIT)
def slew_kernel(inp, out, p0, p1, state, mem, nch, ctx):
    slew_block(inp, out, state[:MAX_CHANNELS].reshape((MAX_CHANNELS, 1))[:nch],
               p0[0], p1[0], p0[1], p1[1], ctx[0])


class Slew(Module):
    model = "Slew"
    title = "Slew"
    description = "Slew limiter: rise and fall times in seconds per 10 V"
    hp = 4
    params = (
        Param("rise", 0.0, 10.0, 0.1, unit="s", label="Rise time (per 10 V)"),
        Param("fall", 0.0, 10.0, 0.1, unit="s", label="Fall time (per 10 V)"),
    )
    inputs = (Input("in", "In"),)
    outputs = (Output("out", "Out"),)
    kernel = slew_kernel
    state_per_channel = 1
    finite_outputs = True
