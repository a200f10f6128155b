"""core.Clock: a master clock exact in samples, with multiplied and divided outputs.

The period is ``60 / bpm`` seconds; ticks land on sample ``ceil(j * period)`` (exact for
whole-sample periods, drift-free otherwise). ``mult`` ticks ``mult`` times per beat (on
``ceil(j * period / mult)``), ``div`` on every ``div``-th beat. All outputs are 10 V
triggers 1 ms long.

Running is the ``run`` switch, toggled by each rising edge on the ``run`` input. Starting
restarts the clock on its downbeat and fires the ``reset`` output; so does a rising edge
on the ``reset`` input (the clock ticks on that very sample, the divider starts over).
"""

from numba import njit

from modular.dsp.block import JIT
from modular.dsp.triggers import (bpm_period, clock, divided_tick, multiplied_tick, pulse,
                                  pulse_length, schmitt)
from modular.module import Input, Module, Output, Param

# state: 0 samples since the beat, 1 divider count, 2..5 pulses (clock, mult, div, reset),
# 6 reset Schmitt, 7 run Schmitt, 8 run toggled by the input, 9 was running
ELAPSED, DIVCOUNT, P_CLK, P_MULT, P_DIV, P_RST, S_RST, S_RUN, TOGGLE, WAS = range(10)


@njit(**JIT)
def clock_kernel(run_in, reset_in, out_clk, out_mult, out_div, out_rst, p0, p1, state, mem, nch, ctx):
    n = out_clk.shape[1]
    sr = ctx[0]
    length = pulse_length(sr)
    m = p1[2]
    d = p1[3]
    switch_on = p1[1] > 0.5
    do_clk = out_clk.shape[0] > 0
    do_mult = out_mult.shape[0] > 0
    do_div = out_div.shape[0] > 0
    do_rst = out_rst.shape[0] > 0
    st = state
    for i in range(n):
        bpm = p0[0] + (p1[0] - p0[0]) * (i + 1) / n
        period = bpm_period(bpm, sr)
        if schmitt(st, S_RUN, run_in[0, i]):
            st[TOGGLE] = 1.0 - st[TOGGLE]
        running = switch_on != (st[TOGGLE] != 0.0)
        rst = schmitt(st, S_RST, reset_in[0, i])
        if running and st[WAS] == 0.0:
            rst = True  # starting is a reset: downbeat now
        if rst:
            st[ELAPSED] = 0.0
            st[DIVCOUNT] = 0.0
        tick = False
        mtick = False
        dtick = False
        if running:
            mtick = multiplied_tick(st[ELAPSED], period, m)
            tick = clock(st, ELAPSED, period)
            dtick = divided_tick(st, DIVCOUNT, tick, d)
        st[WAS] = 1.0 if running else 0.0
        v = pulse(st, P_CLK, tick, length)
        if do_clk:
            out_clk[0, i] = v
        v = pulse(st, P_MULT, mtick, length)
        if do_mult:
            out_mult[0, i] = v
        v = pulse(st, P_DIV, dtick, length)
        if do_div:
            out_div[0, i] = v
        v = pulse(st, P_RST, rst, length)
        if do_rst:
            out_rst[0, i] = v


class Clock(Module):
    model = "Clock"
    title = "Clock"
    description = "Master clock: BPM, run, reset; multiplied and divided outputs; 1 ms triggers"
    hp = 8
    params = (
        Param("bpm", 10.0, 600.0, 120.0, unit="BPM", label="Tempo"),
        Param("run", 0, 1, 1, label="Run", options=("stopped", "running")),
        Param("mult", 1, 16, 2, label="Multiply (ticks per beat)", integer=True),
        Param("div", 1, 16, 2, label="Divide (beats per tick)", integer=True),
    )
    inputs = (Input("run", "Run toggle"), Input("reset", "Reset"))
    outputs = (Output("clock", "Clock"), Output("mult", "Multiplied"), Output("div", "Divided"),
               Output("reset", "Reset"))
    kernel = clock_kernel
    state_fixed = 10
    finite_outputs = True
    skips_unconnected = True

    def channel_count(self, input_channels):
        return 1
