"""Arithmetic in GF(2^8) for the erasure code of fec.py: a systematic Reed-Solomon code
over whole messages, with a Cauchy matrix, so any k of the k + m pieces of a group give
back the k data messages.

Field: polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator 2. Addition is XOR.
Parity row j (0 <= j < m) over data i (0 <= i < k): C[j, i] = 1 / (x_j + y_i) with
x_j = k + j and y_i = i (all distinct, so every square submatrix of C is invertible).
The byte loops are compiled; the small matrix algebra (at most 16 x 16) is Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

POLY = 0x11D


def _tables():
    exp = np.zeros(512, np.int32)
    log = np.zeros(256, np.int32)
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= POLY
    exp[255:510] = exp[:255]
    mul = np.zeros((256, 256), np.uint8)
    a = np.arange(1, 256)
    for c in range(1, 256):
        mul[c, 1:] = exp[log[c] + log[a]]
    return exp, log, mul


EXP, LOG, MUL = _tables()


def mul(a: int, b: int) -> int:
    return int(MUL[a, b])


def inv(a: int) -> int:
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(256)")
    return int(EXP[255 - LOG[a]])


def cauchy(k: int, m: int) -> np.ndarray:
    """The m x k parity matrix."""
    if k + m > 256:
        raise ValueError("k + m must be at most 256")
    return np.array([[inv((k + j) ^ i) for i in range(k)] for j in range(m)], np.uint8)


def invert(a: np.ndarray) -> np.ndarray:
    """The inverse of a square matrix over GF(256), by Gauss-Jordan elimination."""
    n = a.shape[0]
    m = [[int(v) for v in row] + [1 if i == j else 0 for j in range(n)] for i, row in enumerate(a)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if m[r][col]), None)
        if pivot is None:
            raise ValueError("singular matrix")
        m[col], m[pivot] = m[pivot], m[col]
        f = inv(m[col][col])
        m[col] = [mul(f, v) for v in m[col]]
        for r in range(n):
            if r != col and m[r][col]:
                g = m[r][col]
                m[r] = [v ^ mul(g, w) for v, w in zip(m[r], m[col])]
    return np.array([row[n:] for row in m], np.uint8)


@njit(cache=True, nogil=True)
def addmul(dst, src, c, table):
    """dst ^= c * src, byte for byte (src may be shorter: it is zero-padded)."""
    if c == 0:
        return
    row = table[c]
    n = min(dst.shape[0], src.shape[0])
    if c == 1:
        for i in range(n):
            dst[i] ^= src[i]
    else:
        for i in range(n):
            dst[i] ^= row[src[i]]


@njit(cache=True, nogil=True)
def encode_rows(data, lengths, coef, table, out):
    """out[j] = sum over i of coef[j, i] * data[i, :lengths[i]] (zero-padded), for every
    row j of out: all the parity pieces of a group in one call."""
    m, width = out.shape
    k = data.shape[0]
    for j in range(m):
        for t in range(width):
            out[j, t] = 0
        for i in range(k):
            c = coef[j, i]
            if c == 0:
                continue
            row = table[c]
            n = lengths[i]
            for t in range(n):
                out[j, t] ^= row[data[i, t]]
