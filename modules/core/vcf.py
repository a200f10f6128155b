"""core.VCF: a resonant 2-pole state-variable filter with low-pass and high-pass outputs.

Cutoff in Hz is C4 · 2**(freq + cutoff CV) + lin · fm: the knob and the ``cutoff``
input are 1 V/oct around C4, and ``fm`` is linear, ``lin`` Hz per volt, for audio-rate
sweeps. Resonance is set as Q (0.707 is flat); ``drive`` pushes the input into a soft
clipper. Zero-delay-feedback (TPT) design: stable under any modulation
(modular/dsp/filters.py).
"""

from modular.dsp.filters import SVF_STATE_SIZE, SVF_WORK_ROWS, svf_block
from modular.module import MAX_CHANNELS, Input, Module, Output, Param, kernel

S = SVF_STATE_SIZE


@kernel
def vcf_kernel(inp, cutoff, fm, lp, hp, p0, p1, state, mem, nch, ctx, scratch):
    n = inp.shape[1]
    st = state.reshape((MAX_CHANNELS, S))[:nch]
    work = scratch[: SVF_WORK_ROWS * 2 * n].reshape((SVF_WORK_ROWS, 2, n))
    svf_block(inp, cutoff, fm, lp, hp, st, work, p0[0], p1[0], p0[1], p1[1], p0[2], p1[2], p0[3], p1[3], ctx[0])


class VCF(Module):
    model = "VCF"
    title = "VCF"
    description = "Resonant 2-pole filter, low-pass and high-pass; 1 V/oct and linear cutoff CV, drive"
    hp = 8
    params = (
        Param("freq", -5.0, 6.2, 2.0, unit="V", label="Cutoff (0 V = 261.6 Hz)"),
        Param("q", 0.5, 30.0, 0.7071, label="Resonance (Q)"),
        Param("lin", -2000.0, 2000.0, 0.0, unit="Hz/V", label="Linear FM depth"),
        Param("drive", 0.0, 1.0, 0.0, label="Drive"),
    )
    inputs = (Input("in", "In"), Input("cutoff", "Cutoff V/oct"), Input("fm", "Linear FM"))
    outputs = (Output("lp", "Low-pass"), Output("hp", "High-pass"))
    kernel = vcf_kernel
    finite_outputs = True  # the SVF guards its inputs and state against NaN and blow-up
    skips_unconnected = True
    state_per_channel = S

    def scratch_size(self, sample_rate, block):
        return SVF_WORK_ROWS * 2 * block
