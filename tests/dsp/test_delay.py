import numba
import numpy as np
import pytest

from measure import SR, run_blocks
from modular.dsp.block import JIT
from modular.dsp.delay import (DELAY_STATE_SIZE, delay_block, delay_read_cubic,
                               delay_read_linear, delay_write)


@numba.njit(**JIT)
def _line(x, d, cubic):
    buf = np.zeros(4096, np.float32)
    st = np.zeros(2)
    out = np.zeros(len(x))
    for i in range(len(x)):
        pos = int(st[0])
        out[i] = delay_read_cubic(buf, pos, d) if cubic else delay_read_linear(buf, pos, d)
        delay_write(buf, st, x[i])
    return out


@pytest.mark.parametrize("cubic", [False, True])
@pytest.mark.parametrize("d", [1, 2, 7, 480, 4093])
def test_integer_delay_is_exact(d, cubic):
    x = np.random.default_rng(0).standard_normal(10000).astype(np.float32)
    y = _line(x, float(d), cubic)
    assert np.array_equal(y[d:], x[:-d].astype(np.float64)) and (y[:d] == 0).all()


def test_fractional_delay_of_a_sine_is_a_phase_shift():
    f = 1000.0
    t = np.arange(20000)
    x = np.sin(2 * np.pi * f * t / SR)
    for d in (10.25, 100.5, 333.75):
        y = _line(x.astype(np.float32), d, True)
        ref = np.sin(2 * np.pi * f * (t - d) / SR)
        assert np.max(np.abs(y[500:] - ref[500:])) < 2e-3


def test_delay_block_time_feedback_mix():
    n = 48000
    x = np.zeros((1, n), np.float32)
    x[0, 0] = 1.0
    st = np.zeros((1, DELAY_STATE_SIZE))
    buf = np.zeros((1, 24000), np.float32)
    cv = np.zeros((1, n), np.float32)
    (out,) = run_blocks(delay_block, [x, cv], 1, 1, 1.0, st, buf, 0.1, 0.1, 0.5, 0.5,
                        20000.0, 20000.0, 1.0, 1.0, SR)
    peaks = np.flatnonzero(np.abs(out[0]) > 0.05)
    assert peaks[0] == 4800 and abs(out[0, 4800] - 1.0) < 1e-6
    # Feedback 0.5 through the tone low-pass (unity gain at DC): the echo sums to 0.5.
    assert 9600 in peaks and abs(out[0, 9590:9700].sum() - 0.5) < 0.01
    assert abs(out[0, 14390:14500].sum() - 0.25) < 0.01
