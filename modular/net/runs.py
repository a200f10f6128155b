"""The RUNS sample encoding: float32 bit for bit, with held values sent once.

CV mostly holds still: a gate is high or low for hundreds of samples, a pitch holds for a
note, a clock sits at 0 V between ticks. Sent as raw float32, sixteen such channels are
4 KB a block (four datagrams); as runs, a few dozen bytes. Each channel of the payload is
one of

    0x00 | frames x float32                          raw, when runs would not be smaller
    0x01 | count u16 | count x (length u16 | value float32)   runs, lengths summing to frames

all little-endian like every sample payload. A value is repeated exactly (the same 32
bits), so decoding gives back the very samples encoded.
"""

from __future__ import annotations

import numpy as np
from numba import njit

RAW, RUNS = 0, 1


@njit(cache=True, nogil=True)
def _encode(bits, out):
    """bits: (channels, frames) uint32; out: uint8 big enough for the worst case (raw).
    Returns the bytes written."""
    channels, n = bits.shape
    pos = 0
    for c in range(channels):
        runs = 1
        for i in range(1, n):
            if bits[c, i] != bits[c, i - 1]:
                runs += 1
        if 3 + 6 * runs < 1 + 4 * n:
            out[pos] = RUNS
            out[pos + 1] = runs & 0xFF
            out[pos + 2] = runs >> 8
            pos += 3
            start = 0
            for i in range(1, n + 1):
                if i == n or bits[c, i] != bits[c, start]:
                    length = i - start
                    v = bits[c, start]
                    out[pos] = length & 0xFF
                    out[pos + 1] = length >> 8
                    out[pos + 2] = v & 0xFF
                    out[pos + 3] = (v >> 8) & 0xFF
                    out[pos + 4] = (v >> 16) & 0xFF
                    out[pos + 5] = v >> 24
                    pos += 6
                    start = i
        else:
            out[pos] = RAW
            pos += 1
            for i in range(n):
                v = bits[c, i]
                out[pos] = v & 0xFF
                out[pos + 1] = (v >> 8) & 0xFF
                out[pos + 2] = (v >> 16) & 0xFF
                out[pos + 3] = v >> 24
                pos += 4
    return pos


@njit(cache=True, nogil=True)
def _decode(payload, channels, n, out_bits, write):
    """Check (and, if ``write``, decode into out_bits (channels, n) uint32) a payload;
    returns True only if it is exactly ``channels`` well-formed channels of ``n`` samples."""
    return _walk(payload, channels, n, out_bits, write) == payload.shape[0]


@njit(cache=True, nogil=True)
def _walk(payload, channels, n, out_bits, write):
    """The bytes that ``channels`` well-formed channels of ``n`` samples take at the start
    of ``payload`` (-1 if they are not well formed), decoding them if ``write``."""
    pos = 0
    size = payload.shape[0]
    for c in range(channels):
        if pos >= size:
            return -1
        mode = payload[pos]
        pos += 1
        if mode == RAW:
            if pos + 4 * n > size:
                return -1
            if write:
                for i in range(n):
                    j = pos + 4 * i
                    out_bits[c, i] = (np.uint32(payload[j]) | (np.uint32(payload[j + 1]) << 8)
                                      | (np.uint32(payload[j + 2]) << 16) | (np.uint32(payload[j + 3]) << 24))
            pos += 4 * n
        elif mode == RUNS:
            if pos + 2 > size:
                return -1
            runs = int(payload[pos]) | (int(payload[pos + 1]) << 8)
            pos += 2
            if runs < 1 or runs > n or pos + 6 * runs > size:
                return -1
            k = 0
            for r in range(runs):
                length = int(payload[pos]) | (int(payload[pos + 1]) << 8)
                v = (np.uint32(payload[pos + 2]) | (np.uint32(payload[pos + 3]) << 8)
                     | (np.uint32(payload[pos + 4]) << 16) | (np.uint32(payload[pos + 5]) << 24))
                pos += 6
                if length < 1 or k + length > n:
                    return -1
                if write:
                    for i in range(k, k + length):
                        out_bits[c, i] = v
                k += length
            if k != n:
                return -1
        else:
            return -1
    return pos


_NO_BITS = np.zeros((1, 1), np.uint32)


def encode(block: np.ndarray) -> bytes:
    """Payload for a (channels, frames) block of volts (float32, bit for bit)."""
    x = np.ascontiguousarray(block, np.float32)
    out = np.empty(x.shape[0] * (1 + 4 * x.shape[1]), np.uint8)
    return out[: _encode(x.view(np.uint32), out)].tobytes()


def length(payload, channels: int, frames: int) -> int:
    """Bytes of the RUNS payload at the start of ``payload`` (which may go on: zero padding),
    -1 if it is not one."""
    return int(_walk(np.frombuffer(payload, np.uint8), channels, frames, _NO_BITS, False))


def valid(payload, channels: int, frames: int) -> bool:
    return bool(_decode(np.frombuffer(payload, np.uint8), channels, frames, _NO_BITS, False))


def decode(payload, channels: int, frames: int, out: np.ndarray) -> None:
    """Fill ``out`` ((channels, frames) float32; a slice of a bigger array will do) from a
    valid payload."""
    if not _decode(np.frombuffer(payload, np.uint8), channels, frames, out.view(np.uint32), True):
        raise ValueError("not a RUNS payload of this shape")


def warm_up() -> None:
    """Load the compiled loops now, not in the middle of a stream."""
    b = np.zeros((2, 8), np.float32)
    b[1] = np.arange(8)
    p = encode(b)
    out = np.empty_like(b)
    valid(p, 2, 8)
    length(p, 2, 8)
    decode(p, 2, 8, out)
    decode(p, 2, 8, np.empty((4, 16), np.float32)[:2, :8])  # into a slice, as the jitter buffer does
