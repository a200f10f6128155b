"""Noise: white from a xorshift32 generator whose state lives in the float64 state row
(32-bit integers are exact in float64), pink from Paul Kellet's refined filter (seven
one-poles summed; within ±0.5 dB of -3 dB/octave from ~10 Hz to ~20 kHz at 44.1 kHz).

NOISE_STATE_SIZE = 8 per channel: 0 generator state (0 = not yet seeded: seeded from the
channel number, so channels differ and runs repeat), 1..7 the pink filter's poles.
"""

from numba import njit

from modular.dsp.block import INLINE, JIT

NOISE_STATE_SIZE = 8
_MASK = 0xFFFFFFFF
_SEED = 2463534242


@njit(**INLINE)
def xorshift32(x):
    """The next state of Marsaglia's xorshift32 (x != 0), as an int."""
    x ^= (x << 13) & _MASK
    x ^= x >> 17
    x ^= (x << 5) & _MASK
    return x


@njit(**INLINE)
def uniform(x):
    """The state mapped to [-1, 1)."""
    return x * (2.0 / 4294967296.0) - 1.0


@njit(**INLINE)
def pink_tick(st, w):
    """Kellet's refined pink filter on white w in ±1 (poles in st[1..7]); about ±1 out."""
    b0 = 0.99886 * st[1] + w * 0.0555179
    b1 = 0.99332 * st[2] + w * 0.0750759
    b2 = 0.96900 * st[3] + w * 0.1538520
    b3 = 0.86650 * st[4] + w * 0.3104856
    b4 = 0.55000 * st[5] + w * 0.5329522
    b5 = -0.7616 * st[6] - w * 0.0168980
    y = b0 + b1 + b2 + b3 + b4 + b5 + st[7] + w * 0.5362
    st[1] = b0
    st[2] = b1
    st[3] = b2
    st[4] = b3
    st[5] = b4
    st[6] = b5
    st[7] = w * 0.115926
    return y * 0.25


@njit(**JIT)
def noise_block(out_white, out_pink, state, seed):
    """Polyphonic noise, ±5 V white (uniform) and pink; (0, 0) outputs are skipped.
    seed: added to the channel number for unseeded channels."""
    nch = state.shape[0]
    n = out_white.shape[1] if out_white.shape[0] > 0 else out_pink.shape[1]
    do_w = out_white.shape[0] > 0
    do_p = out_pink.shape[0] > 0
    for c in range(nch):
        st = state[c]
        x = int(st[0])
        if x == 0:
            x = (_SEED + 0x9E3779B9 * (c + seed)) & _MASK
            if x == 0:
                x = _SEED
        for i in range(n):
            x = xorshift32(x)
            w = uniform(x)
            if do_w:
                out_white[c, i] = 5.0 * w
            if do_p:
                out_pink[c, i] = 5.0 * pink_tick(st, w)
        st[0] = x
