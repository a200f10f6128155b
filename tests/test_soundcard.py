"""Real time on a sound card through sounddevice, using JACK's dummy driver as the card."""

import shutil
import subprocess
import time

import pytest
import soundfile as sf

from tests.helpers import ROOT, peak_hz
from tests.radio.linkrun import card_line

pytestmark = pytest.mark.skipif(shutil.which("jackd") is None, reason="jackd2 is not installed")


def test_run_plays_on_the_card_in_real_time(jack_dummy, tmp_path, modular_cmd, cli_env):
    env = dict(cli_env, JACK_DEFAULT_SERVER=jack_dummy, JACK_NO_START_SERVER="1")
    rec = tmp_path / "card.wav"
    t0 = time.monotonic()
    r = subprocess.run(modular_cmd + ["run", str(ROOT / "patches/hello.json"), "--duration", "3", "--stats",
                                      "--record", str(rec)], capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert "backend: soundcard" in r.stdout, r.stdout + r.stderr
    # The callback is compiled code that never waits for the GIL; the engine thread keeps
    # its ring ahead. Not one callback may find the ring short.
    card = card_line(r.stdout)
    assert card["callbacks"] >= 2250 and card["starved"] == 0, r.stdout
    data, sr = sf.read(rec)
    assert len(data) == 3 * 48000
    assert abs(peak_hz(data[:, 0], sr) - 261.63) < 1.0
    assert elapsed >= 2.9, "paced by the card's clock, not faster"


def test_audio_in_opens_a_duplex_stream(jack_dummy, tmp_path, modular_cmd, cli_env):
    # JACK's dummy capture ports are silent: the mix is the VCO alone, and nothing breaks.
    import json

    patch = {"format": "modular-patch", "version": 1, "modules": [
        {"id": "in", "model": "core.AudioIn"}, {"id": "vco", "model": "core.VCO"},
        {"id": "mix", "model": "core.Mixer"}, {"id": "out", "model": "core.AudioOut"}],
        "cables": [{"from": "in.left", "to": "mix.in1"}, {"from": "vco.sin", "to": "mix.in2"},
                   {"from": "mix.out", "to": "out.left"}]}
    path = tmp_path / "duplex.json"
    path.write_text(json.dumps(patch))
    rec = tmp_path / "rec.wav"
    env = dict(cli_env, JACK_DEFAULT_SERVER=jack_dummy, JACK_NO_START_SERVER="1")
    r = subprocess.run(modular_cmd + ["run", str(path), "--duration", "1", "--stats", "--record", str(rec)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "backend: soundcard" in r.stdout
    data, sr = sf.read(rec)
    assert abs(peak_hz(data[:, 0], sr) - 261.63) < 2.0
