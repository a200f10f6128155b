import numpy as np

from measure import run_blocks
from modular.dsp.quantize import SCALES, quantize_block, scale_mask


def q(v, scale="major", root=0):
    v = np.asarray(v, np.float32)[None, :]
    out = np.zeros_like(v)
    quantize_block(v, out, scale_mask(scale, root), 1)
    return out[0]


def test_output_equals_the_scale_table():
    for name, steps in SCALES.items():
        table = np.array([o + s / 12 for o in range(-4, 5) for s in steps], np.float32)
        assert np.array_equal(q(table, name), table)
        # Every input lands on a table entry, and on the nearest one.
        v = np.linspace(-4, 4, 5001, dtype=np.float32)
        out = q(v, name)
        assert np.isin(out, np.r_[table, 5.0]).all()
        full = np.r_[table, np.float32(-5 + steps[-1] / 12), np.float32(5.0)]
        nearest = np.min(np.abs(v[:, None] - full[None, :]), axis=1)
        assert np.allclose(np.abs(out - v), nearest, atol=1e-6)


def test_root_transposes_the_scale():
    # D major is C major moved up 2 semitones (inputs chosen away from ties).
    v = (np.arange(-24, 24) + 0.3) / 12
    assert np.allclose(q(v, "major", root=2), q(v - 2 / 12, "major") + 2 / 12, atol=1e-6)
    assert list(np.round(q(np.array([0.3, 2.7, 5.6, 12.2]) / 12, "major", root=2) * 12)) == [1, 2, 6, 13]


def test_ties_go_down():
    # Minor pentatonic C, Eb: 1.5 semitones (0.125 V, exact in float32) goes to C.
    assert q([0.125], "minor_pentatonic")[0] == 0.0
