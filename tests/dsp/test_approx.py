import math

import numba
import numpy as np

from modular.dsp.approx import exp2, sin2pi, soft_clip, tan_fast
from modular.dsp.block import JIT


@numba.njit(**JIT)
def _apply(kind, x):
    out = np.empty_like(x)
    for i in range(len(x)):
        if kind == 0:
            out[i] = exp2(x[i])
        elif kind == 1:
            out[i] = sin2pi(x[i])
        elif kind == 2:
            out[i] = tan_fast(x[i])
        else:
            out[i] = soft_clip(x[i])
    return out


def test_exp2_relative_error():
    x = np.linspace(-20, 20, 200001)
    assert np.max(np.abs(_apply(0, x) / 2.0 ** x - 1)) < 1e-7


def test_sin2pi_error():
    p = np.linspace(0, 1, 100001, endpoint=False)
    assert np.max(np.abs(_apply(1, p) - np.sin(2 * np.pi * p))) < 5e-9


def test_tan_implies_cutoff_within_1e5():
    x = np.linspace(1e-5, 0.49 * math.pi, 100001)
    assert np.max(np.abs(np.arctan(_apply(2, x)) / x - 1)) < 1e-5


def test_soft_clip_shape():
    x = np.linspace(-5, 5, 10001)
    y = _apply(3, x)
    assert np.all(np.diff(y) >= 0) and y.max() == 1.0 and y.min() == -1.0
    assert np.max(np.abs(y - np.tanh(x))) < 0.03
