"""core.AudioOut: what the sound card plays, ``render`` writes and ``--record`` keeps.

±10 V maps to digital full scale, as VCV's Audio module does. A polyphonic cable is
summed. Unpatched, ``right`` follows ``left``, so a mono patch plays on both sides.
"""

from modular.io import ring
from modular.module import Input, Module, Param, kernel, ramp


@kernel
def audio_out_kernel(left, right, p0, p1, state, mem, nch, ctx):
    n = left.shape[1]
    frames = mem.shape[0] // 2
    pos = int(ctx[2]) % frames
    ml = mem[pos:pos + n]
    mr = mem[frames + pos:frames + pos + n]
    ml[:] = 0.0
    mr[:] = 0.0
    # Channel by channel, so the inner loops run along contiguous samples (SIMD).
    for c in range(left.shape[0]):
        for i in range(n):
            ml[i] += left[c, i]
    for c in range(right.shape[0]):
        for i in range(n):
            mr[i] += right[c, i]
    for i in range(n):
        g = ramp(p0[0], p1[0], i, n) * 0.1
        ml[i] *= g
        mr[i] *= g


class AudioOut(Module):
    model = "AudioOut"
    title = "Audio Out"
    description = "Stereo output to the sound card, render and recording; ±10 V = full scale"
    hp = 6
    params = (Param("level", 0.0, 1.0, 1.0, label="Level"),)
    inputs = (Input("left", "L"), Input("right", "R", normal_to="left"))
    outputs = ()
    kernel = audio_out_kernel
    audio_sink = True

    def memory_size(self, sample_rate, block):
        self.ring_frames = ring.ring_frames(sample_rate, block)
        return 2 * self.ring_frames

    def read_audio(self, start: int, count: int):
        """Stereo float32 samples for frames ``start .. start+count``, shape (count, 2)."""
        return ring.read(self.mem, 2, self.ring_frames, start, count)
