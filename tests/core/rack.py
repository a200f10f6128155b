"""A fixed rack of test sources and the core modules of tests/core, for every test here.

The compiled runner is keyed by the models a patch uses and the order they run in, and
each new one costs seconds to compile. So every test builds the same rack, in the same
order, and only changes params, data and cables (cables always run forward in the
list, so the run order is the list order): one runner serves the whole folder.
"""

import numpy as np

from modular import plugins
from modular.engine import Engine
from modular.module import Input, Module, Plugin, kernel
from modular.patch import from_dict
from tests.helpers import make_patch

SINK_INPUTS = 16


@kernel
def sink_kernel(in1, in2, in3, in4, in5, in6, in7, in8, in9, in10, in11, in12, in13, in14, in15, in16,
                p0, p1, state, mem, nch, ctx):
    pass


class Sink(Module):
    """Listens to outputs, so modules that skip unconnected outputs compute them."""
    model = "Sink"
    inputs = tuple(Input(f"in{k}") for k in range(1, SINK_INPUTS + 1))
    kernel = sink_kernel


plugins.register(Plugin("coretest", models=[Sink]))

RACK = (
    ("pc", "test.PolyConst"),  # gates and constants, set block by block with set_param
    ("pc2", "test.PolyConst"),
    ("fc", "test.FrameCounter"),
    ("imp", "test.Impulse"),
    ("noise", "core.Noise"),
    ("clk", "core.Clock"),
    ("seq", "core.SEQ"),
    ("q", "core.Quantizer"),
    ("sh", "core.SampleHold"),
    ("slew", "core.Slew"),
    ("dly", "core.Delay"),
    ("split", "core.Split"),
    ("merge", "core.Merge"),
    ("scope", "core.Scope"),
    ("ain", "core.AudioIn"),
    ("sink", "coretest.Sink"),
)

# The WAV rack: WavIn needs a file at build time, so it has a rack of its own.
WAV_RACK = (
    ("pc", "test.PolyConst"),
    ("fc", "test.FrameCounter"),
    ("noise", "core.Noise"),
    ("win", "core.WavIn"),
    ("wout", "core.WavOut"),
    ("sink", "coretest.Sink"),
)


def build(cables=(), params=None, data=None, listen=(), rack=RACK, sample_rate=48000, block_size=64) -> Engine:
    """The rack with these cables, params ({id: {...}}) and data; outputs in ``listen``
    ("module.port") are cabled to the sink so that they are computed."""
    params = params or {}
    data = data or {}
    cables = list(cables) + [(p, f"sink.in{k + 1}") for k, p in enumerate(listen)]
    order = [m for m, _ in rack]
    for a, b in cables:
        assert order.index(a.split(".")[0]) < order.index(b.split(".")[0]), f"cable {a} -> {b} runs backwards"
    mods = [(mid, model, params.get(mid, {}), data.get(mid, {})) for mid, model in rack]
    engine = Engine(from_dict(make_patch(mods, cables, sample_rate, block_size)))
    assert [m.id for m in engine.graph.modules] == order
    return engine


def record(engine, blocks, ports, before=None) -> dict:
    """Run ``blocks`` blocks and return each "module.port" as (channels, samples).
    ``before(b)`` runs ahead of block ``b`` (set params there)."""
    out = {p: [] for p in ports}
    for b in range(blocks):
        if before is not None:
            before(b)
        engine.process(1)
        for p in ports:
            m, o = p.split(".")
            out[p].append(engine.output(m, o).copy())
    return {p: np.concatenate(v, axis=1) for p, v in out.items()}


def rising(x, level=5.0) -> np.ndarray:
    """Sample indexes where a 1-D signal goes from below ``level`` to at or above it."""
    hi = x >= level
    prev = np.concatenate([[False], hi[:-1]])
    return np.flatnonzero(hi & ~prev)


def high_runs(x, level=5.0) -> np.ndarray:
    """Lengths of the runs at or above ``level``."""
    hi = np.concatenate([[False], x >= level, [False]]).astype(np.int8)
    d = np.diff(hi)
    return np.flatnonzero(d == -1) - np.flatnonzero(d == 1)
