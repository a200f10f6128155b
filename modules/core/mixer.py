"""core.Mixer: four inputs with levels, a master level and a master mute.

Polyphonic per channel: the mix has as many channels as its widest input; a mono
input is added to every channel.
"""

from modular.module import Input, Module, Output, Param, kernel, ramp, row


@kernel
def mixer_kernel(in1, in2, in3, in4, out, p0, p1, state, mem, nch, ctx):
    n = out.shape[1]
    mute = p1[5] > 0.5
    for c in range(nch):
        r1, r2, r3, r4 = row(in1, c), row(in2, c), row(in3, c), row(in4, c)
        for i in range(n):
            if mute:
                out[c, i] = 0.0
                continue
            s = (in1[r1, i] * ramp(p0[0], p1[0], i, n) + in2[r2, i] * ramp(p0[1], p1[1], i, n)
                 + in3[r3, i] * ramp(p0[2], p1[2], i, n) + in4[r4, i] * ramp(p0[3], p1[3], i, n))
            out[c, i] = s * ramp(p0[4], p1[4], i, n)


class Mixer(Module):
    model = "Mixer"
    title = "Mixer"
    description = "Four-input mixer with levels, master level and mute"
    hp = 10
    params = (
        Param("level1", 0.0, 1.0, 1.0, label="Level 1"),
        Param("level2", 0.0, 1.0, 1.0, label="Level 2"),
        Param("level3", 0.0, 1.0, 1.0, label="Level 3"),
        Param("level4", 0.0, 1.0, 1.0, label="Level 4"),
        Param("master", 0.0, 1.0, 1.0, label="Master"),
        Param("mute", 0, 1, 0, label="Mute", options=("on", "muted")),
    )
    inputs = (Input("in1"), Input("in2"), Input("in3"), Input("in4"))
    outputs = (Output("out", "Mix"),)
    kernel = mixer_kernel

    def channel_count(self, input_channels):
        return max(1, *input_channels)
