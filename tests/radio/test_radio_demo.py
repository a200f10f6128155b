"""`modular demo`: server, broadcaster and two listeners on loopback; writes the mix and
prints the report."""

import subprocess

import numpy as np
import soundfile as sf


def test_demo_writes_the_mix_and_reports(tmp_path, modular_cmd, cli_env):
    out = tmp_path / "demo.wav"
    p = subprocess.run(modular_cmd + ["demo", "--seconds", "4", "-o", str(out), "--no-play"], cwd=tmp_path,
                       env=cli_env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    text = p.stdout
    assert "listeners 2 (now " in text, text  # both were heard at once
    assert "return latency L = " in text and "slot 0" in text and "slot 1" in text, text
    assert "listener1: rtt" in text and "listener2: rtt" in text, text
    data, sr = sf.read(out, dtype="float32", always_2d=True)
    assert sr == 48000 and len(data) > 5 * sr and data.shape[1] == 2
    assert 0.05 < np.max(np.abs(data)) < 1.0, "the mix is audible and does not clip"
