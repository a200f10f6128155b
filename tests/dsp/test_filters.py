import math

import numpy as np
import pytest

from measure import BLOCK, SR, run_blocks
from modular.dsp.filters import (C4, ONEPOLE_STATE_SIZE, SVF_STATE_SIZE, SVF_WORK_ROWS,
                                 onepole_block, svf_block)

N = 1 << 15


def svf(x, cutoff_v, q=0.7071, lin=None, lin_depth=0.0, drive=0.0, channels=1):
    x = np.atleast_2d(np.asarray(x, np.float32))
    cv = np.atleast_2d(np.asarray(cutoff_v, np.float32))
    if cv.shape[1] == 1:
        cv = cv * np.ones((1, x.shape[1]), np.float32)
    lin = np.zeros((1, x.shape[1]), np.float32) if lin is None else np.atleast_2d(lin).astype(np.float32)
    st = np.zeros((channels, SVF_STATE_SIZE))
    work = np.zeros((SVF_WORK_ROWS, 2, BLOCK))
    return run_blocks(svf_block, [x, cv, lin], 2, channels, x.shape[1] / SR, st, work,
                      0.0, 0.0, q, q, lin_depth, lin_depth, drive, drive, SR)


def minus_3db_point(h, low_pass):
    """Frequency where |H| crosses 1/sqrt(2), by interpolation in dB between bins."""
    mag = 20 * np.log10(np.abs(np.fft.rfft(h, 4 * len(h))) + 1e-30)
    freqs = np.fft.rfftfreq(4 * len(h), 1 / SR)
    below = mag < -3.0103
    k1 = int(np.argmax(below if low_pass else ~below))  # first bin past the crossing
    k0 = k1 - 1
    t = (-3.0103 - mag[k0]) / (mag[k1] - mag[k0])
    return freqs[k0] + t * (freqs[k1] - freqs[k0])


CUTOFFS = [30.0, 100.0, 440.0, 1200.0, 5000.0, 12000.0, 20000.0]


@pytest.mark.parametrize("fc", CUTOFFS)
def test_svf_minus_3db_at_cutoff_within_2_percent(fc):
    imp = np.zeros(N, np.float32)
    imp[0] = 1.0
    chans = np.vstack([imp, imp])
    lp, hp = svf(chans, [[math.log2(fc / C4)]], channels=2)
    for out, low in ((lp[0], True), (hp[1], False)):
        f3 = minus_3db_point(out.astype(np.float64), low)
        assert abs(f3 / fc - 1) < 0.02, (fc, low, f3)
        # and far tighter in fact: the tan approximation is good to 1e-5
        assert abs(f3 / fc - 1) < 0.002, (fc, low, f3)


def test_svf_resonance_peak_equals_q():
    imp = np.zeros(N, np.float32)
    imp[0] = 1.0
    for q in (2.0, 10.0):
        lp, _ = svf(imp, [[math.log2(1000 / C4)]], q=q)
        h_fc = np.abs(np.sum(lp[0] * np.exp(-2j * np.pi * 1000 / SR * np.arange(N))))
        assert abs(h_fc / q - 1) < 0.01  # |H(fc)| = Q for the low-pass SVF


def test_audio_rate_cutoff_matches_exact_tan_reference():
    # 1200 + 1000 * sin Hz at 300 Hz, via the linear input, against float64 numpy with tan().
    n = 4800
    t = np.arange(n) / SR
    lfo = np.sin(2 * np.pi * 300 * t)
    rng = np.random.default_rng(1)
    x = rng.uniform(-5, 5, n)
    lp, hp = svf(x, [[math.log2(1200 / C4)]], q=2.0, lin=5 * lfo, lin_depth=200.0)
    f = 1200.0 + 200.0 * (5 * lfo).astype(np.float32)
    g = np.tan(np.pi * f / SR)
    k = 0.5
    ic1 = ic2 = 0.0
    ref = np.empty(n)
    xs = x.astype(np.float32).astype(np.float64)
    for i in range(n):
        a1 = 1 / (1 + g[i] * (g[i] + k))
        a2 = g[i] * a1
        a3 = g[i] * a2
        v3 = xs[i] - ic2
        v1 = a1 * ic1 + a2 * v3
        v2 = ic2 + a2 * ic1 + a3 * v3
        ic1, ic2 = 2 * v1 - ic1, 2 * v2 - ic2
        ref[i] = v2
    assert np.max(np.abs(lp[0] - ref)) < 1e-3


def test_hard_modulation_stays_bounded_and_nan_free():
    n = 48000
    t = np.arange(n) / SR
    cv = 6 * np.sin(2 * np.pi * 2000 * t) + 2  # 4 Hz .. 67 kHz (clamped), at 2 kHz
    x = np.sign(np.sin(2 * np.pi * 110 * t)) * 5
    lp, hp = svf(x, cv[None, :], q=30.0)
    assert np.isfinite(lp).all() and np.abs(lp).max() < 200


def test_drive_saturates_smoothly():
    t = np.arange(9600) / SR
    x = 5 * np.sin(2 * np.pi * 100 * t)
    clean, _ = svf(x, [[5.0]])  # cutoff ~8.4 kHz: passes 100 Hz
    assert abs(np.abs(clean[0, 4800:]).max() - 5) < 0.05
    driven, _ = svf(x, [[5.0]], drive=1.0)
    assert 4.0 < np.abs(driven[0, 4800:]).max() < 5.5
    slight, _ = svf(x, [[5.0]], drive=1e-4)  # continuous from drive 0
    assert np.max(np.abs(slight - clean)) < 0.01


@pytest.mark.parametrize("fc", [20.0, 1000.0, 15000.0])
def test_onepole_minus_3db_at_cutoff(fc):
    imp = np.zeros((1, N), np.float32)
    imp[0, 0] = 1.0
    cv = np.full((1, N), math.log2(fc / C4), np.float32)
    st = np.zeros((1, ONEPOLE_STATE_SIZE))
    lp, hp = run_blocks(onepole_block, [imp, cv], 2, 1, N / SR, st, 0.0, 0.0, SR)
    assert abs(minus_3db_point(lp[0].astype(np.float64), True) / fc - 1) < 0.02
    assert abs(minus_3db_point(hp[0].astype(np.float64), False) / fc - 1) < 0.02
