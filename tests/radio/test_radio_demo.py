"""`modular demo`: server, broadcaster and two listeners on loopback; writes the mix and
prints the report."""

import json
import subprocess

import numpy as np
import soundfile as sf

from modular.engine import Engine
from modular.patch import from_dict
from tests.helpers import ROOT


def test_demo_writes_the_mix_and_reports(tmp_path, modular_cmd, cli_env):
    out = tmp_path / "demo.wav"
    p = subprocess.run(modular_cmd + ["demo", "--seconds", "4", "-o", str(out), "--no-play"], cwd=tmp_path,
                       env=cli_env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    text = p.stdout
    assert "listeners 2 (now " in text, text  # both were heard at once
    assert "in frames of 256 samples" in text, text  # the broadcast's default frame
    assert "return latency L = " in text and "slot 0" in text and "slot 1" in text, text
    assert "listener1: rtt" in text and "listener2: rtt" in text, text
    data, sr = sf.read(out, dtype="float32", always_2d=True)
    assert sr == 48000 and len(data) > 5 * sr and data.shape[1] == 2
    assert 0.05 < np.max(np.abs(data)) < 1.0, "the mix is audible and does not clip"


def _patch(name):
    return json.loads((ROOT / "patches" / f"{name}.json").read_text())


def _peak_volts(doc, port, seconds=8.0):
    """The largest |V| an output reaches over the first seconds of a patch."""
    engine = Engine(from_dict(doc))
    m, o = port.split(".")
    peak = 0.0
    for _ in range(int(seconds * doc["sample_rate"] / doc["block_size"])):
        engine.process(1)
        peak = max(peak, float(np.max(np.abs(engine.output(m, o)))))
    return peak


def test_the_demo_patches_leave_headroom_for_two_listeners_in_phase():
    """The worst case of the demo's mix: both listeners' voices peak together on a drum
    hit. It stays under full scale (AudioOut: 10 V), so however the listeners' oscillators
    happen to line up, the recording never clips."""
    b, li = _patch("radio-broadcaster"), _patch("radio-listener")
    feed = {"clock", "gates", "seq", "merge"}
    # the listener's voice played on the broadcaster's sequence, as the network brings it
    voice = dict(b, modules=[m for m in b["modules"] if m["id"] in feed]
                 + [m for m in li["modules"] if m["id"] != "radio"],
                 cables=[c for c in b["cables"] if {c["from"].split(".")[0], c["to"].split(".")[0]} <= feed]
                 + [dict(c, **{"from": "merge.out"}) if c["from"] == "radio.out" else c
                    for c in li["cables"] if c["to"] != "radio.return"])
    returned = next(c["from"] for c in li["cables"] if c["to"] == "radio.return")
    v_voice = _peak_volts(voice, returned)
    drums = dict(b, modules=[m for m in b["modules"] if m["id"] not in ("broadcast", "returns", "sync", "mixer", "out")],
                 cables=[c for c in b["cables"] if not c["to"].startswith(("broadcast.", "sync.", "mixer.", "out."))])
    v_drums = _peak_volts(drums, "drums.out")
    assert v_voice > 2.0 and v_drums > 2.0, (v_voice, v_drums)  # both are sounding
    p = {m["id"]: m.get("params", {}) for m in b["modules"]}
    worst = (2 * v_voice * p["mixer"]["level1"] + v_drums * p["mixer"]["level2"]) * p["mixer"]["master"] * p["out"]["level"]
    assert worst < 9.0, f"two voices of {v_voice:.1f} V and drums of {v_drums:.1f} V reach {worst:.1f} V at the output"
