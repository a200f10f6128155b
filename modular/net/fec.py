"""Forward error correction for audio frames sent as unreliable datagrams, sans-I/O.

Audio must not wait for a retransmission (a loss over KCP costs a round trip, and the
jitter buffer must then cover that round trip all the time), yet a lost frame is a
glitch. So audio FRAMEs travel as DATAGRAMs, outside KCP, and every group of ``k``
consecutive frames of a stream (sequence numbers ``first .. first + k - 1``, ``first`` a
multiple of ``k``) is followed by ``m`` PARITY messages: a systematic Reed-Solomon code
over the whole encoded messages (gf256.py). Any ``k`` of the ``k + m`` pieces give back
the group, so with k = m = 4 a group is lost only when 5 of its 8 datagrams are: at 5 %
random loss, about once in 60 000 groups. The sender spreads the parity of a group over
the datagrams of the next one (one piece each), so a burst does not take a frame and
its protection together; a frame is recovered at the latest ``k + m - 1`` blocks after
it was sent, usually within a block or two.

``FecEncoder.add(frame_message)`` returns the PARITY messages to send once a group is
complete (or, for a group a stream skipped part of, when the next group begins: PARITY
says which frames it covers). ``FecDecoder.frame(message)`` registers a received frame
and says whether it is new; ``FecDecoder.parity(parity)`` returns the frames recovered.
Memory is bounded: a decoder keeps the last ``keep`` groups of each stream.
"""

from __future__ import annotations

import collections
import functools
import math
import struct

import numpy as np

from . import gf256, runs, wire

_FRAME_IDS = struct.Struct(">H2xI")  # stream, (flags, encoding), seq: at offset 4 of a FRAME
_FRAME_SIZE = struct.Struct(">B1xH")  # channels, (reserved), frames: at offset 20
_PARITY = struct.Struct(">HIBBBBHH")  # wire.Parity's layout after the header
_PARITY_DATA = wire.HEADER_SIZE + _PARITY.size  # where a PARITY's coded bytes begin
VALID_K = (1, 2, 4, 8, 16)  # powers of two: groups stay aligned when seq wraps at 2^32


def frame_ids(message) -> tuple[int, int]:
    """(stream, seq) of an encoded FRAME message."""
    return _FRAME_IDS.unpack_from(message, wire.HEADER_SIZE)


def frame_length(message) -> int:
    """The length of the FRAME message at the start of ``message`` (which may carry
    zero padding after it), from its header; 0 if that header is impossible."""
    if len(message) < 24:
        return 0
    ch, n = _FRAME_SIZE.unpack_from(message, 20)
    if message[7] == wire.Encoding.RUNS:
        k = runs.length(memoryview(message)[24:], ch, n)
        return 24 + k if k >= 0 else 0
    size = wire.SAMPLE_BYTES.get(message[7])
    if size is None:
        return 0
    return 24 + ch * n * size


class FecEncoder:
    def __init__(self, k: int = 4, m: int = 4):
        if k not in VALID_K or not 1 <= m <= 16:
            raise ValueError(f"FEC needs k in {VALID_K} and 1 <= m <= 16, got k={k}, m={m}")
        self.k, self.m = k, m
        self._c = gf256.cauchy(k, m)
        self._groups: dict[int, tuple[int, dict[int, bytes]]] = {}  # stream -> (first seq, {index: message})
        self.groups = 0  # groups protected
        self.parity_bytes = 0

    def add(self, message: bytes) -> list[bytes]:
        """Register a FRAME message just sent; PARITY messages to send next (maybe none)."""
        stream, seq = frame_ids(message)
        first = seq - seq % self.k
        out = []
        g = self._groups.get(stream)
        if g is not None and g[0] != first:
            if (first - g[0]) & 0xFFFFFFFF < 1 << 31:  # a new group: protect what the old one had
                out += self._parity(stream, *g)
            # else the sequence started again: another sender on this stream id (a relay
            # gives a listener's return slot, and its id, to the next listener). Parity of
            # the old group would reach the peer among the new sender's frames of the same
            # seqs and be taken for theirs: it would give back a frame the new sender never sent.
            g = None
        if g is None:
            g = self._groups[stream] = (first, {})
        g[1][seq - first] = message
        if len(g[1]) == self.k:
            del self._groups[stream]
            out += self._parity(stream, *g)
        return out

    # Parity computed lately, by the group's frames: a relay sends the very same frame
    # messages to every listener, so each listener's encoder finds its parity here instead
    # of computing it again. Keyed by the message objects (their hashes are cached, and
    # equal keys of the same objects compare by identity).
    _shared: collections.OrderedDict = collections.OrderedDict()
    SHARED = 256

    def _parity(self, stream: int, first: int, frames: dict[int, bytes]) -> list[bytes]:
        key = (self.k, self.m, stream, first, tuple(sorted(frames.items())))
        out = self._shared.get(key)
        if out is None:
            out = self._compute(stream, first, frames)
            self._shared[key] = out
            if len(self._shared) > self.SHARED:
                self._shared.popitem(last=False)
        self.groups += 1
        self.parity_bytes += sum(len(p) for p in out)
        return out

    def _compute(self, stream: int, first: int, frames: dict[int, bytes]) -> list[bytes]:
        length = max(len(f) for f in frames.values())
        present = 0
        data = np.zeros((self.k, length), np.uint8)
        lengths = np.zeros(self.k, np.int64)
        for i, f in frames.items():
            present |= 1 << i
            data[i, :len(f)] = np.frombuffer(f, np.uint8)
            lengths[i] = len(f)
        out = np.empty((self.m, length), np.uint8)
        gf256.encode_rows(data, lengths, self._c, gf256.MUL, out)
        head = wire.header(wire.MsgType.PARITY)
        return [head + _PARITY.pack(stream, first, self.k, self.m, j, 0, present, length) + out[j].tobytes()
                for j in range(self.m)]


