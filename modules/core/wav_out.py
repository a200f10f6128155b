"""core.WavOut: records its polyphonic input in volts, unscaled, to a float32 WAV file.

Nothing is scaled or dithered, so any signal in a patch can be checked bit for bit.
The kernel only copies each block into a ring; the file is written off the audio
thread (between render chunks, or by the run loop's housekeeping thread).
"""

from pathlib import Path

import soundfile as sf

from modular.io import ring
from modular.module import Input, Module, kernel


@kernel
def wav_out_kernel(inp, p0, p1, state, mem, nch, ctx):
    n = inp.shape[1]
    frames = mem.shape[0] // 16
    pos = int(ctx[2]) % frames
    for c in range(nch):
        r = c if inp.shape[0] > 1 else 0
        base = c * frames + pos
        for i in range(n):
            mem[base + i] = inp[r, i]


class WavOut(Module):
    model = "WavOut"
    title = "WAV Out"
    description = "Records its input in volts to a float32 WAV file (data: path)"
    hp = 4
    inputs = (Input("in", "In"),)
    outputs = ()
    kernel = wav_out_kernel
    data_keys = ("path",)

    @classmethod
    def validate_data(cls, data):
        super().validate_data(data)
        if "path" not in data:
            raise ValueError("missing key 'path' (the WAV file to write)")
        if not isinstance(data["path"], str) or not data["path"]:
            raise ValueError(f"'path' must be a file name, got {data['path']!r}")

    def memory_size(self, sample_rate, block):
        self.ring_frames = ring.ring_frames(sample_rate, block)
        self.sample_rate = int(sample_rate)
        return 16 * self.ring_frames

    def start(self, engine):
        path = Path(self.data["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = sf.SoundFile(path, "w", self.sample_rate, self.channels, "FLOAT")
        self._written = engine.frame
        self.lost_frames = 0

    def service(self, frame: int) -> None:
        """Write every frame recorded up to ``frame`` (exclusive)."""
        f = getattr(self, "_file", None)
        if f is None:
            return
        behind = frame - self._written
        if behind > self.ring_frames:  # the writer fell a whole ring behind: say so
            self.lost_frames += behind - self.ring_frames
            self._written = frame - self.ring_frames
        while self._written < frame:
            count = min(frame - self._written, self.ring_frames)
            f.write(ring.read(self.mem, 16, self.ring_frames, self._written, count)[:, : self.channels])
            self._written += count

    def stop(self):
        f = getattr(self, "_file", None)
        if f is not None:
            f.close()
            self._file = None

    def status(self):
        return {"path": self.data["path"], "channels": self.channels, "lost_frames": getattr(self, "lost_frames", 0)}
