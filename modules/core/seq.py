"""core.SEQ: an 8-step sequencer with three CV rows and a gate per step.

Each rising edge on ``clock`` moves to the next step, wrapping after ``length`` steps.
At start and after a rising edge on ``reset`` the sequencer waits before step 1 (its CV
rows already show step 1): the next clock plays step 1, so a reset sent with a clock
(as core.Clock does) restarts the pattern on that clock.

Outputs: ``cv1``..``cv3`` the current step's knobs (V); ``gate`` 10 V while the clock
input is high on a step whose gate is on; ``trig`` a 1 ms trigger on entering a step
whose gate is on; ``step`` the step index in volts (0 V = step 1 .. 7 V = step 8).
"""

from numba import njit

from modular.dsp.block import JIT
from modular.dsp.triggers import GATE_V, pulse, pulse_length, schmitt
from modular.module import Input, Module, Output, Param

STEPS = 8
ROWS = 3
GATE0 = ROWS * STEPS  # param index of gate_1
LENGTH = GATE0 + STEPS  # param index of length
# state: 0 position (0 = waiting before step 1, k = step k), 1 clock Schmitt, 2 reset Schmitt, 3 trigger
POS, S_CLK, S_RST, P_TRIG = range(4)


@njit(**JIT)
def seq_kernel(clk, reset, cv1, cv2, cv3, gate, trig, step, p0, p1, state, mem, nch, ctx):
    n = cv1.shape[1]
    length = pulse_length(ctx[0])
    steps = int(p1[LENGTH])
    st = state
    for i in range(n):
        if schmitt(st, S_RST, reset[0, i]):
            st[POS] = 0.0
        rose = schmitt(st, S_CLK, clk[0, i])
        if rose:
            st[POS] = 1.0 if st[POS] >= steps else st[POS] + 1.0
        k = int(st[POS]) - 1
        if k < 0:
            k = 0
        gate_on = p1[GATE0 + k] > 0.5
        tv = pulse(st, P_TRIG, rose and gate_on, length)
        if cv1.shape[0] > 0:
            cv1[0, i] = p0[k] + (p1[k] - p0[k]) * (i + 1) / n
        if cv2.shape[0] > 0:
            j = STEPS + k
            cv2[0, i] = p0[j] + (p1[j] - p0[j]) * (i + 1) / n
        if cv3.shape[0] > 0:
            j = 2 * STEPS + k
            cv3[0, i] = p0[j] + (p1[j] - p0[j]) * (i + 1) / n
        if gate.shape[0] > 0:
            gate[0, i] = GATE_V if (gate_on and st[S_CLK] != 0.0 and st[POS] > 0.0) else 0.0
        if trig.shape[0] > 0:
            trig[0, i] = tv
        if step.shape[0] > 0:
            step[0, i] = k


def _params():
    ps = []
    for r in range(1, ROWS + 1):
        for s in range(1, STEPS + 1):
            ps.append(Param(f"cv{r}_{s}", -10.0, 10.0, 0.0, unit="V", label=f"Row {r} step {s}"))
    for s in range(1, STEPS + 1):
        ps.append(Param(f"gate_{s}", 0, 1, 1, label=f"Gate {s}", options=("off", "on")))
    ps.append(Param("length", 1, STEPS, STEPS, unit="steps", label="Length", integer=True))
    return tuple(ps)


class SEQ(Module):
    model = "SEQ"
    title = "SEQ"
    description = "8-step sequencer: three CV rows, per-step gates, clock, reset, length"
    hp = 22
    params = _params()
    inputs = (Input("clock", "Clock"), Input("reset", "Reset"))
    outputs = (Output("cv1", "CV 1"), Output("cv2", "CV 2"), Output("cv3", "CV 3"), Output("gate", "Gate"),
               Output("trig", "Trigger"), Output("step", "Step"))
    kernel = seq_kernel
    state_fixed = 4
    finite_outputs = True
    skips_unconnected = True

    def channel_count(self, input_channels):
        return 1