def restream_parity(p: wire.Parity, message: bytes, stream: int) -> bytes:
    """The PARITY message ``message`` (decoded: ``p``) would be had its group's frames
    carried stream id ``stream``: what a relay forwards with frames it gives another
    stream id (a listener's return, in its slot on the broadcaster's side), instead of
    coding the group again. The code is linear, and only the two bytes of the frames'
    stream id change, by the same ``d`` in every frame, so only the same two bytes of a
    piece change: by ``(sum of its Cauchy row over the frames present) * d``."""
    row = _row_sum(p.k, p.m, p.index, p.present)
    d = p.stream ^ stream
    out = bytearray(message)
    out[wire.HEADER_SIZE:wire.HEADER_SIZE + 2] = stream.to_bytes(2, "big")  # the PARITY's own stream field
    at = _PARITY_DATA + wire.HEADER_SIZE  # the frames' stream id sits at offset 4 of a FRAME message
    out[at] ^= gf256.mul(row, d >> 8)
    out[at + 1] ^= gf256.mul(row, d & 0xFF)
    return bytes(out)


@functools.lru_cache(maxsize=4096)
def _row_sum(k: int, m: int, index: int, present: int) -> int:
    c = gf256.cauchy(k, m)[index]
    row = 0
    for i in range(k):
        if present >> i & 1:
            row ^= int(c[i])
    return row


class _Stream:
    __slots__ = ("frames", "recovered", "groups", "newest")

    def __init__(self):
        self.frames: collections.OrderedDict[int, bytes] = collections.OrderedDict()  # seq -> message
        self.recovered: set[int] = set()  # seqs given back (bounded with ``frames``)
        self.groups: collections.OrderedDict[int, wire.Parity] = collections.OrderedDict()  # first -> a PARITY
        self.newest = 0  # the highest seq seen (frames or a parity's group)
        # (the parity pieces of a group, by index, are kept in a dict on the side)


