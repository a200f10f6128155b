"""core.AudioIn: the sound card's input, as VCV's Audio module gives it: digital full
scale is ±10 V (the inverse of core.AudioOut). Offline, and whenever the host supplies
nothing, both outputs are silent.

Host interface: the real-time runner calls ``write_input(start_frame, frames)`` with
the captured samples for engine frames ``start_frame ..`` (normally ``engine.frame``,
just before ``engine.process`` in the audio callback). They go into a ring in ``mem``;
the kernel reads each block at the engine's frame and clears what it read, so a frame
is played once and a stalled input falls silent instead of repeating.
"""

import numpy as np
from numba import njit

from modular.io import ring
from modular.module import Module, Output, kernel

FULL_SCALE_V = 10.0


@kernel
def audio_in_kernel(left, right, p0, p1, state, mem, nch, ctx):
    n = left.shape[1]
    frames = mem.shape[0] // 2
    pos = int(ctx[2]) % frames
    do_l = left.shape[0] > 0
    do_r = right.shape[0] > 0
    for i in range(n):
        j = pos + i
        if do_l:
            left[0, i] = mem[j]
        if do_r:
            right[0, i] = mem[frames + j]
        mem[j] = 0.0
        mem[frames + j] = 0.0


@njit(cache=True, nogil=True)
def ring_write(mem, frames, start, data):
    """Write (count, channels) samples into the stereo ring at ``start``, as volts;
    mono feeds both sides, non-finite samples become 0 V. Allocates nothing."""
    count = data.shape[0]
    nc = data.shape[1]
    a = start % frames
    for i in range(count):
        j = a + i
        while j >= frames:
            j -= frames
        left = data[i, 0]
        right = data[i, 1] if nc > 1 else left
        if left - left != 0.0:
            left = 0.0
        if right - right != 0.0:
            right = 0.0
        mem[j] = left * FULL_SCALE_V
        mem[frames + j] = right * FULL_SCALE_V


class AudioIn(Module):
    model = "AudioIn"
    title = "Audio In"
    description = "Stereo input from the sound card; full scale = ±10 V; silent offline"
    hp = 6
    outputs = (Output("left", "L"), Output("right", "R"))
    kernel = audio_in_kernel
    finite_outputs = True
    skips_unconnected = True

    def memory_size(self, sample_rate, block):
        self.ring_frames = ring.ring_frames(sample_rate, block)
        return 2 * self.ring_frames

    def write_input(self, start_frame: int, frames) -> None:
        """Hand the module captured audio for engine frames ``start_frame ..``.

        ``frames``: float32 (count,) or (count, channels) at digital full scale ±1
        (what sounddevice's InputStream/Stream callback gives as ``indata``); the first
        two channels are used, a mono input feeds both outputs. ``count`` must be at
        most ``ring_frames`` (4 s). Safe to call from the audio callback: no allocation
        for float32 2-D input. Frames must not lie behind ``engine.frame`` (those have
        been played; they would be heard a whole ring later).
        """
        data = frames
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        if data.dtype != np.float32:
            data = data.astype(np.float32)
        if data.shape[0] > self.ring_frames:
            raise ValueError(f"{data.shape[0]} frames is more than the input ring holds ({self.ring_frames})")
        if data.shape[0] == 0 or data.shape[1] == 0:
            return
        ring_write(self.mem, self.ring_frames, int(start_frame), data)

    def status(self):
        return {"ring_frames": getattr(self, "ring_frames", 0)}
