"""Helpers shared by the tests: patch documents in short form, FFT pitch measurement."""

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


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


def peak_hz(x, sr):
    """Frequency of the strongest FFT bin, refined by parabolic interpolation."""
    x = np.asarray(x, np.float64)
    w = np.hanning(len(x))
    sp = np.abs(np.fft.rfft((x - x.mean()) * w))
    k = int(np.argmax(sp[1:-1])) + 1
    a, b, c = np.log(sp[k - 1] + 1e-30), np.log(sp[k] + 1e-30), np.log(sp[k + 1] + 1e-30)
    delta = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + delta) * sr / len(x)
