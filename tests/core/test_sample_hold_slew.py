"""core.SampleHold holds what it sampled on each trigger; core.Slew takes its set times."""

import numpy as np

from tests.core.rack import build, record, rising


def test_sample_hold_holds_the_frame_of_each_trigger():
    # in = the engine's frame number, trig = a 480 BPM clock: the output is the frame of
    # the last tick, exactly, and nothing else.
    e = build(cables=[("fc.out", "sh.in"), ("clk.clock", "sh.trig")], params={"clk": {"bpm": 480}})
    r = record(e, 30000 // 64, ["sh.out", "fc.out"])
    out = r["sh.out"][0]
    ticks = np.arange(0, len(out), 6000)
    expect = ticks[np.searchsorted(ticks, np.arange(len(out)), side="right") - 1]
    assert np.array_equal(out, expect.astype(np.float32))


def test_sample_hold_is_polyphonic():
    # 3 channels of noise sampled by a mono trigger: each channel holds its own value.
    e = build(cables=[("noise.white", "sh.in"), ("clk.clock", "sh.trig")],
              params={"noise": {"channels": 3}, "clk": {"bpm": 600}})
    r = record(e, 15000 // 64, ["sh.out", "noise.white", "clk.clock"])
    out, noise = r["sh.out"], r["noise.white"]
    assert out.shape[0] == 3
    ticks = rising(r["clk.clock"][0])
    assert list(ticks) == [0, 4800, 9600, 14400]
    for t0, t1 in zip(ticks, list(ticks[1:]) + [out.shape[1]]):
        for c in range(3):
            assert (out[c, t0:t1] == noise[c, t0]).all()
    assert len({out[c, 5000] for c in range(3)}) == 3
    # A poly trigger on a mono input: channels follow the wider cable.
    e = build(cables=[("pc.out", "sh.trig"), ("fc.out", "sh.in")],
              params={"pc": {"channels": 4, "start": 0.0, "step": 0.0}})

    def before(b):  # channel c rises at block 10 + c (PolyConst: start + c * step)
        e.set_param("pc", "start", 0.0)
        e.set_param("pc", "step", 10.0 if b == 10 else 0.0)

    r = record(e, 20, ["sh.out"], before)["sh.out"]
    assert r.shape[0] == 4
    assert (r[0, 640:] == 0).all() and all((r[c, 640:] == 640).all() for c in range(1, 4))


def test_slew_rise_and_fall_times():
    # 0 -> 10 V with rise 10 ms: 480 samples; back to 0 with fall 20 ms: 960 samples.
    # Channel c jumps to (c + 1) * 2.5 V, so it arrives in (c + 1) / 4 of the time.
    e = build(cables=[("pc.out", "slew.in")],
              params={"pc": {"channels": 4, "start": 2.5, "step": 2.5}, "slew": {"rise": 0.01, "fall": 0.02}})

    def before(b):
        if b == 50:
            e.set_param("pc", "start", 0.0)
            e.set_param("pc", "step", 0.0)

    out = record(e, 100, ["slew.out"], before)["slew.out"].astype(np.float64)
    assert out.shape[0] == 4
    for c in range(4):
        target = (c + 1) * 2.5
        arrive = int(np.flatnonzero(out[c] >= target - 1e-4)[0]) + 1  # samples to get there
        assert abs(arrive - 480 * (c + 1) / 4) <= 1, (c, arrive)
        slope = np.diff(out[c, : arrive - 2])
        assert np.allclose(slope, 10 / 480, rtol=0, atol=1e-6)  # linear (float32 steps)
        fall = out[c, 3200:]
        back = int(np.flatnonzero(fall <= 1e-4)[0]) + 1
        assert abs(back - 960 * (c + 1) / 4) <= 1, (c, back)


def test_slew_zero_time_passes_through():
    e = build(cables=[("noise.white", "slew.in")], params={"slew": {"rise": 0.0, "fall": 0.0}})
    r = record(e, 10, ["slew.out", "noise.white"])
    assert np.array_equal(r["slew.out"], r["noise.white"])
