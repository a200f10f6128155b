"""core.Delay: a polyphonic delay with feedback, tone and dry/wet mix.

Delay time in seconds is ``time * 2**cv`` (the ``time`` input at 1 V/oct: +1 V doubles
it), read from a line of up to MAX_SECONDS with 4-point Hermite interpolation, so a
delay that is a whole number of samples is exact: a click comes out exactly
``time * sample_rate`` samples later, bit for bit. ``feedback`` sends the echo back
through ``tone``, a one-pole low-pass (Hz); ``mix`` goes from dry (0) to wet (1).

Channels follow the wider of ``in`` and ``time``. The delay lines live in the module's
memory, sized from the sample rate and channel count.
"""

import math

from numba import njit

from modular.dsp.approx import exp2, tan_pade
from modular.dsp.block import JIT, clamp, ramp, row
from modular.dsp.delay import DELAY_STATE_SIZE, delay_read_cubic, delay_write
from modular.module import MAX_CHANNELS, Input, Module, Output, Param

MAX_SECONDS = 10.0
S = DELAY_STATE_SIZE


@njit(**JIT)
def delay_kernel(inp, time_cv, out, p0, p1, state, mem, nch, ctx):
    # Same signal path as modular.dsp.delay.delay_block, but with an exact 2**cv at
    # whole volts (approx.exp2(0) is 1 + 7e-8, which would make whole-sample delays
    # interpolate).
    n = out.shape[1]
    sr = ctx[0]
    L = mem.shape[0] // nch
    pi_over_sr = math.pi / sr
    for c in range(nch):
        ri = row(inp, c)
        rt = row(time_cv, c)
        st = state[c * S:(c + 1) * S]
        buf = mem[c * L:(c + 1) * L]
        for i in range(n):
            v = time_cv[rt, i]
            if v == 0.0:
                scale = 1.0
            elif v == math.floor(v):
                scale = 2.0 ** v
            else:
                scale = exp2(v)
            d = ramp(p0[0], p1[0], i, n) * scale * sr
            wet = delay_read_cubic(buf, int(st[0]), d)
            x = clamp(ramp(p0[2], p1[2], i, n) * pi_over_sr, 1e-5, 1.5)
            tn, td = tan_pade(x)
            G = tn / (tn + td)
            u = (wet - st[1]) * G
            lp = u + st[1]
            st[1] = lp + u
            dry = inp[ri, i]
            delay_write(buf, st, dry + ramp(p0[1], p1[1], i, n) * lp)
            m = ramp(p0[3], p1[3], i, n)
            out[c, i] = dry + (wet - dry) * m


class Delay(Module):
    model = "Delay"
    title = "Delay"
    description = "Delay with feedback, tone and mix; time CV at 1 V/oct; exact in samples"
    hp = 8
    params = (
        Param("time", 0.001, MAX_SECONDS, 0.5, unit="s", label="Time"),
        Param("feedback", 0.0, 1.0, 0.5, label="Feedback"),
        Param("tone", 20.0, 20000.0, 10000.0, unit="Hz", label="Tone (feedback low-pass)"),
        Param("mix", 0.0, 1.0, 0.5, label="Dry/wet mix"),
    )
    inputs = (Input("in", "In"), Input("time", "Time CV (V/oct)"))
    outputs = (Output("out", "Out"),)
    kernel = delay_kernel
    state_per_channel = S

    def channel_count(self, input_channels):
        return max(1, *input_channels)

    @staticmethod
    def line_length(sample_rate) -> int:
        """Samples per channel's line: the longest delay plus the interpolator's margin."""
        return int(math.ceil(MAX_SECONDS * sample_rate)) + 4

    def memory_size(self, sample_rate, block):
        return min(self.channels, MAX_CHANNELS) * self.line_length(sample_rate)
