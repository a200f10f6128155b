"""The VCO plays the pitch the voltage standard asks for, measured by FFT."""

import subprocess

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import ROOT, make_patch, peak_hz
from modular.engine import Engine
from modular.patch import from_dict

C4 = 261.6256


@pytest.mark.parametrize("freq_v, hz", [(0.0, 261.63), (1.0, 523.25)])
def test_render_hello_plays_c4_and_c5(freq_v, hz, tmp_path, modular_cmd, cli_env):
    out = tmp_path / "x.wav"
    cmd = modular_cmd + ["render", str(ROOT / "patches/hello.json"), "-o", str(out), "--seconds", "2", "-q"]
    if freq_v:
        cmd += ["--set", f"vco.freq={freq_v}"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=cli_env, timeout=300)
    assert r.returncode == 0, r.stderr
    data, sr = sf.read(out)
    assert sr == 48000
    assert data.shape == (96000, 2)
    assert abs(peak_hz(data[:, 0], sr) - hz) <= 0.5


def test_sixteen_channel_pitch_cable_gives_sixteen_frequencies():
    # Channel c carries c/4 V: sixteen pitches a minor third apart, from C4 up.
    doc = make_patch(
        [("pitch", "test.PolyConst", {"channels": 16, "start": -2.0, "step": 0.25}), ("vco", "core.VCO"),
         ("sink", "core.VCA")],
        [("pitch.out", "vco.pitch"), ("vco.sin", "sink.in")],
    )
    e = Engine(from_dict(doc))
    blocks = 48000 // 64
    out = np.zeros((16, blocks * 64))
    for b in range(blocks):
        e.process(1)
        out[:, b * 64:(b + 1) * 64] = e.output("vco", "sin")
    assert e.output("vco", "sin").shape[0] == 16
    measured = [peak_hz(out[c], 48000) for c in range(16)]
    expected = [C4 * 2 ** (-2.0 + 0.25 * c) for c in range(16)]
    for c in range(16):
        cents = 1200 * np.log2(measured[c] / expected[c])
        assert abs(cents) < 1.0, f"channel {c}: {measured[c]:.2f} Hz, expected {expected[c]:.2f} Hz"
    assert len({round(f, 1) for f in measured}) == 16


def test_saw_is_band_limited():
    # A naive saw at 3.52 kHz folds aliases back into the audible band at about -21 dB
    # below the fundamental; polyBLEP keeps those under 12 kHz below -40 dB.
    doc = make_patch([("vco", "core.VCO", {"freq": np.log2(3520 / C4)}), ("sink", "core.VCA")],
                     [("vco.saw", "sink.in")])
    e = Engine(from_dict(doc))
    x = np.concatenate([e.output("vco", "saw")[0].copy() for _ in range(750) if e.process(1) is None])
    sp = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / 48000)
    harmonics = np.zeros_like(sp, bool)
    for k in range(1, 7):
        harmonics |= np.abs(freqs - 3520 * k) < 20
    fundamental = sp[np.abs(freqs - 3520) < 20].max()
    worst_alias = sp[~harmonics & (freqs > 50) & (freqs < 12000)].max()
    assert 20 * np.log10(worst_alias / fundamental) < -40
