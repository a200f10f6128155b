"""core.Delay: delay time exact in samples, feedback, mix, time CV, polyphony, 10 s lines."""

import numpy as np

from tests.core.rack import build, record

SR = 48000


def impulse_response(blocks=40, **params):
    p = dict(time=0.01, feedback=0.0, mix=1.0, tone=20000.0)
    p.update(params)
    e = build(cables=[("imp.out", "dly.in")], params={"dly": p})
    return record(e, blocks, ["dly.out"])["dly.out"]


def test_whole_sample_delay_is_exact():
    for time, d in ((0.01, 480), (0.005, 240), (0.02, 960), (0.001, 48)):
        y = impulse_response(time=time)[0]
        want = np.zeros_like(y)
        want[d] = 1.0
        assert np.array_equal(y, want), (time, d, np.flatnonzero(y))


def test_mix_and_feedback():
    y = impulse_response(mix=0.5, feedback=0.5)[0].astype(np.float64)
    assert y[0] == 0.5 and y[480] == 0.5  # half dry, half wet
    # The second echo went once round the feedback (0.5) through the tone low-pass
    # (unity gain at DC: the echo's sum is 0.5 of the first); mixed at 0.5.
    assert abs(y[950:1100].sum() - 0.25) < 0.005 and np.abs(y[961:1100]).max() < 0.25
    assert abs(y[1430:1600].sum() - 0.125) < 0.005
    # Feedback 0: a single echo.
    y = impulse_response(mix=1.0, feedback=0.0)[0]
    assert np.count_nonzero(y) == 1


def test_time_cv_is_1v_per_octave_and_sets_the_channel_count():
    # A 3-channel time CV (0, 1, 2 V) on a mono input: echoes at 480, 960 and 1920 samples.
    e = build(cables=[("imp.out", "dly.in"), ("pc.out", "dly.time")],
              params={"dly": {"time": 0.01, "feedback": 0.0, "mix": 1.0},
                      "pc": {"channels": 3, "start": 0.0, "step": 1.0}})
    y = record(e, 40, ["dly.out"])["dly.out"]
    assert y.shape[0] == 3
    for c, d in enumerate((480, 960, 1920)):
        assert np.flatnonzero(y[c]).tolist() == [d] and y[c, d] == 1.0
    # -1 V halves it; a fractional CV gives a fractional delay (interpolated).
    e = build(cables=[("imp.out", "dly.in"), ("pc.out", "dly.time")],
              params={"dly": {"time": 0.01, "feedback": 0.0, "mix": 1.0},
                      "pc": {"channels": 2, "start": -1.0, "step": 1.0 + np.log2(1.0 + 0.25 / 480)}})
    y = record(e, 40, ["dly.out"])["dly.out"].astype(np.float64)
    assert np.flatnonzero(y[0]).tolist() == [240]
    centre = (np.arange(y.shape[1]) * y[1]).sum() / y[1].sum()  # of the interpolated echo
    assert abs(centre - 480.25) < 0.01, centre


def test_polyphonic_input_and_ten_second_line():
    # A poly input (Split->Merge is not needed: the noise is poly) through a 10 s delay.
    e = build(cables=[("noise.white", "dly.in")],
              params={"noise": {"channels": 2}, "dly": {"time": 10.0, "feedback": 0.0, "mix": 1.0}})
    first = []
    for _ in range(3):
        e.process(1)
        first.append(e.output("noise", "white").copy())
    assert not e.output("dly", "out").any()
    e.process(7500 - 3)  # 480000 samples = 7500 blocks after the start
    e.process(1)
    assert e.output("dly", "out").shape[0] == 2
    assert np.array_equal(e.output("dly", "out"), first[0])
