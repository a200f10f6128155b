"""core.Quantizer: every output equals the scale table's nearest note; polyphonic."""

import numpy as np

from modular.dsp.quantize import SCALES
from modules.core.quantizer import SCALE_NAMES
from tests.core.rack import build


def reference(x, steps, root):
    """Nearest allowed note (V) to each pitch x by brute force; the lower one on a tie."""
    notes = np.array([12 * o + (s + root) % 12 for o in range(-8, 9) for s in steps], np.float64)
    notes.sort()
    d = np.abs(notes[None, :] - x.astype(np.float64)[:, None] * 12.0)
    return (notes[np.argmin(d, axis=1)] / 12.0).astype(np.float32)  # argmin takes the first (lower)


def test_output_equals_the_scale_table_for_every_scale_and_root():
    # Uniform noise over ±5 V on 3 channels, quantized block by block under each scale/root.
    e = build(cables=[("noise.white", "q.in")], params={"noise": {"channels": 3}})
    checked = 0
    for k, name in enumerate(SCALE_NAMES):
        for root in (0, 5, 11):
            e.set_param("q", "scale", k)
            e.set_param("q", "root", root)
            for _ in range(4):
                e.process(1)
                x = e.output("noise", "white")
                y = e.output("q", "out")
                assert y.shape[0] == 3
                for c in range(3):
                    assert np.array_equal(y[c], reference(x[c], SCALES[name], root)), (name, root, c)
                    checked += y.shape[1]
    assert checked == len(SCALE_NAMES) * 3 * 4 * 3 * 64


def test_notes_and_ties():
    # C major: 0 2 4 5 7 9 11. Inputs 3 semitones apart: 0.25 V and 0.5 V are exact ties
    # (D#: D or E; F#: F or G) and go to the lower note.
    e = build(cables=[("pc.out", "q.in")], params={"pc": {"channels": 5, "start": 0.0, "step": 0.25}})
    e.set_param("q", "scale", SCALE_NAMES.index("major"))
    for start, want in [(0.0, [0, 2, 5, 9, 12]), (0.5 / 12, [0, 4, 7, 9, 12]), (-1.0, [-12, -10, -7, -3, 0])]:
        e.set_param("pc", "start", start)
        e.process(1)
        got = np.round(e.output("q", "out")[:, 0].astype(np.float64) * 12, 5)
        assert list(got) == want, (start, got)
    # Root D (2): D major is 2 4 6 7 9 11 13.
    e.set_param("q", "root", 2)
    e.set_param("pc", "start", 0.0)
    e.process(1)
    assert list(np.round(e.output("q", "out")[:, 0].astype(np.float64) * 12, 5)) == [-1, 2, 6, 9, 11]
    # Octaves: -2 V + 3 semitones in C minor pentatonic (0 3 5 7 10) stays exactly there.
    e.set_param("q", "root", 0)
    e.set_param("q", "scale", SCALE_NAMES.index("minor_pentatonic"))
    e.set_param("pc", "start", -2 + 3 / 12)
    e.set_param("pc", "step", 0.0)
    e.process(1)
    assert np.all(e.output("q", "out") == np.float32(-2 + 3 / 12))
