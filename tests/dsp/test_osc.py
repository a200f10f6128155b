import numpy as np
import pytest

from measure import BLOCK, SR, cents, harmonic_and_alias_power, peak_frequency, run_blocks
from modular.dsp.osc import (C4, SYNC_HARD, SYNC_OFF, SYNC_SOFT, VCO_STATE_SIZE,
                             VCO_WORK_ROWS, vco_block)

VOLTS = np.arange(-4.0, 4.01, 1.0)


def vco(pitch, seconds, fm=None, pw=None, sync=None, freq=0.0, fm_depth=0.0, pw_param=0.5,
        pwm=0.0, sync_mode=SYNC_OFF, channels=None):
    total = int(round(seconds * SR / BLOCK)) * BLOCK
    pitch = np.asarray(pitch, np.float32).reshape(-1, 1) * np.ones((1, total), np.float32)
    ch = channels or pitch.shape[0]

    def inp(x):
        if x is None:
            return np.zeros((1, total), np.float32)
        x = np.asarray(x, np.float32)
        return x.reshape(1, -1)[:, :total] if x.ndim == 1 else x[:, :total]

    st = np.zeros((ch, VCO_STATE_SIZE))
    work = np.zeros((VCO_WORK_ROWS, BLOCK))
    return run_blocks(vco_block, [pitch, inp(fm), inp(pw), inp(sync)], 4, ch, seconds, st, work,
                      freq, freq, fm_depth, fm_depth, pw_param, pw_param, pwm, pwm,
                      sync_mode, SR)


def test_frequency_within_one_cent_from_minus_4_to_plus_4_volts():
    outs = vco(VOLTS, 4.0)
    for name, out in zip(("sin", "tri", "saw", "sqr"), outs):
        for c, v in enumerate(VOLTS):
            f = peak_frequency(out[c])
            assert abs(cents(f, C4 * 2 ** v)) < 1.0, (name, v, f)


def test_levels_are_plus_minus_5_volts_and_sine_is_pure():
    sin, tri, saw, sqr = vco([0.0], 1.0)
    for x in (sin, tri, saw, sqr):
        assert 4.8 < x[0, 1000:].max() <= 5.3 and -5.3 <= x[0, 1000:].min() < -4.8
    h, rest = harmonic_and_alias_power(sin[0], C4)
    assert rest / h < 1e-8  # -80 dB: float32 output rounding dominates
    # Square at 50 %: no even harmonics, mean ~0.
    assert abs(sqr[0].mean()) < 0.02


@pytest.mark.parametrize("wave", [1, 2, 3])
def test_band_limited_waves_alias_far_below_naive(wave):
    f0 = 2793.826  # F7: high enough for aliasing to matter, not a divisor of SR
    v = np.log2(f0 / C4)
    out = vco([v], 1.0)[wave][0]
    t = np.arange(len(out)) / SR
    ph = (f0 * t) % 1.0
    naive = 5 * {1: 1 - 4 * np.abs((ph + 0.25) % 1.0 - 0.5), 2: 2 * ph - 1,
                 3: np.where(ph < 0.5, 1.0, -1.0)}[wave]
    h, a = harmonic_and_alias_power(out, f0)
    hn, an = harmonic_and_alias_power(naive, f0)
    # Whole band (measured: saw -15.6 dB, square -14.5 dB, triangle -11.1 dB) ...
    assert 10 * np.log10((a / h) / (an / hn)) < -10
    # ... and far more where aliases are most audible, below 5 kHz (about -50 dB).
    h, a = harmonic_and_alias_power(out, f0, band=5000)
    hn, an = harmonic_and_alias_power(naive, f0, band=5000)
    assert 10 * np.log10((a / h) / (an / hn)) < -40
    # The wave itself is right: harmonics as strong as the ideal wave's.
    assert abs(10 * np.log10(h / hn)) < 0.5


def test_pulse_width_sets_duty_cycle():
    for pw in (0.1, 0.25, 0.75):
        sqr = vco([-2.0], 1.0, pw_param=pw)[3][0]
        assert abs((sqr > 0).mean() - pw) < 0.01


def test_pulse_width_cv():
    # pw 0.5 + pwm 1 * 2 V / 10 V = 0.7
    sqr = vco([-2.0], 1.0, pw=np.full(48000, 2.0), pwm=1.0)[3][0]
    assert abs((sqr > 0).mean() - 0.7) < 0.01


def test_hard_sync_locks_to_the_master_and_stays_band_limited():
    f_master = 440.0
    t = np.arange(int(SR)) / SR
    master = np.sin(2 * np.pi * f_master * t + 0.3)  # rising zero crossings at 440 Hz
    v = np.log2(1234.5 / C4)
    saw = vco([v], 1.0, sync=master, sync_mode=SYNC_HARD)[2][0]
    # Periodic at the master's rate: every harmonic of 440 Hz, nothing else.
    h, a = harmonic_and_alias_power(saw, f_master)
    # Naive hard-synced saw for comparison.
    ph = np.zeros_like(t)
    p = 0.0
    last = master[0]
    for i in range(1, len(t)):
        p += 1234.5 / SR
        if last <= 0 < master[i]:
            frac = -last / (master[i] - last)
            p = (1 - frac) * 1234.5 / SR
        last = master[i]
        ph[i] = p % 1.0
    naive = 5 * (2 * ph - 1)
    hn, an = harmonic_and_alias_power(naive, f_master)
    assert 10 * np.log10((a / h) / (an / hn)) < -10
    assert a / h < 1e-3


def test_soft_sync_reverses_direction():
    # A sync edge every 1000 samples: the saw's slope changes sign at each one.
    sync = -np.ones(48000)
    sync[500::1000] = 1.0
    saw = vco([-3.0], 1.0, sync=sync, sync_mode=SYNC_SOFT)[2][0]
    d = np.diff(saw.astype(np.float64))
    up = np.median(d[100:480])
    down = np.median(d[600:1480])
    assert up > 0 and down < 0 and abs(up + down) < 1e-3 * abs(up)


def test_through_zero_fm_runs_backwards():
    # Depth 1 with -10 V: f * (1 - 2) = -f, a falling saw at the same frequency.
    saw = vco([0.0], 1.0, fm=np.full(48000, -10.0), fm_depth=1.0)[2][0]
    assert abs(cents(peak_frequency(saw), C4)) < 1.0
    assert np.median(np.diff(saw)) < 0
    # Depth 1 with +5 V doubles the frequency.
    sin = vco([0.0], 1.0, fm=np.full(48000, 5.0), fm_depth=1.0)[0][0]
    assert abs(cents(peak_frequency(sin), 2 * C4)) < 1.0


def test_through_zero_fm_sweep_stays_clean():
    # Frequency swinging through zero: the output must stay bounded and finite.
    t = np.arange(48000) / SR
    fm = 10.0 * np.sin(2 * np.pi * 3.0 * t)
    outs = vco([2.0], 1.0, fm=fm, fm_depth=1.0)
    for x in outs:
        assert np.isfinite(x).all() and np.abs(x).max() < 6.5


def test_mono_pitch_applies_to_every_channel():
    outs = vco([1.0], 0.25, channels=3)
    assert np.array_equal(outs[2][0], outs[2][2])
