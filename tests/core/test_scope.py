"""core.Scope: triggered, free and auto sweeps; the traces the GUI reads; polyphony."""

import numpy as np

from tests.core.rack import build


def test_triggered_screen_of_a_clock_with_a_poly_second_input():
    # in1: a 600 BPM clock (a 1 ms pulse every 4800 samples), triggering at 5 V; in2: four
    # channels at 1, 2, 3, 4 V. A 10 ms screen is 480 samples: one point per sample.
    e = build(cables=[("clk.clock", "scope.in1"), ("pc.out", "scope.in2")],
              params={"clk": {"bpm": 600}, "pc": {"channels": 4, "start": 1.0, "step": 1.0},
                      "scope": {"time": 0.01, "threshold": 5.0}})
    scope = e.module("scope")
    t = scope.traces()
    assert t["points"] == 0 and t["in1"].shape == (1, 0) and t["in2"].shape == (4, 0) and t["screens"] == 0
    e.process(100)  # 6400 samples: screens start on the ticks at 0 and 4800
    t = scope.traces()
    assert t["screens"] == 2 and t["frame"] == 4800 and t["triggered"] and t["points"] == 480
    assert t["time"] == 0.01
    pulse = np.zeros(480, np.float32)
    pulse[:48] = 10.0
    for key in ("in1", "in1_min", "in1_max"):
        assert t[key].shape == (1, 480) and np.array_equal(t[key][0], pulse)
    assert t["in2"].shape == (4, 480)
    assert all((t["in2"][c] == c + 1).all() for c in range(4))


def test_external_trigger_and_exact_sample_positions():
    # in1: the engine's frame counter; trig: a gate from block 30. The screen starts on
    # the trigger's first sample and each point is the frame it was drawn at.
    e = build(cables=[("fc.out", "scope.in1"), ("pc.out", "scope.trig")],
              params={"scope": {"time": 0.005, "threshold": 1.0}})
    scope = e.module("scope")
    e.process(30)
    e.set_param("pc", "start", 10.0)
    e.process(10)
    t = scope.traces()
    assert t["triggered"] and t["frame"] == 30 * 64 and t["points"] == 240
    assert np.array_equal(t["in1"][0], np.arange(1920, 1920 + 240, dtype=np.float32))
    assert t["in2"].shape == (0, 240)  # unpatched


def test_long_screens_keep_min_and_max_per_point():
    # A 1 s screen is 48000 samples in 512 points of 93.75 samples: every 1 ms pulse still
    # shows in its point's max.
    e = build(cables=[("clk.clock", "scope.in1")],
              params={"clk": {"bpm": 600}, "scope": {"time": 1.0, "threshold": 5.0}})
    e.process(48000 // 64 + 1)
    t = e.module("scope").traces()
    assert t["points"] == 512 and t["frame"] == 0 and t["time"] == 1.0
    ticks = np.arange(0, 48000, 4800)
    hit = np.unique([s * 512 // 48000 for t0 in ticks for s in range(t0, t0 + 48)])  # points a pulse touches
    assert np.flatnonzero(t["in1_max"][0]).tolist() == hit.tolist()
    assert not t["in1_min"].any() and (t["in1"][0, hit] == 5.0).all()


def test_free_running_and_auto_sweeps():
    # Free: screens back to back from frame 0.
    e = build(cables=[("fc.out", "scope.in1")], params={"scope": {"time": 0.01, "trigger": 0}})
    e.process(100)
    t = e.module("scope").traces()
    assert t["screens"] == 13 and t["frame"] == 12 * 480 and not t["triggered"]
    assert t["in1"][0, 0] == 12 * 480
    # Trigger on, but a flat 1 V never crosses 5 V: after 0.1 s the scope sweeps anyway.
    e = build(cables=[("pc.out", "scope.in1")],
              params={"pc": {"start": 1.0}, "scope": {"time": 0.01, "threshold": 5.0}})
    e.process(4800 // 64)
    assert e.module("scope").traces()["screens"] == 0
    e.process(20)
    t = e.module("scope").traces()
    assert t["screens"] == 1 and not t["triggered"] and (t["in1"] == 1.0).all()
