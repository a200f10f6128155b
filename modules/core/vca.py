"""core.VCA: a voltage-controlled amplifier, linear or exponential.

CV 0..10 V is gain 0..1 (clamped), times the level knob; unpatched, the CV reads 10 V.
The exponential response raises the CV to the fourth power, as VCV's VCA does, for
envelopes that sound natural.
"""

from modular.module import Input, Module, Output, Param, kernel, ramp, row


@kernel
def vca_kernel(inp, cv, out, p0, p1, state, mem, nch, ctx):
    n = out.shape[1]
    exponential = p1[1] > 0.5
    for c in range(nch):
        ri, rc = row(inp, c), row(cv, c)
        for i in range(n):
            g = cv[rc, i] * 0.1
            g = min(max(g, 0.0), 1.0)
            if exponential:
                g = g * g
                g = g * g
            out[c, i] = inp[ri, i] * g * ramp(p0[0], p1[0], i, n)


class VCA(Module):
    model = "VCA"
    title = "VCA"
    description = "Voltage-controlled amplifier; CV 0-10 V is gain 0-1, linear or exponential"
    hp = 4
    params = (
        Param("level", 0.0, 1.0, 1.0, label="Level"),
        Param("exp", 0, 1, 0, label="Response", options=("linear", "exponential")),
    )
    inputs = (Input("in", "In"), Input("cv", "CV", normal=10.0))
    outputs = (Output("out", "Out"),)
    kernel = vca_kernel
    finite_outputs = True  # finite input times a gain in [0, 1]
