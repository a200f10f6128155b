"""core.Quantizer: snaps 1 V/oct pitch to the nearest note of a scale (0 V = C4).

``scale`` picks one of modular.dsp.quantize's scales, ``root`` transposes it (0 = C ..
11 = B). Notes are 1/12 V apart; a pitch exactly between two allowed notes goes to the
lower one. Polyphonic: every channel of ``in`` is quantized.
"""

import numpy as np
from numba import njit

from modular.dsp.block import JIT
from modular.dsp.quantize import NOTE_NAMES, SCALES, quantize_block, scale_mask
from modular.module import Input, Module, Output, Param

SCALE_NAMES = tuple(SCALES)
# Row k: the mask of scale k rooted on C. The kernel rotates it to the root.
SCALE_TABLE = np.array([scale_mask(name, 0) for name in SCALE_NAMES], dtype=np.float64)


@njit(**JIT)
def quantizer_kernel(inp, out, p0, p1, state, mem, nch, ctx):
    scale = int(p1[0])
    root = int(p1[1])
    mask = state[:12]
    for pc in range(12):
        mask[(pc + root) % 12] = SCALE_TABLE[scale, pc]
    quantize_block(inp, out, mask, nch)


class Quantizer(Module):
    model = "Quantizer"
    title = "Quantizer"
    description = "Snaps 1 V/oct pitch to a scale, any root"
    hp = 6
    params = (
        Param("scale", 0, len(SCALE_NAMES) - 1, SCALE_NAMES.index("major"), label="Scale", options=SCALE_NAMES),
        Param("root", 0, 11, 0, label="Root", options=NOTE_NAMES),
    )
    inputs = (Input("in", "Pitch in"),)
    outputs = (Output("out", "Pitch out"),)
    kernel = quantizer_kernel
    state_fixed = 12  # the rotated mask, rebuilt every block
    finite_outputs = True
