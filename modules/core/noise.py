"""core.Noise: white and pink noise, ±5 V, polyphonic (``channels`` param).

Every instance is seeded from its module id (or ``data.seed``), so a render repeats
exactly and two Noise modules in a patch are independent; every channel differs too.
White is uniform in ±5 V; pink falls 3 dB per octave (Kellet's filter, modular.dsp.noise).
"""

import zlib

from numba import njit

from modular.dsp.block import JIT
from modular.dsp.noise import NOISE_STATE_SIZE, noise_block
from modular.module import MAX_CHANNELS, Module, Output, Param

S = NOISE_STATE_SIZE
SEED_SLOT = MAX_CHANNELS * S


@njit(**JIT)
def noise_kernel(white, pink, p0, p1, state, mem, nch, ctx):
    st = state[:MAX_CHANNELS * S].reshape((MAX_CHANNELS, S))[:nch]
    noise_block(white, pink, st, int(state[SEED_SLOT]))


class Noise(Module):
    model = "Noise"
    title = "Noise"
    description = "White and pink noise, ±5 V; seeded per instance so renders repeat"
    hp = 4
    params = (Param("channels", 1, 16, 1, label="Channels", integer=True),)
    outputs = (Output("white", "White"), Output("pink", "Pink"))
    kernel = noise_kernel
    state_per_channel = S
    state_fixed = 1  # the seed
    data_keys = ("seed",)
    finite_outputs = True
    skips_unconnected = True

    @classmethod
    def validate_data(cls, data):
        super().validate_data(data)
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 1 << 24:
            raise ValueError(f"'seed' must be an integer in 0..{(1 << 24) - 1}, got {seed!r}")

    def channel_count(self, input_channels):
        return int(self.param_values["channels"])

    def seed(self) -> int:
        """The generator seed: data.seed, else a hash of the module id (stable across runs)."""
        if "seed" in self.data:
            base = int(self.data["seed"])
        else:
            base = zlib.crc32(self.id.encode()) & 0xFFFFFF
        # 16 apart, so no two instances share a channel's sequence.
        return base * MAX_CHANNELS

    def init(self, sample_rate, block):
        self.state[SEED_SLOT] = self.seed()