class FecDecoder:
    def __init__(self, keep: int = 8):
        self.keep = keep  # groups of each stream kept (and 16 x keep frames)
        self._streams: dict[int, _Stream] = {}
        self._pieces: dict[tuple[int, int], dict[int, bytes]] = {}  # (stream, first) -> {index: parity}
        self.recovered = 0  # frames given back
        self.duplicates = 0  # frames that arrived after they had been recovered
        self.unrecoverable = 0  # groups forgotten with frames still missing
        self.rejected = 0  # PARITY inconsistent with its group, or a recovery that made no sense
        self.restarts = 0  # streams whose sequence started again (another sender on the id)

    def _stream(self, stream: int, seq: int) -> _Stream:
        """The state of ``stream``, afresh if ``seq`` lies further behind its newest than
        anything kept: the stream id has another sender, whose sequence starts anew (a
        relay gives a listener's return slot, and its stream id, to the next listener).
        The old sender's groups must not meet the new one's frames: their seqs coincide,
        and a recovery from both would give back frames that were never sent while the
        new sender's real ones were dropped as duplicates. (A new sender whose seqs are
        still among the kept frames is told by ``frame``: same seq, other bytes.)"""
        st = self._streams.get(stream)
        if st is not None and 16 * self.keep < (st.newest - seq) & 0xFFFFFFFF < 1 << 31:
            st = None
            self._forget(stream)
        if st is None:
            st = self._streams[stream] = _Stream()
            st.newest = seq
        elif 0 < (seq - st.newest) & 0xFFFFFFFF < 1 << 31:
            st.newest = seq
        return st

    def _forget(self, stream: int):
        st = self._streams.pop(stream, None)
        if st is not None:
            for first in st.groups:
                self._pieces.pop((stream, first), None)
        self.restarts += 1

    def frame(self, message: bytes) -> tuple[bool, list[bytes]]:
        """A FRAME received as a datagram: (is it new, frames it let us recover)."""
        stream, seq = frame_ids(message)
        st = self._stream(stream, seq)
        kept = st.frames.get(seq)
        if kept is not None and kept != message:
            # a seq we hold with other bytes (a duplicate, or a frame we recovered, is the
            # same bytes): a new sender on this stream id, its sequence started again
            # while the old one's frames are still kept (it lived less than 16 x keep frames)
            self._forget(stream)
            st = self._stream(stream, seq)
        elif kept is not None:
            if seq in st.recovered:
                self.duplicates += 1
            return False, []
        self._keep(st, seq, bytes(message))
        if st.groups:
            k = next(reversed(st.groups.values())).k
            first = seq - seq % k
            if first in st.groups:
                return True, self._try(stream, st, first)
        return True, []

    def _keep(self, st: _Stream, seq: int, message: bytes):
        st.frames[seq] = message
        while len(st.frames) > 16 * self.keep:
            old, _ = st.frames.popitem(last=False)
            st.recovered.discard(old)

    def parity(self, p: wire.Parity) -> list[bytes]:
        """A PARITY received: the frames it completes (encoded FRAME messages)."""
        st = self._stream(p.stream, p.first_seq)
        known = st.groups.get(p.first_seq)
        pieces = self._pieces.setdefault((p.stream, p.first_seq), {})
        if known is not None:
            if (known.k, known.m, known.present, len(known.data)) != (p.k, p.m, p.present, len(p.data)):
                self.rejected += 1
                return []
        else:
            st.groups[p.first_seq] = p
            while len(st.groups) > self.keep:
                first, old = st.groups.popitem(last=False)
                self._pieces.pop((p.stream, first), None)
                if self._missing(st, old):
                    self.unrecoverable += 1
        if p.index in pieces:
            return []
        pieces[p.index] = p.data
        return self._try(p.stream, st, p.first_seq)

    @staticmethod
    def _missing(st: _Stream, p: wire.Parity) -> list[int]:
        return [i for i in range(p.k) if p.present >> i & 1 and p.first_seq + i not in st.frames]

    def _try(self, stream: int, st: _Stream, first: int) -> list[bytes]:
        p = st.groups[first]
        pieces = self._pieces.get((stream, first), {})
        missing = self._missing(st, p)
        if not missing or len(pieces) < len(missing):
            return []
        rows = sorted(pieces)[: len(missing)]
        c = gf256.cauchy(p.k, p.m)
        length = len(p.data)
        sums = []
        for j in rows:
            s = np.frombuffer(pieces[j], np.uint8).copy()
            for i in range(p.k):
                d = st.frames.get(first + i)
                if p.present >> i & 1 and d is not None:
                    gf256.addmul(s, np.frombuffer(d, np.uint8), int(c[j, i]), gf256.MUL)
            sums.append(s)
        a_inv = gf256.invert(c[np.ix_(rows, missing)])
        out = []
        for t, i in enumerate(missing):
            d = np.zeros(length, np.uint8)
            for u in range(len(rows)):
                gf256.addmul(d, sums[u], int(a_inv[t, u]), gf256.MUL)
            raw = d.tobytes()
            n = frame_length(raw)
            if not 24 <= n <= length or raw[:wire.HEADER_SIZE] != wire.header(wire.MsgType.FRAME) \
                    or frame_ids(raw) != (stream, (first + i) & 0xFFFFFFFF):
                self.rejected += 1
                return out
            self._keep(st, first + i, raw[:n])
            st.recovered.add(first + i)
            self.recovered += 1
            out.append(raw[:n])
        return out


GROUP_FAILURE = 1e-5  # the chance of losing a group that parity sized to a path's loss accepts
PARITY_INDEX = wire.HEADER_SIZE + 8  # where a PARITY message holds its piece index


def pieces_for(loss: float, k: int, m: int) -> int:
    """How many of a group's ``m`` parity pieces a path that loses ``loss`` of its
    datagrams (independently) needs, so that a group of ``k`` frames is lost less often
    than GROUP_FAILURE: the fewest ``n`` with P(more than n of k + n lost) below it, at
    least 1 (one loss is always repaired) and at most ``m``. A clean path needs 1 piece
    of the reference 4: a quarter of the parity bytes."""
    return _pieces_for(min(1000, max(0, round(loss * 10000))), k, m)


@functools.lru_cache(maxsize=4096)
def _pieces_for(loss_bp: int, k: int, m: int) -> int:
    p = loss_bp / 10000
    for n in range(1, m):
        total = k + n
        fail = sum(math.comb(total, j) * p ** j * (1 - p) ** (total - j) for j in range(n + 1, total + 1))
        if fail < GROUP_FAILURE:
            return n
    return m


_warm = False


def warm_up():
    """Load the compiled byte loops (encoding and recovery) now: their first call reads
    numba's cache, which takes a few hundred milliseconds in a fresh process and would
    stall the network thread (and the audio thread waiting for the GIL) mid-stream.
    Once per process."""
    global _warm
    if _warm:
        return
    _warm = True
    runs.warm_up()
    gf256.encode_rows(np.zeros((1, 4), np.uint8), np.full(1, 4, np.int64), np.ones((1, 1), np.uint8), gf256.MUL,
                      np.empty((1, 4), np.uint8))
    enc, dec = FecEncoder(4, 4), FecDecoder()
    frames = [wire.encode(wire.Frame(1, i, i * 64, 1, 64, wire.Encoding.FLOAT32, bytes(256))) for i in range(4)]
    parity = [p for f in frames for p in enc.add(f)]
    for f in frames[2:]:
        dec.frame(f)
    for p in parity[:2]:
        dec.parity(wire.decode(p))
