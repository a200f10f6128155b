import numpy as np

from measure import BLOCK, SR, cents, peak_frequency, run_blocks
from modular.dsp.osc import LFO_STATE_SIZE, lfo_block


def lfo(volts, seconds, reset=None, unipolar=False, pw=0.5):
    total = int(round(seconds * SR / BLOCK)) * BLOCK
    cv = np.asarray(volts, np.float32).reshape(-1, 1) * np.ones((1, total), np.float32)
    rs = np.zeros((1, total), np.float32) if reset is None else reset[None, :total].astype(np.float32)
    st = np.zeros((cv.shape[0], LFO_STATE_SIZE))
    return run_blocks(lfo_block, [cv, rs], 4, cv.shape[0], seconds, st, 0.0, 0.0, pw, unipolar, SR)


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
