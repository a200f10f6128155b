"""The modular command: render, run, modules, --version."""

import json
import subprocess

import numpy as np
import soundfile as sf

from tests.helpers import ROOT, make_patch, peak_hz
from modular import cli

HELLO = str(ROOT / "patches/hello.json")


def test_run_on_software_clock_records_and_prints_the_cpu_meter(tmp_path, capsys):
    rec = tmp_path / "rec.wav"
    t_status = cli.main(["run", HELLO, "--no-audio", "--duration", "0.5", "--record", str(rec), "--stats"])
    out = capsys.readouterr().out
    assert t_status == 0
    data, sr = sf.read(rec)
    assert sr == 48000 and data.shape == (24000, 2)
    assert abs(peak_hz(data[:, 0], sr) - 261.63) < 2.0
    assert np.abs(data).max() > 0.2
    assert "backend: software clock" in out
    for mid in ("vco", "vca", "out"):
        line = next(ln for ln in out.splitlines() if ln.startswith(mid + " "))
        assert float(line.split()[3]) > 0.0, "every module has a measured time per block"


def test_run_paces_in_real_time(tmp_path, capsys):
    import time
    t0 = time.monotonic()
    assert cli.main(["run", HELLO, "--no-audio", "--duration", "1.0"]) == 0
    elapsed = time.monotonic() - t0
    assert 0.95 < elapsed < 2.5, f"1 s of audio took {elapsed:.2f} s of wall time"


def test_render_sample_rate_and_block_from_command_line(tmp_path, capsys):
    out = tmp_path / "x.wav"
    assert cli.main(["render", HELLO, "-o", str(out), "--seconds", "1", "--sample-rate", "44100",
                     "--block-size", "128", "-q"]) == 0
    data, sr = sf.read(out)
    assert sr == 44100 and len(data) == 44100
    assert abs(peak_hz(data[:, 0], sr) - 261.63) < 1.0


def test_render_stats_prints_meter(tmp_path, capsys):
    assert cli.main(["render", HELLO, "-o", str(tmp_path / "x.wav"), "--seconds", "0.5", "--stats", "-q"]) == 0
    assert "core.VCO" in capsys.readouterr().out


def test_modules_json_lists_ports_and_params(capsys):
    assert cli.main(["modules", "--json"]) == 0
    models = {m["model"]: m for m in json.loads(capsys.readouterr().out)}
    vco = models["core.VCO"]
    assert [o["name"] for o in vco["outputs"]] == ["sin", "tri", "saw", "sqr"]
    assert [i["name"] for i in vco["inputs"]] == ["pitch", "fm", "pw", "sync"]
    freq = next(p for p in vco["params"] if p["name"] == "freq")
    assert freq["unit"] == "V" and freq["default"] == 0.0
    for name in ("core.VCA", "core.Mixer", "core.AudioOut", "core.WavOut"):
        assert name in models


def test_version_and_help(modular_cmd, cli_env):
    r = subprocess.run(modular_cmd + ["--version"], capture_output=True, text=True, env=cli_env, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("modular ")
    r = subprocess.run(modular_cmd + ["render"], capture_output=True, text=True, env=cli_env, timeout=60)
    assert r.returncode == 2 and "required" in r.stderr


def test_wavout_records_volts_bit_for_bit(tmp_path, write_patch):
    # A 4-channel poly saw recorded by WavOut equals the engine's own output buffer.
    from modular.engine import Engine
    from modular.patch import from_dict

    rec = tmp_path / "rec.wav"
    doc = make_patch(
        [("p", "test.PolyConst", {"channels": 4, "start": -1, "step": 0.7}), ("vco", "core.VCO"),
         ("rec", "core.WavOut", None, {"path": str(rec)})],
        [("p.out", "vco.pitch"), ("vco.saw", "rec.in")],
    )
    e = Engine(from_dict(doc))
    blocks = []
    with e:
        for _ in range(200):
            e.process(1)
            blocks.append(e.output("vco", "saw").copy())
            if len(blocks) % 37 == 0:
                e.service()
    want = np.concatenate(blocks, axis=1).T
    got, sr = sf.read(rec, dtype="float32")
    assert sf.info(rec).subtype == "FLOAT"
    assert got.shape == (200 * 64, 4)
    assert np.array_equal(got, want)
    assert np.abs(got).max() > 4.0, "volts, unscaled"
