import numpy as np
from scipy.signal import welch

from measure import SR, run_blocks
from modular.dsp.noise import NOISE_STATE_SIZE, noise_block


def noise(seconds, channels=2, seed=0):
    st = np.zeros((channels, NOISE_STATE_SIZE))
    return run_blocks(noise_block, [], 2, channels, seconds, st, seed)


def test_white_is_flat_uniform_and_channels_differ():
    white, _ = noise(4.0)
    w = white[0].astype(np.float64)
    assert abs(w.mean()) < 0.02 and abs(w.std() - 5 / np.sqrt(3)) < 0.02
    assert w.min() >= -5 and w.max() < 5
    f, p = welch(w, SR, nperseg=4096)
    octaves = [p[(f >= lo) & (f < 2 * lo)].mean() for lo in 50 * 2.0 ** np.arange(8)]
    assert 10 * np.log10(max(octaves) / min(octaves)) < 0.5
    assert abs(np.corrcoef(white[0], white[1])[0, 1]) < 0.01


def test_pink_falls_3db_per_octave():
    _, pink = noise(8.0, channels=1)
    f, p = welch(pink[0].astype(np.float64), SR, nperseg=1 << 15)
    sel = (f > 40) & (f < 12000)
    slope = np.polyfit(np.log2(f[sel]), 10 * np.log10(p[sel]), 1)[0]
    assert abs(slope + 3.01) < 0.3, slope
    # Octave by octave: within 1 dB of the -3 dB/octave line.
    lvl = np.array([10 * np.log10(p[(f >= lo) & (f < 2 * lo)].mean()) for lo in 40 * 2.0 ** np.arange(8)])
    assert np.abs(np.diff(lvl) + 3.01).max() < 1.0, np.diff(lvl)
    assert 0.5 < pink[0].std() < 5


def test_noise_is_reproducible_from_the_seed():
    a, _ = noise(0.1, seed=3)
    b, _ = noise(0.1, seed=3)
    c, _ = noise(0.1, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
