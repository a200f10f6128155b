import numba
import numpy as np

from measure import SR, run_blocks
from modular.dsp.block import JIT
from modular.dsp.triggers import (bpm_period, clock, clock_period, divided_tick, follow_clock,
                                  multiplied_tick, pulse, pulse_length, sample_hold_block,
                                  schmitt, slew_block)


@numba.njit(**JIT)
def _run_clock(n, period, mult, div, out):
    st = np.zeros(8)
    length = pulse_length(48000.0)
    for i in range(n):
        e = st[0]
        t = clock(st, 0, period)
        out[0, i] = pulse(st, 1, t, length)
        out[1, i] = pulse(st, 2, multiplied_tick(e, period, mult), length)
        out[2, i] = pulse(st, 3, divided_tick(st, 4, t, div), length)


def rising(x):
    x = np.asarray(x)
    return np.flatnonzero((x[1:] > 1.0) & (x[:-1] <= 1.0)) + 1


def test_clock_period_exact_in_samples_with_1ms_triggers():
    period = bpm_period(120.0, SR)
    assert period == 24000.0 and clock_period(0.0, SR) == 24000.0
    out = np.zeros((3, 100000))
    _run_clock(100000, period, 4, 3, out)
    edges = np.flatnonzero(np.diff(np.r_[0.0, out[0]]) > 0)
    assert list(edges) == [0, 24000, 48000, 72000, 96000]
    # Each trigger is 10 V for exactly 1 ms (48 samples).
    assert (out[0, :48] == 10.0).all() and out[0, 48] == 0.0
    m = np.flatnonzero(np.diff(np.r_[0.0, out[1]]) > 0)
    assert list(m[:9]) == [0, 6000, 12000, 18000, 24000, 30000, 36000, 42000, 48000]
    d = np.flatnonzero(np.diff(np.r_[0.0, out[2]]) > 0)
    assert list(d) == [0, 72000]


def test_fractional_period_does_not_drift():
    out = np.zeros((3, 48000))
    _run_clock(48000, 1000.5, 3, 2, out)
    edges = np.flatnonzero(np.diff(np.r_[0.0, out[0]]) > 0)
    assert np.array_equal(edges, np.ceil(np.arange(len(edges)) * 1000.5).astype(int))


@numba.njit(**JIT)
def _schmitt_run(x):
    st = np.zeros(1)
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = 1.0 if schmitt(st, 0, x[i]) else 0.0
    return out


def test_schmitt_thresholds():
    x = np.array([0.0, 0.5, 1.0, 0.5, 0.2, 2.0, 0.1, 5.0, 0.05, 1.5])
    assert list(np.flatnonzero(_schmitt_run(x))) == [2, 7, 9]


@numba.njit(**JIT)
def _follow(edges, n, m):
    st = np.zeros(2)
    out = np.zeros(n)
    j = 0
    for i in range(n):
        rose = j < len(edges) and edges[j] == i
        if rose:
            j += 1
        out[i] = 1.0 if follow_clock(st, 0, rose, m) else 0.0
    return out


def test_follow_clock_multiplies_an_external_clock():
    edges = np.arange(0, 50000, 12000)
    out = _follow(edges, 48000, 4)
    ticks = np.flatnonzero(out)
    assert list(ticks[ticks >= 12000][:8]) == [12000, 15000, 18000, 21000, 24000, 27000, 30000, 33000]


def test_sample_and_hold():
    x = np.arange(1000, dtype=np.float32)[None, :]
    trig = np.zeros((1, 1000), np.float32)
    trig[0, [100, 101, 500]] = 10.0
    (out,) = run_blocks(sample_hold_block, [x, trig], 1, 1, 1000 / SR, np.zeros((1, 2)), block=8)
    assert out[0, 99] == 0 and out[0, 100] == 100 and out[0, 499] == 100 and out[0, 500] == 500


def test_slew_rise_and_fall_times():
    x = np.zeros((1, 48000), np.float32)
    x[0, 100:24000] = 10.0
    (out,) = run_blocks(slew_block, [x], 1, 1, 1.0, np.zeros((1, 1)), 0.1, 0.1, 0.2, 0.2, SR)
    up = int(np.argmax(out[0] >= 10.0 - 1e-4)) - 100
    down = int(np.argmax(out[0, 24000:] <= 1e-4))
    assert abs(up - 0.1 * SR) <= 1 and abs(down - 0.2 * SR) <= 1
