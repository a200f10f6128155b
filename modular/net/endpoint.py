"""What an engine module holds: the meeting point of its audio thread and the network thread.

Audio thread, once per block, never waiting:
    endpoint.send(position, block)   # (channels, frames) volts into the send ring
    endpoint.receive(out)            # the jitter buffer plays one block into ``out``
    endpoint.set_depth(blocks); endpoint.set_mode("auto" | "fixed")
Any thread:
    endpoint.status                  # a dict the network thread replaces a few times a second

The network thread drains the send ring into the session (``pump``): CV is always sent;
audio that has waited longer than ``stale_blocks`` (by default the deepest the jitter
buffers may go, ``max_depth``) is dropped: it would be late at the other end anyway. A
network thread held up for a few blocks by a busy machine sends what waited, which
the other end's buffer still plays in time when it is that deep (as it is on a lossy
path), instead of a gap that no parity can fill. The carrier drops audio too when its
own queue is backed up. Received frames of
``stream_in`` go into the jitter buffer's inbox (``deliver``).
"""

from __future__ import annotations

import math

import numpy as np

from . import wire
from .jitter import AUTO, JitterBuffer
from .spsc import BlockRing


class LinkEndpoint:
    def __init__(self, channels_out: int, channels_in: int, block: int, sample_rate: int = 48000, *,
                 cv: bool = True, encoding: wire.Encoding = wire.Encoding.FLOAT32, mode: str = AUTO,
                 depth: float = 2.0, max_depth: float = 64.0, stream_out: int = 1, stream_in: int = 1,
                 stale_blocks: int | None = None, slots: int = 512):
        self.block = block
        self.sample_rate = sample_rate
        self.cv = cv
        self.encoding = wire.Encoding.FLOAT32 if cv else encoding
        self.stream_out, self.stream_in = stream_out, stream_in
        self.stale_blocks = min(slots - 8, math.ceil(max_depth)) if stale_blocks is None else stale_blocks
        self.tx = BlockRing(slots, channels_out, block)
        self.rx = JitterBuffer(channels_in, block, sample_rate, cv=cv, mode=mode, depth=depth,
                               max_depth=max_depth, slots=slots)
        self.sent = 0
        self.dropped_stale = 0
        self.status: dict = {"connected": False}
        # Which session feeds the jitter buffer: the network thread bumps ``link_epoch``
        # when it changes (a peer connects, leaves or times out); the audio thread, seeing
        # a new epoch, restarts the buffer, so a departed peer is not waited for (the
        # depth and the lost count would climb for ever) and a new one starts afresh.
        self.link_epoch = 0
        self._link_key = None
        self._seen_epoch = 0
        self._scratch = np.zeros((channels_out, block), np.float32)
        self.kick = None  # the network thread's kick(), set by the transport: wakes it to send

    # -- audio thread

    def send(self, position: int, block: np.ndarray) -> bool:
        ok = self.tx.push(position, block)
        kick = self.kick
        if kick is not None:
            kick()
        return ok

    def receive(self, out: np.ndarray) -> int:
        epoch = self.link_epoch
        if epoch != self._seen_epoch:
            self._seen_epoch = epoch
            self.rx.reset()
        return self.rx.read(out)

    def set_depth(self, blocks: float):
        self.rx.set_depth(blocks)

    def set_mode(self, mode: str):
        self.rx.set_mode(mode)

    # -- network thread

    def pump(self, session, now: float) -> int:
        """Send what the audio thread queued; returns frames sent. Without an open session
        the ring is emptied anyway: audio from before the connection is of no use, and the
        CV that matters is the CV from now on."""
        key = id(session) if session is not None and session.is_open else None
        if key != self._link_key:
            self._link_key = key
            self.link_epoch += 1
        ring = self.tx
        n = 0
        while True:
            slot = ring.peek()
            if slot < 0:
                return n
            if session is not None and session.is_open:
                waiting = len(ring)
                if self.cv or waiting <= self.stale_blocks:
                    frames = int(ring.frames[slot])
                    session.send_frame(self.stream_out, int(ring.position[slot]),
                                       ring.data[slot, :, :frames], now, cv=self.cv, encoding=self.encoding)
                    self.sent += 1
                    n += 1
                else:
                    self.dropped_stale += 1
            ring.release()

    def deliver(self, frame: wire.Frame, arrival: float):
        if frame.stream == self.stream_in:
            self.rx.offer(frame, arrival)

    def publish_status(self, session, extra: dict | None = None):
        up = bool(session is not None and session.is_open)
        st = {"connected": up}
        if session is not None:
            st.update(session.stats())
            if not up:  # the last figures of a departed peer are not its latency now
                for k in ("rtt_ms", "one_way_ms", "jitter_ms", "offset_ms"):
                    st[k] = float("nan")
        st.update(self.rx.stats())
        st.update({"sent": self.sent, "dropped_stale": self.dropped_stale, "tx_overflows": self.tx.overflows})
        if extra:
            st.update(extra)
        self.status = st  # one reference swap: readers see an old or a new dict, never half
