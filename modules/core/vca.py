"""core.VCA: a voltage-controlled amplifier. Unpatched, the CV reads 10 V (full gain)."""

from modular.module import Input, Module, Output, Param, kernel, ramp, row


@kernel
def vca_kernel(inp, cv, out, p0, p1, state, mem, nch, ctx):
    n = out.shape[1]
    for c in range(nch):
        ri, rc = row(inp, c), row(cv, c)
        for i in range(n):
            g = cv[rc, i] * 0.1
            if g < 0.0:
                g = 0.0
            elif g > 1.0:
                g = 1.0
            out[c, i] = inp[ri, i] * g * ramp(p0[0], p1[0], i, n)


class VCA(Module):
    model = "VCA"
    title = "VCA"
    description = "Voltage-controlled amplifier; CV 0-10 V is gain 0-1"
    hp = 4
    params = (Param("level", 0.0, 1.0, 1.0, label="Level"),)
    inputs = (Input("in", "In"), Input("cv", "CV", normal=10.0))
    outputs = (Output("out", "Out"),)
    kernel = vca_kernel
