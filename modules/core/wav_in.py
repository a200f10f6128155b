"""core.WavIn: plays a WAV (or any file soundfile reads), looping, with every file
channel on the polyphonic ``out``.

``data.path`` names the file (relative to the working directory, as core.WavOut's).
``data.units``: ``"audio"`` (default) maps digital full scale ±1.0 to ±10 V, as
core.AudioOut does in the other direction; ``"volts"`` plays the samples as volts,
unscaled, so a file written by core.WavOut comes back bit for bit.

The whole file is loaded into the module's memory when the patch is built, resampled
to the engine's rate if its own differs (band-limited, by FFT). A rising edge on
``trig`` restarts playback from the start; with ``loop`` off, playback stops at the end
(silence) until the next trigger. A missing or unreadable file fails the build with a
PatchError naming the module.
"""

import os

import numpy as np
import soundfile as sf
from numba import njit

from modular.dsp.block import JIT
from modular.dsp.triggers import schmitt
from modular.module import MAX_CHANNELS, Input, Module, Output, Param
from modular.patch import PatchError

UNITS = {"audio": 10.0, "volts": 1.0}
# state: 0 play position (frames), 1 trigger Schmitt, 2 stopped (reached the end, loop off)
POS, S_TRIG, STOPPED = range(3)


@njit(**JIT)
def wav_in_kernel(trig, out, p0, p1, state, mem, nch, ctx):
    if out.shape[0] == 0:
        return
    n = out.shape[1]
    frames = mem.shape[0] // nch
    loop = p1[0] > 0.5
    st = state
    pos = int(st[POS])
    for i in range(n):
        if schmitt(st, S_TRIG, trig[0, i]):
            pos = 0
            st[STOPPED] = 0.0
        if st[STOPPED] != 0.0 or frames == 0:
            for c in range(nch):
                out[c, i] = 0.0
            continue
        if pos >= frames:  # the file got shorter (a live edit): start over
            pos = 0
        for c in range(nch):
            out[c, i] = mem[c * frames + pos]
        pos += 1
        if pos >= frames:
            if loop:
                pos = 0
            else:
                st[STOPPED] = 1.0
    st[POS] = pos


def resample(x: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Resample (channels, frames) float64 by FFT (band-limited; the signal is treated as
    periodic, which suits a looping sample). Returns float64 (channels, new frames)."""
    n = x.shape[1]
    m = int(round(n * rate_out / rate_in))
    if m == n or n == 0:
        return x
    spec = np.fft.rfft(x, axis=1)
    keep = min(spec.shape[1], m // 2 + 1)
    out_spec = np.zeros((x.shape[0], m // 2 + 1), np.complex128)
    out_spec[:, :keep] = spec[:, :keep]
    if n % 2 == 0 and m > n:
        out_spec[:, n // 2] *= 0.5  # the old Nyquist bin splits into +/- halves
    return np.fft.irfft(out_spec, m, axis=1) * (m / n)


class WavIn(Module):
    model = "WavIn"
    title = "WAV In"
    description = "Plays a WAV file (data: path, units), looping; all channels on a poly output"
    hp = 4
    params = (Param("loop", 0, 1, 1, label="Loop", options=("off", "on")),)
    inputs = (Input("trig", "Restart"),)
    outputs = (Output("out", "Out"),)
    kernel = wav_in_kernel
    state_fixed = 3
    data_keys = ("path", "units")
    finite_outputs = True

    @classmethod
    def validate_data(cls, data):
        super().validate_data(data)
        if "path" not in data:
            raise ValueError("missing key 'path' (the WAV file to play)")
        if not isinstance(data["path"], str) or not data["path"]:
            raise ValueError(f"'path' must be a file name, got {data['path']!r}")
        units = data.get("units", "audio")
        if units not in UNITS:
            raise ValueError(f"'units' must be one of {', '.join(map(repr, UNITS))}, got {units!r}")

    # --- the file ---------------------------------------------------------------------

    def _fail(self, why: str):
        raise PatchError(f"module {self.id!r} ({self.full_model()}): cannot play {self.data['path']!r}: {why}")

    def _info(self):
        path = self.data["path"]
        if not os.path.exists(path):
            self._fail(f"no such file (looked in {os.path.abspath(path)})")
        if not os.path.isfile(path):
            self._fail("not a file")
        try:
            info = sf.info(path)
        except Exception as e:  # soundfile raises RuntimeError/LibsndfileError for bad files
            self._fail(str(e).strip() or type(e).__name__)
        if not 1 <= info.channels <= MAX_CHANNELS:
            self._fail(f"{info.channels} channels; a cable carries 1 to {MAX_CHANNELS}")
        return info

    def _load(self, sample_rate):
        """The file as float32 (channels, frames) at ``sample_rate``, in volts; cached."""
        path = self.data["path"]
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            stamp = None
        key = (path, stamp, int(sample_rate), self.data.get("units", "audio"))
        cached = getattr(self, "_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        info = self._info()
        try:
            raw, rate = sf.read(path, dtype="float32", always_2d=True)
        except Exception as e:
            self._fail(str(e).strip() or type(e).__name__)
        x = raw.T
        if rate != sample_rate:
            x = resample(x.astype(np.float64), rate, sample_rate)
        scale = UNITS[self.data.get("units", "audio")]
        x = np.nan_to_num(np.asarray(x, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        if scale != 1.0:
            x = x * np.float32(scale)
        x = np.ascontiguousarray(x, np.float32)
        self.file_rate = rate
        self.file_channels = info.channels
        self._cache = (key, x)
        return x

    def channel_count(self, input_channels):
        return self._info().channels

    def memory_size(self, sample_rate, block):
        return self._load(sample_rate).size

    def init(self, sample_rate, block):
        x = self._load(sample_rate)
        self.frames = x.shape[1]
        self.mem[:] = x.ravel()
        self._cache = None  # the data lives in mem now; a rebuild reads the file again

    def status(self):
        return {"path": self.data["path"], "channels": self.channels, "frames": getattr(self, "frames", 0),
                "position": int(self.state[POS]) if self.state.size else 0}
