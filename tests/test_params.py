"""Param changes ramp across one block: no zipper steps."""

import numpy as np

from tests.helpers import make_patch
from modular.engine import Engine
from modular.patch import from_dict


def test_param_change_ramps_linearly_across_the_next_block():
    doc = make_patch([("dc", "test.PolyConst", {"start": 1.0}), ("vca", "core.VCA", {"level": 0.0})],
                     [("dc.out", "vca.in")])
    e = Engine(from_dict(doc))
    e.process(1)
    assert not e.output("vca", "out").any()
    assert e.set_param("vca", "level", 1.0) == 1.0
    e.process(1)
    y = e.output("vca", "out")[0].astype(np.float64)
    assert np.allclose(y, np.arange(1, 65) / 64, atol=1e-6), "a linear ramp from 0 to 1 over the block"
    assert np.max(np.abs(np.diff(y))) <= 1 / 64 + 1e-6
    e.process(1)
    assert np.allclose(e.output("vca", "out"), 1.0)


def test_set_param_clamps_to_range_and_switches_do_not_ramp():
    doc = make_patch([("dc", "test.PolyConst", {"start": 1.0}), ("mix", "core.Mixer")], [("dc.out", "mix.in1")])
    e = Engine(from_dict(doc))
    assert e.set_param("mix", "master", 7.0) == 1.0
    e.set_param("mix", "mute", 1)
    e.process(1)
    assert not e.output("mix", "out").any(), "mute takes effect for the whole block"
