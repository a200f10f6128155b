"""The example patches sound like music: notes and hits where the clock puts them."""

import numpy as np
import soundfile as sf

from modular import cli
from tests.helpers import ROOT

SR = 48000


def render(name, tmp_path, seconds=4.0):
    out = tmp_path / f"{name}.wav"
    assert cli.main(["render", str(ROOT / "patches" / f"{name}.json"), "-o", str(out), "--seconds", str(seconds), "-q"]) == 0
    data, sr = sf.read(out)
    assert sr == SR
    return data[:, 0]


def rms(x, t0, n=1200):
    return float(np.sqrt(np.mean(x[max(0, t0):t0 + n] ** 2)))


def test_sequence_plays_eighth_notes_of_the_melody_without_clipping(tmp_path):
    x = render("sequence", tmp_path)
    assert 0.2 < np.abs(x).max() < 1.0
    # 120 BPM eighths: a note every 12000 samples, louder just after its start than just
    # before; the fourth step's gate is off, so that one stays quiet.
    for k in range(1, 15):
        t = k * 12000
        if k % 8 == 3:
            assert rms(x, t + 480) < rms(x, t - 12000 + 480), f"step 4 (k={k}) is silent"
        else:
            assert rms(x, t + 240) > 2 * rms(x, t - 1200), f"note {k} starts on the grid"
    # The first note is A2 (SEQ row 1 step 1 = -1.25 V): 110 Hz, over a sub an octave below.
    seg = x[200:9800] * np.hanning(9600)
    f = np.fft.rfftfreq(len(seg), 1 / SR)
    p = np.abs(np.fft.rfft(seg))
    band = (f > 80) & (f < 200)
    assert abs(f[band][np.argmax(p[band])] - 110.0) <= 5.0


def test_drums_put_kicks_on_the_beat_and_snares_on_two_and_four(tmp_path):
    x = render("drums", tmp_path)
    assert 0.2 < np.abs(x).max() < 1.0
    spec = np.fft.rfft
    beat = 24000

    def band_energy(t0, lo, hi):
        seg = x[t0:t0 + 2400]
        f = np.fft.rfftfreq(len(seg), 1 / SR)
        p = np.abs(spec(seg * np.hanning(len(seg)))) ** 2
        return p[(f >= lo) & (f < hi)].sum()

    for b in range(7):
        t = b * beat
        low = band_energy(t, 20, 150)
        assert low > 20 * band_energy(t + beat // 4, 20, 150), f"kick on beat {b}"
        snare = band_energy(t, 1000, 4000)
        if b % 2 == 1:
            assert snare > 5 * band_energy(t - beat, 1000, 4000), f"snare on beat {b}"
    # Hats on every eighth: high-band energy at off-beats too.
    off = [band_energy(b * beat + beat // 2, 8000, 20000) for b in range(7)]
    gaps = [band_energy(b * beat + beat // 4, 8000, 20000) for b in range(7)]
    assert min(off) > 10 * max(gaps)
