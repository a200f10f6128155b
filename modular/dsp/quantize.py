"""Quantizer: snap 1 V/oct pitch to the nearest note of a scale.

A scale is a mask of 12 pitch classes (float64 array, 1.0 = allowed) relative to C;
`scale_mask` builds it in Python (outside the audio path). Notes are 1/12 V apart,
0 V = C4. Ties (exactly between two allowed notes) go to the lower note.
"""

import numpy as np
from numba import njit

from modular.dsp.block import INLINE, JIT, row

SCALES = {
    "chromatic": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic_minor": (0, 2, 3, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "whole_tone": (0, 2, 4, 6, 8, 10),
}
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def scale_mask(scale="major", root=0):
    """Mask of allowed pitch classes for a scale name (or a sequence of semitones)
    transposed to root (0 = C .. 11 = B)."""
    steps = SCALES[scale] if isinstance(scale, str) else tuple(scale)
    m = np.zeros(12)
    for s in steps:
        m[(int(s) + root) % 12] = 1.0
    if not m.any():
        raise ValueError("a scale needs at least one note")
    return m


@njit(**INLINE)
def quantize(v, mask):
    """The allowed note (in V) nearest to v; the lower one on a tie."""
    x = v * 12.0
    base = np.floor(x)
    best = 0.0
    best_d = 1e300
    # Allowed notes are at most 11 semitones apart: search base-11 .. base+12.
    for j in range(-11, 13):
        note = base + j
        pc = int(note) % 12
        if mask[pc] != 0.0:
            d = abs(note - x)
            if d < best_d:
                best_d = d
                best = note
    return best / 12.0


@njit(**JIT)
def quantize_block(inp, out, mask, nch):
    """Quantize nch channels of (channels or 1, block) pitch into out."""
    n = inp.shape[1]
    for c in range(nch):
        r = row(inp, c)
        for i in range(n):
            out[c, i] = quantize(inp[r, i], mask)
