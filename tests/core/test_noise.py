"""core.Noise: levels, pink slope, per-instance seeds that repeat, polyphony."""

import numpy as np
from scipy.signal import welch

from tests.core.rack import build, record

SR = 48000


def test_white_is_flat_pink_falls_3db_per_octave_and_channels_differ():
    e = build(params={"noise": {"channels": 4}}, listen=["noise.white", "noise.pink"])
    r = record(e, 6 * SR // 64, ["noise.white", "noise.pink"])
    white, pink = r["noise.white"].astype(np.float64), r["noise.pink"].astype(np.float64)
    assert white.shape[0] == pink.shape[0] == 4
    assert abs(white.std() - 5 / np.sqrt(3)) < 0.02 and np.abs(white).max() <= 5.0
    f, pw = welch(white[0], SR, nperseg=1 << 14)
    f, pp = welch(pink[0], SR, nperseg=1 << 15)
    sel = (f > 40) & (f < 12000)
    slope_pink = np.polyfit(np.log2(f[sel]), 10 * np.log10(pp[sel]), 1)[0]
    fw = np.fft.rfftfreq(1 << 14, 1 / SR)
    selw = (fw > 40) & (fw < 12000)
    slope_white = np.polyfit(np.log2(fw[selw]), 10 * np.log10(pw[selw]), 1)[0]
    assert abs(slope_pink + 3.01) < 0.3, slope_pink
    assert abs(slope_white) < 0.2, slope_white
    c = np.corrcoef(white)
    assert np.abs(c[~np.eye(4, dtype=bool)]).max() < 0.01


def test_renders_repeat_and_instances_differ():
    def take(**data):
        e = build(params={"noise": {"channels": 2}}, data={"noise": data} if data else None,
                  listen=["noise.white"])
        return record(e, 20, ["noise.white"])["noise.white"]

    a, b = take(), take()
    assert np.array_equal(a, b)  # the same module id: the same noise, render after render
    c = take(seed=1)
    d = take(seed=2)
    assert not np.array_equal(a, c) and not np.array_equal(c, d)
    # No channel of one instance repeats a channel of another.
    for x in (c, d):
        for y in (a,):
            assert not any(np.array_equal(x[i], y[j]) for i in range(2) for j in range(2))
    assert not any(np.array_equal(c[i], d[j]) for i in range(2) for j in range(2))


def test_unread_output_is_skipped():
    e = build(params={"noise": {"channels": 3}}, listen=["noise.pink"])
    e.process(1)
    assert e.output("noise", "white").shape[0] == 0 and e.output("noise", "pink").shape[0] == 3
