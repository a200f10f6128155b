"""core.Const: up to 16 fixed voltages on one polyphonic cable.

A voice's own pitch, rate or pan position in a polyphonic patch: channel k carries
param ``vK``. ``channels`` sets how many (a change takes effect when the patch is
rebuilt, like any channel count).
"""

from modular.module import MAX_CHANNELS, Module, Output, Param, kernel, ramp


@kernel
def const_kernel(out, p0, p1, state, mem, nch, ctx):
    n = out.shape[1]
    for c in range(nch):
        a, b = p0[1 + c], p1[1 + c]
        if a == b:
            out[c, :] = b
        else:
            for i in range(n):
                out[c, i] = ramp(a, b, i, n)


class Const(Module):
    model = "Const"
    title = "Const"
    description = "Up to 16 constant voltages on one polyphonic output"
    hp = 6
    params = (Param("channels", 1, MAX_CHANNELS, 1, integer=True, label="Channels"),) + tuple(
        Param(f"v{k}", -10.0, 10.0, 0.0, unit="V", label=f"Channel {k}") for k in range(1, MAX_CHANNELS + 1)
    )
    outputs = (Output("out", "Out"),)
    kernel = const_kernel
    finite_outputs = True

    def channel_count(self, input_channels):
        return int(self.param_values["channels"])
