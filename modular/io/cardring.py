"""The sound card's callback without Python: a compiled C function and the ring it plays.

PortAudio calls its stream callback from the card's real-time thread. A Python callback
must take the GIL first, and any other thread of the process (the network thread, the
GUI, a print) may be holding it: on a loaded machine the callback then misses its
deadline. Here PortAudio calls a numba ``cfunc`` instead, which never touches the
interpreter: it copies the next ``frames`` from an output ring that the engine thread
keeps filled a few blocks ahead, copies the captured input into an input ring, and
counts what went wrong. The engine thread (Python, real-time priority) renders blocks
whenever the ring runs below its target; a stall of the engine thread shorter than the
buffered blocks is inaudible.

One float32 buffer holds everything, so the callback needs a single pointer (its
``userData``):

    int64 words [0, CTL_WORDS)       control: counters and sizes (below)
    float32 from DATA_OFFSET         output ring, capacity x out_channels, interleaved
    then                             input ring, capacity x in_channels, interleaved

Positions are frame counts since the stream started. ``WRITTEN`` is advanced by the
engine thread after the samples are in place, ``READ`` by the callback after it has
played them; each side only ever stores its own counter. That is enough on x86-64,
whose stores become visible in program order; other architectures would need fences.
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, njit, types

# control words (int64)
WRITTEN = 0  # output frames the engine has put in the ring
READ = 1  # output frames the card has taken (played, or played as silence)
CALLS = 2  # callbacks
STARVED = 3  # callbacks that found fewer frames than they had to play
UNDERFLOWS = 4  # callbacks PortAudio flagged with an output underflow or input overflow
IN_WRITTEN = 5  # input frames captured (the input ring is written at READ)
CAPACITY = 6  # ring frames (a power of two)
OUT_CH = 7
IN_CH = 8
MISSED_AT = 9  # READ at the last starved or flagged callback
MISSING = 10  # frames played as silence because the ring ran dry
END = 11  # the last frame there will be (the run is ending): silence after it is no fault
CTL_WORDS = 16
DATA_OFFSET = 2 * CTL_WORDS  # float32 words

PA_INPUT_OVERFLOW = 0x2
PA_OUTPUT_UNDERFLOW = 0x4
PA_CONTINUE = 0

_SIGNATURE = types.int32(types.voidptr, types.voidptr, types.uint64, types.voidptr, types.uint64, types.voidptr)


@cfunc(_SIGNATURE, nopython=True, cache=True)
def card_callback(inp, out, frame_count, time_info, status, user):
    ctl = carray(user, (CTL_WORDS,), np.int64)
    cap = ctl[CAPACITY]
    och = ctl[OUT_CH]
    ich = ctl[IN_CH]
    mask = cap - 1
    n = np.int64(frame_count)
    data = carray(user, (DATA_OFFSET + cap * (och + ich),), np.float32)
    r = ctl[READ]
    avail = ctl[WRITTEN] - r
    if avail < 0:
        avail = 0
    k = n if avail >= n else avail
    o = carray(out, (n * och,), np.float32)
    for i in range(k):
        src = DATA_OFFSET + ((r + i) & mask) * och
        for c in range(och):
            o[i * och + c] = data[src + c]
    for i in range(k * och, n * och):
        o[i] = 0.0
    short = n - k
    if r + n > ctl[END]:
        short = ctl[END] - (r + k)
    if short > 0:
        ctl[STARVED] += 1
        ctl[MISSED_AT] = r
        ctl[MISSING] += short
    if ich > 0:
        x = carray(inp, (n * ich,), np.float32)
        base = DATA_OFFSET + cap * och
        for i in range(n):
            dst = base + ((r + i) & mask) * ich
            for c in range(ich):
                data[dst + c] = x[i * ich + c]
        ctl[IN_WRITTEN] = r + n
    if status & (PA_OUTPUT_UNDERFLOW | PA_INPUT_OVERFLOW):
        ctl[UNDERFLOWS] += 1
        ctl[MISSED_AT] = r
    ctl[CALLS] += 1
    ctl[READ] = r + n
    return PA_CONTINUE


@njit(cache=True, nogil=True)
def _put(ring, mask, start, block):
    for i in range(block.shape[0]):
        j = (start + i) & mask
        for c in range(block.shape[1]):
            ring[j, c] = block[i, c]


@njit(cache=True, nogil=True)
def _get(ring, mask, start, out):
    for i in range(out.shape[0]):
        j = (start + i) & mask
        for c in range(out.shape[1]):
            out[i, c] = ring[j, c]


class CardRing:
    """The memory shared by the engine thread and ``card_callback``."""

    def __init__(self, capacity: int, out_channels: int = 2, in_channels: int = 0):
        cap = 1 << max(0, int(capacity) - 1).bit_length()
        self.capacity = cap
        self.buf = np.zeros(DATA_OFFSET + cap * (out_channels + in_channels), np.float32)
        self.ctl = self.buf[:DATA_OFFSET].view(np.int64)
        self.out = self.buf[DATA_OFFSET: DATA_OFFSET + cap * out_channels].reshape(cap, out_channels)
        self.inp = self.buf[DATA_OFFSET + cap * out_channels:].reshape(cap, in_channels)
        self.ctl[CAPACITY] = cap
        self.ctl[OUT_CH] = out_channels
        self.ctl[IN_CH] = in_channels
        self.ctl[END] = np.iinfo(np.int64).max
        self._mask = cap - 1
        # the engine thread's own copy of WRITTEN: it never reads back what it stored
        self.written = 0

    @property
    def address(self) -> int:
        return self.buf.ctypes.data

    # -- engine thread

    @property
    def played(self) -> int:
        return int(self.ctl[READ])

    def fill(self) -> int:
        """Frames written and not yet taken by the card (negative after a starvation)."""
        return self.written - int(self.ctl[READ])

    def write(self, block: np.ndarray) -> None:
        """Append (frames, out_channels) float32; the caller keeps ``fill()`` below the
        capacity. A block rendered for frames the card has already passed as silence
        is still written (the engine's timeline must not jump) and simply never heard."""
        _put(self.out, self._mask, self.written, block)
        self.written += block.shape[0]
        self.ctl[WRITTEN] = self.written

    def finish(self) -> None:
        """Nothing more will be written: the card plays silence after what is queued."""
        self.ctl[END] = self.written

    def read_input(self, start: int, out: np.ndarray) -> bool:
        """Captured input frames ``start ..`` into ``out`` (frames, in_channels); False
        and silence if they are not all in the ring (not captured yet, or overwritten)."""
        captured = int(self.ctl[IN_WRITTEN])
        if start < 0 or start + out.shape[0] > captured or start < captured - self.capacity + out.shape[0]:
            out[:] = 0.0
            return False
        _get(self.inp, self._mask, start, out)
        return True

    def counters(self) -> dict:
        c = self.ctl
        return {"callbacks": int(c[CALLS]), "starved": int(c[STARVED]), "underflows": int(c[UNDERFLOWS]),
                "missing_frames": int(c[MISSING]), "played": int(c[READ])}


def open_stream(ring: CardRing, sample_rate: int, block: int, device=None, duplex: bool = False):
    """A PortAudio stream (sounddevice's documented base class for C callbacks) whose
    callback is ``card_callback`` on ``ring``. Not started."""
    import cffi
    import sounddevice as sd

    ffi = cffi.FFI()
    kind = "duplex" if duplex else "output"
    channels = (ring.inp.shape[1], ring.out.shape[1]) if duplex else ring.out.shape[1]
    stream = sd._StreamBase(kind, samplerate=sample_rate, blocksize=block, device=device, channels=channels,
                            dtype="float32", latency="low", callback=ffi.cast("void *", card_callback.address),
                            userdata=ffi.cast("void *", ring.address), wrap_callback=None)
    stream._modular_ring = ring  # the callback reads this memory: it lives as long as the stream
    return stream
