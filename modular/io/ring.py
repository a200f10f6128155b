"""Host rings: a module's memory used as a planar ring of recent samples.

A kernel writes each block at ``frame % frames``; the host reads any span that is at
most ``frames`` old from another thread, without locks, because the engine publishes
its frame counter only after the block is written. Ring lengths are whole blocks, so
a block never wraps.
"""

import math

import numpy as np
from numba import njit

RING_SECONDS = 4.0


def ring_frames(sample_rate: float, block: int, seconds: float = RING_SECONDS) -> int:
    return int(math.ceil(sample_rate * seconds / block)) * block


def read(mem: np.ndarray, channels: int, frames: int, start: int, count: int) -> np.ndarray:
    """Frames ``start .. start+count`` of a ``channels``-plane ring, shape (count, channels)."""
    if count > frames:
        raise ValueError(f"asked for {count} frames from a ring of {frames}")
    planes = mem[: channels * frames].reshape(channels, frames)
    a = start % frames
    b = a + count
    if b <= frames:
        return planes[:, a:b].T.copy()
    return np.concatenate([planes[:, a:], planes[:, : b - frames]], axis=1).T.copy()


@njit(cache=True, nogil=True)
def read_into(mem, channels, frames, start, out):
    """Add frames ``start ..`` of a ring into ``out`` (count, channels), allocating nothing:
    this is what the sound-card callback uses."""
    a = start % frames
    for i in range(out.shape[0]):
        j = a + i
        if j >= frames:
            j -= frames
        for c in range(channels):
            out[i, c] += mem[c * frames + j]
