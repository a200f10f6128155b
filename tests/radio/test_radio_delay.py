"""RadioDelay: exact whole-sample delays that follow a latency, round to beats, and
change without clicks."""

import numpy as np

from modular.engine import Engine
from modular.patch import from_dict
from tests.helpers import make_patch

SR = 48000


def delay_patch(params, latency_volts=0.0, source="test.FrameCounter"):
    return make_patch(
        [("src", source), ("lat", "test.PolyConst", {"start": latency_volts}),
         ("dly", "radio.RadioDelay", params), ("sink", "core.VCA")],
        [("src.out", "dly.in"), ("lat.out", "dly.latency"), ("dly.out", "sink.in")],
    )


def run(engine, blocks, port=("dly", "out")):
    out = []
    for _ in range(blocks):
        engine.process(1)
        out.append(engine.output(*port)[0].copy())
    return np.concatenate(out)


def delay_of(y):
    """The frame counter delayed by d reads t - d: d from where it leaves zero."""
    k = int(np.flatnonzero(y > 0)[0])
    return k - int(y[k])


def test_follow_mode_delays_by_the_latency_exactly():
    # 0.5 V = 5 ms = 240 samples, plus a 1 ms offset: 288 samples.
    e = Engine(from_dict(delay_patch({"mode": 0, "offset": 1.0}, latency_volts=0.5)))
    y = run(e, 20)
    assert delay_of(y) == 288
    t = np.arange(len(y))
    assert np.array_equal(y[288:], (t[288:] - 288).astype(np.float32))


def test_beats_mode_rounds_the_latency_up_to_whole_beats():
    # 30 ms of latency at 300 BPM (200 ms beats): one beat, 9600 samples.
    e = Engine(from_dict(delay_patch({"mode": 1, "bpm": 300.0}, latency_volts=3.0)))
    assert delay_of(run(e, 200)) == 9600
    # Bars of 4 beats: 800 ms = 38400 samples.
    e = Engine(from_dict(delay_patch({"mode": 2, "bpm": 300.0}, latency_volts=3.0)))
    assert delay_of(run(e, 700)) == 38400


def test_manual_mode_and_delay_output():
    e = Engine(from_dict(make_patch(
        [("src", "test.FrameCounter"), ("dly", "radio.RadioDelay", {"mode": 3, "time": 0.25}),
         ("sink", "core.VCA"), ("meter", "core.VCA")],
        [("src.out", "dly.in"), ("dly.out", "sink.in"), ("dly.delay", "meter.in")])))
    y = run(e, 300)
    assert delay_of(y) == 12000
    assert abs(e.output("meter", "out")[0, -1] - 25.0) < 1e-4, "0.25 s is 25 V at 1 V per 10 ms"


def test_a_change_of_delay_cross_fades_without_a_click():
    # A 440 Hz sine; the latency jumps from 10 ms to 37 ms. A hard switch would jump by
    # up to 2 x 5 V in one sample; the cross-fade keeps every step small.
    doc = make_patch(
        [("vco", "core.VCO", {"freq": float(np.log2(440 / 261.6256))}),
         ("lat", "core.Const", {"v1": 1.0}),
         ("dly", "radio.RadioDelay", {"mode": 0, "xfade": 50.0}), ("sink", "core.VCA")],
        [("vco.sin", "dly.in"), ("lat.out", "dly.latency"), ("dly.out", "sink.in")],
    )
    e = Engine(from_dict(doc))
    before = run(e, 100)
    e.set_param("lat", "v1", 3.7)
    after = run(e, 100)
    y = np.concatenate([before, after])
    max_step = 2 * np.pi * 440 / SR * 5.0  # a 5 V sine's largest step per sample
    assert np.max(np.abs(np.diff(y[500:]))) < 1.6 * max_step
    # Once faded, the output is the sine delayed by exactly 37 ms.
    ref = run(Engine(from_dict(make_patch(
        [("vco", "core.VCO", {"freq": float(np.log2(440 / 261.6256))}), ("sink", "core.VCA")],
        [("vco.sin", "sink.in")]))), 200, port=("sink", "out"))
    d = round(0.037 * SR)
    tail = slice(len(y) - 1000, len(y))  # after both fades (the Const ramps over one block)
    assert np.allclose(y[tail], ref[tail.start - d:tail.stop - d], atol=1e-6)
