"""Modules that exist only for tests: exact, simple sources to measure the engine with."""

import numpy as np

from modular.module import Input, Module, Output, Param, Plugin, kernel


@kernel
def impulse_kernel(out, p0, p1, state, mem, nch, ctx):
    # 1 V on the very first sample the engine runs, 0 V after.
    out[0, :] = 0.0
    if ctx[2] == 0.0:
        out[0, 0] = 1.0


class Impulse(Module):
    model = "Impulse"
    outputs = (Output("out"),)
    kernel = impulse_kernel


@kernel
def poly_const_kernel(out, p0, p1, state, mem, nch, ctx):
    # Channel c holds start + c * step volts.
    for c in range(nch):
        out[c, :] = p1[1] + c * p1[2]


class PolyConst(Module):
    model = "PolyConst"
    params = (Param("channels", 1, 16, 1, integer=True), Param("start", -10, 10, 0), Param("step", -10, 10, 0))
    outputs = (Output("out"),)
    kernel = poly_const_kernel

    def channel_count(self, input_channels):
        return int(self.param_values["channels"])


@kernel
def frame_counter_kernel(out, p0, p1, state, mem, nch, ctx):
    # The engine's sample position, exactly (float32 holds integers to 2**24).
    n = out.shape[1]
    for i in range(n):
        out[0, i] = ctx[2] + i


class FrameCounter(Module):
    model = "FrameCounter"
    outputs = (Output("out"),)
    kernel = frame_counter_kernel


@kernel
def nan_kernel(out, p0, p1, state, mem, nch, ctx):
    n = out.shape[1]
    for i in range(n):
        k = i % 4
        if k == 1:
            out[0, i] = np.nan
        elif k == 2:
            out[0, i] = np.inf
        elif k == 3:
            out[0, i] = -np.inf
        else:
            out[0, i] = 1.0


class NanSource(Module):
    model = "NanSource"
    outputs = (Output("out"),)
    kernel = nan_kernel


plugin = Plugin("test", models=[Impulse, PolyConst, FrameCounter, NanSource])
