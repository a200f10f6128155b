"""core.WavIn: plays WavOut's recordings bit for bit, loops, restarts, resamples, fails clearly."""

import numpy as np
import pytest
import soundfile as sf

from modular.patch import PatchError
from tests.core.rack import WAV_RACK, build
from tests.helpers import peak_hz

SR = 48000


def wav_rack(tmp_path, win, cables=(), params=None, wout="unused.wav"):
    return build(rack=WAV_RACK, cables=cables, params=params,
                 data={"win": win, "wout": {"path": str(tmp_path / wout)}})


def take(e, blocks, port="win.out"):
    m, o = port.split(".")
    out = []
    for _ in range(blocks):
        e.process(1)
        out.append(e.output(m, o).copy())
    return np.concatenate(out, axis=1)


@pytest.fixture
def short_file(tmp_path):
    # 100 frames, 2 channels: a ramp and its negative, at the engine's rate.
    x = np.stack([np.arange(100), -np.arange(100)], axis=1).astype(np.float32) / 100
    path = tmp_path / "short.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    return path, x


def test_plays_a_wavout_recording_bit_for_bit_in_volts(tmp_path, short_file):
    # Record 3 channels of ±5 V noise with WavOut, then play the file back.
    e = wav_rack(tmp_path, {"path": str(short_file[0])}, cables=[("noise.white", "wout.in")],
                 params={"noise": {"channels": 3}}, wout="rec.wav")
    e.start()
    noise = take(e, 100, "noise.white")
    e.stop()
    e = wav_rack(tmp_path, {"path": str(tmp_path / "rec.wav"), "units": "volts"})
    out = take(e, 100)
    assert out.shape == (3, 6400) and np.array_equal(out, noise)
    assert np.abs(noise).max() > 4.9  # volts, unscaled


def test_audio_units_loop_and_restart(tmp_path, short_file):
    path, x = short_file
    want = x.T * np.float32(10.0)  # full scale is ±10 V
    e = wav_rack(tmp_path, {"path": str(path)}, cables=[("pc.out", "win.trig")])
    out = take(e, 10)
    assert out.shape == (2, 640)
    for k in range(6):  # loops every 100 frames
        assert np.array_equal(out[:, 100 * k:100 * k + 100], want)
    # Loop off: plays once, then silence until a trigger restarts it.
    e = wav_rack(tmp_path, {"path": str(path)}, cables=[("pc.out", "win.trig")], params={"win": {"loop": 0}})
    out = take(e, 4)
    assert np.array_equal(out[:, :100], want) and not out[:, 100:].any()
    e.set_param("pc", "start", 10.0)
    out = take(e, 2)
    assert np.array_equal(out[:, :100], want) and not out[:, 100:].any()
    # While the trigger stays high nothing restarts; a new rising edge does, mid-block too.
    e.set_param("pc", "start", 0.0)
    assert not take(e, 1).any()


def test_resamples_to_the_engine_rate(tmp_path):
    # A 1 kHz sine at 44.1 kHz, 1 s long, plays 1 s long at 48 kHz, still at 1 kHz.
    t = np.arange(44100) / 44100
    path = tmp_path / "sine441.wav"
    sf.write(path, (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 44100, subtype="FLOAT")
    e = wav_rack(tmp_path, {"path": str(path)}, params={"win": {"loop": 0}})
    assert e.module("win").frames == SR
    out = take(e, SR // 64 + 10)[0].astype(np.float64)
    assert abs(peak_hz(out[:SR], SR) - 1000.0) < 0.05
    assert abs(np.abs(out[1000:SR - 1000]).max() - 5.0) < 0.01 and not out[SR:].any()


def test_missing_or_unreadable_file_is_a_patch_error_naming_the_module(tmp_path):
    with pytest.raises(PatchError, match=r"module 'win' \(core.WavIn\).*no such file"):
        wav_rack(tmp_path, {"path": str(tmp_path / "nope.wav")})
    bad = tmp_path / "bad.wav"
    bad.write_text("not a wav file")
    with pytest.raises(PatchError, match=r"module 'win' \(core.WavIn\).*bad.wav"):
        wav_rack(tmp_path, {"path": str(bad)})
    with pytest.raises(PatchError, match=r"module 'win' \(core.WavIn\): data: 'units'"):
        wav_rack(tmp_path, {"path": str(bad), "units": "dB"})
    with pytest.raises(PatchError, match=r"module 'win' \(core.WavIn\): data: missing key 'path'"):
        wav_rack(tmp_path, {})
