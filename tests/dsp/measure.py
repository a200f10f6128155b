"""Physical measurements shared by the dsp tests: frequency by FFT, alias energy,
-3 dB points, level crossings."""

import numpy as np
from scipy.signal.windows import blackmanharris

SR = 48000.0
BLOCK = 64


def run_blocks(kernel, inputs, n_out, channels, seconds, *args, sr=SR, block=BLOCK):
    """Run a block kernel over whole blocks with contiguous (c, block) buffers, as the
    engine does: kernel(*inputs, *outputs, *args). inputs: (c or 1, total) arrays;
    returns the outputs, (channels, total) each."""
    total = int(round(seconds * sr / block)) * block
    outs = [np.zeros((channels, total), np.float32) for _ in range(n_out)]
    ib = [np.zeros((x.shape[0], block), np.float32) for x in inputs]
    ob = [np.zeros((channels, block), np.float32) for _ in range(n_out)]
    for b in range(total // block):
        sl = slice(b * block, (b + 1) * block)
        for buf, x in zip(ib, inputs):
            buf[:] = x[:, sl]
        kernel(*ib, *ob, *args)
        for o, buf in zip(outs, ob):
            o[:, sl] = buf
    return outs


def peak_frequency(x, sr=SR, pad=4):
    """Frequency of the strongest component: Hann window, zero padding, and a parabola
    through the log magnitudes around the peak bin (Gaussian interpolation)."""
    x = np.asarray(x, np.float64)
    x = x - x.mean()
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(n), n * pad))
    k = int(np.argmax(spec[1:])) + 1
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-300)
    delta = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + delta) * sr / (n * pad)


def cents(f, ref):
    return 1200.0 * np.log2(f / ref)


def harmonic_and_alias_power(x, f0, sr=SR, width=5, band=None):
    """Power within `width` bins of the harmonics of f0 (below Nyquist), and power
    everywhere else above DC (or only below `band` Hz). 4-term Blackman-Harris window
    (sidelobes -92 dB) over the whole signal."""
    x = np.asarray(x, np.float64)
    x = x - x.mean()
    n = len(x)
    w = blackmanharris(n)
    p = np.abs(np.fft.rfft(x * w)) ** 2
    freqs = np.arange(len(p)) * sr / n
    harm = np.zeros(len(p), bool)
    k = 1
    while k * f0 < sr / 2:
        harm |= np.abs(freqs - k * f0) <= width * sr / n
        k += 1
    harm[:width + 1] = False
    rest = ~harm
    rest[:width + 1] = False
    if band is not None:
        rest &= freqs < band
    return p[harm].sum(), p[rest].sum()
