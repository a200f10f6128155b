"""Offline render: run a patch as fast as possible and write its AudioOut to a WAV file."""

from __future__ import annotations

import math
import sys

import soundfile as sf
from tqdm import tqdm

from .mix import read_mix

CHUNK_SECONDS = 0.25  # blocks per compiled call; well inside the 4 s host rings


def render(engine, seconds: float, path: str, progress: bool = True, subtype: str = "FLOAT") -> int:
    """Render ``seconds`` of audio to ``path``; returns the frames written."""
    sr, bs = engine.sample_rate, engine.block
    total = int(round(seconds * sr))
    chunk_blocks = max(1, int(CHUNK_SECONDS * sr) // bs)
    written = 0
    engine.start()
    try:
        with sf.SoundFile(path, "w", sr, 2, subtype) as f, tqdm(
            total=total, unit="frame", unit_scale=True, disable=not progress, file=sys.stderr,
            desc="render", leave=False,
        ) as bar:
            while written < total:
                nblocks = min(chunk_blocks, math.ceil((total - written) / bs))
                start = engine.frame
                engine.process(nblocks)
                count = min(nblocks * bs, total - written)
                f.write(read_mix(engine, start, count))
                engine.service()
                written += count
                bar.update(count)
    finally:
        engine.stop()
    return written
