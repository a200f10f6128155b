"""The graph: order, feedback, cables, normals, sanitising."""

import numpy as np
import pytest

from tests.helpers import make_patch
from modular.engine import Engine
from modular.patch import from_dict


def run_capture(engine, module, port, blocks):
    out = []
    for _ in range(blocks):
        engine.process(1)
        out.append(engine.output(module, port).copy())
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("block", [1, 16, 64, 100])
def test_feedback_cycle_delays_exactly_one_block(block):
    # imp -> mix.in1; mix.out -> vca.in; vca.out -> mix.in2 closes the cycle. Each trip
    # around it scales by 0.5, so the impulse comes back as echoes one block apart.
    doc = make_patch(
        [("imp", "test.Impulse"), ("mix", "core.Mixer"), ("vca", "core.VCA", {"level": 0.5})],
        [("imp.out", "mix.in1"), ("mix.out", "vca.in"), ("vca.out", "mix.in2")],
        block_size=block,
    )
    e = Engine(from_dict(doc))
    assert len(e.graph.feedback) == 1
    y = run_capture(e, "mix", "out", 6)[0]
    nz = np.flatnonzero(y)
    assert list(nz) == [0, block, 2 * block, 3 * block, 4 * block, 5 * block]
    assert np.array_equal(y[nz], np.float32([1, 0.5, 0.25, 0.125, 0.0625, 0.03125]))


def test_modules_run_in_dependency_order_whatever_the_file_order():
    doc = make_patch(
        [("out", "core.Mixer"), ("vca", "core.VCA"), ("src", "test.FrameCounter")],
        [("src.out", "vca.in"), ("vca.out", "out.in1")],
    )
    e = Engine(from_dict(doc))
    assert [m.id for m in e.graph.modules] == ["src", "vca", "out"]
    assert not e.graph.feedback
    y = run_capture(e, "out", "out", 3)[0]
    assert np.array_equal(y, np.arange(192, dtype=np.float32)), "no block of delay without a cycle"


def test_output_feeds_many_and_unconnected_input_reads_normal_or_zero():
    doc = make_patch(
        [("src", "test.FrameCounter"), ("a", "core.VCA"), ("b", "core.VCA"), ("m", "core.Mixer")],
        [("src.out", "a.in"), ("src.out", "b.in")],
    )
    e = Engine(from_dict(doc))
    e.process(2)
    ramp = np.arange(64, 128, dtype=np.float32)
    # VCA cv is normalled to 10 V: full gain.
    assert np.array_equal(e.output("a", "out")[0], ramp)
    assert np.array_equal(e.output("b", "out")[0], ramp)
    # Mixer inputs are unconnected: 0 V.
    assert not e.output("m", "out").any()


def test_nan_and_infinity_become_zero_volts():
    doc = make_patch([("nan", "test.NanSource"), ("vca", "core.VCA")], [("nan.out", "vca.in")])
    e = Engine(from_dict(doc))
    e.process(1)
    y = e.output("vca", "out")[0]
    assert np.isfinite(y).all()
    assert np.array_equal(y, np.tile(np.float32([1, 0, 0, 0]), 16))


def test_mono_secondary_input_applies_to_every_channel():
    # A 4-channel signal through a VCA whose mono CV is 5 V: every channel at half gain.
    doc = make_patch(
        [("src", "test.PolyConst", {"channels": 4, "start": 1.0, "step": 1.0}),
         ("cv", "test.PolyConst", {"channels": 1, "start": 5.0}), ("vca", "core.VCA")],
        [("src.out", "vca.in"), ("cv.out", "vca.cv")],
    )
    e = Engine(from_dict(doc))
    e.process(1)
    y = e.output("vca", "out")
    assert y.shape[0] == 4
    assert np.allclose(y[:, -1], [0.5, 1.0, 1.5, 2.0])


def test_poly_secondary_input_with_fewer_channels_reads_zero_beyond():
    # 4-channel signal, 2-channel CV: channels 3 and 4 get 0 V of CV, so silence.
    doc = make_patch(
        [("src", "test.PolyConst", {"channels": 4, "start": 1.0}),
         ("cv", "test.PolyConst", {"channels": 2, "start": 10.0}), ("vca", "core.VCA")],
        [("src.out", "vca.in"), ("cv.out", "vca.cv")],
    )
    e = Engine(from_dict(doc))
    e.process(1)
    assert np.allclose(e.output("vca", "out")[:, -1], [1, 1, 0, 0])


def test_channel_count_follows_primary_input():
    doc = make_patch(
        [("fm", "test.PolyConst", {"channels": 8}), ("pitch", "test.PolyConst", {"channels": 3}),
         ("vco", "core.VCO")],
        [("fm.out", "vco.fm"), ("pitch.out", "vco.pitch")],
    )
    e = Engine(from_dict(doc))
    assert e.graph.channels["vco"] == 3
