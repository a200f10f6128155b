import numpy as np

from measure import BLOCK, SR, cents, peak_frequency, run_blocks
from modular.dsp.lfo import LFO_STATE_SIZE, LFO_WORK_ROWS, lfo_block


def lfo(volts, seconds, reset=None, unipolar=False, pw=0.5, clock=None, knob=0.0):
    total = int(round(seconds * SR / BLOCK)) * BLOCK
    cv = np.asarray(volts, np.float32).reshape(-1, 1) * np.ones((1, total), np.float32)
    rs = np.zeros((1, total), np.float32) if reset is None else reset[None, :total].astype(np.float32)
    ck = np.zeros((1, total), np.float32) if clock is None else clock[None, :total].astype(np.float32)
    st = np.zeros((cv.shape[0], LFO_STATE_SIZE))
    work = np.zeros((LFO_WORK_ROWS, cv.shape[0], BLOCK))
    return run_blocks(lfo_block, [cv, rs, ck], 4, cv.shape[0], seconds, np.zeros(cv.shape[0]), st, work, knob, knob, pw, unipolar, SR)


def test_lfo_frequency_0v_is_2hz_and_1v_per_octave():
    volts = [-1.0, 0.0, 1.0, 3.0]
    outs = lfo(volts, 8.0)
    for c, v in enumerate(volts):
        for o in outs:
            assert abs(cents(peak_frequency(o[c], pad=8), 2.0 * 2 ** v)) < 1.0


def test_lfo_bipolar_and_unipolar_ranges():
    for uni, lo, hi in ((False, -5, 5), (True, 0, 10)):
        for o in lfo([0.0], 1.0, unipolar=uni):
            assert abs(o.min() - lo) < 0.01 and abs(o.max() - hi) < 0.01


def test_lfo_reset_restarts_phase_on_the_edge_sample():
    reset = np.zeros(48000)
    reset[30000:30010] = 10.0
    sin, tri, saw, sqr = lfo([0.0], 1.0, reset=reset)
    assert saw[0, 30000] == -5.0 and sin[0, 30000] == 0.0
    assert saw[0, 30001] > saw[0, 30000]


def test_lfo_locks_to_a_clock_at_power_of_two_ratios():
    # A clock at 1.5 Hz (32000 samples): ratio 1 gives one cycle per clock edge, ratio 4
    # (knob 2 V) four; the saw wraps exactly on the clock's edges, without drift.
    period = 32000
    clock = np.zeros(48000 * 8)
    for k in range(0, len(clock), period):
        clock[k:k + 48] = 10.0
    for knob, cycles in ((0.0, 1), (2.0, 4), (-1.0, 0.5)):
        saw = lfo([0.0], 8.0, clock=clock, knob=knob)[2][0]
        wraps = np.flatnonzero(np.diff(saw) < -5.0) + 1
        later = wraps[wraps > 2 * period]  # locked after the second edge
        spacing = np.diff(later)
        assert np.all(np.abs(spacing - period / cycles) <= 1), (knob, spacing[:5])
        if cycles >= 1:
            assert all(w % period in (0, period - 1, 1) or (w % (period / cycles)) < 2 for w in later)
