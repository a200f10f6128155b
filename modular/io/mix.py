"""The patch's main stereo output: the sum of its ``audio_sink`` modules (core.AudioOut)."""

import numpy as np

from . import ring


def sinks(engine) -> list:
    return [m for m in engine.graph.modules if getattr(m, "audio_sink", False)]


def read_mix(engine, start: int, count: int) -> np.ndarray:
    """Stereo float32 (count, 2) for frames ``start .. start+count``; silence without sinks."""
    out = np.zeros((count, 2), np.float32)
    for m in sinks(engine):
        out += m.read_audio(start, count)
    return out


def mix_into(sink_list, start: int, out: np.ndarray) -> None:
    """Fill the preallocated (count, 2) ``out`` without allocating: for audio callbacks."""
    out[:] = 0.0
    for m in sink_list:
        ring.read_into(m.mem, 2, m.ring_frames, start, out)
