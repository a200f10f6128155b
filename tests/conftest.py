import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))

from modular import plugins  # noqa: E402

import fixture_modules  # noqa: E402

plugins.register(fixture_modules.plugin)


def make_patch(modules, cables=(), sample_rate=48000, block_size=64):
    """A patch document from short forms: modules as (id, model[, params[, data]])."""
    mods = []
    for m in modules:
        d = {"id": m[0], "model": m[1]}
        if len(m) > 2 and m[2]:
            d["params"] = m[2]
        if len(m) > 3 and m[3]:
            d["data"] = m[3]
        mods.append(d)
    return {
        "format": "modular-patch", "version": 1, "sample_rate": sample_rate, "block_size": block_size,
        "modules": mods, "cables": [{"from": a, "to": b} for a, b in cables],
    }


@pytest.fixture
def write_patch(tmp_path):
    def write(doc, name="patch.json"):
        p = tmp_path / name
        p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        return p
    return write


def peak_hz(x, sr):
    """Frequency of the strongest FFT bin, refined by parabolic interpolation."""
    x = np.asarray(x, np.float64)
    w = np.hanning(len(x))
    sp = np.abs(np.fft.rfft((x - x.mean()) * w))
    k = int(np.argmax(sp[1:-1])) + 1
    a, b, c = np.log(sp[k - 1] + 1e-30), np.log(sp[k] + 1e-30), np.log(sp[k + 1] + 1e-30)
    delta = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + delta) * sr / len(x)


@pytest.fixture(scope="session")
def modular_cmd():
    exe = Path(sys.executable).parent / "modular"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "modular.cli"]


@pytest.fixture(scope="session")
def cli_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env
