"""Consecutive engine blocks gathered into larger network frames, on the audio thread.

A network frame of several blocks costs the radio server (and every peer's network
thread) one frame's work instead of one per block: that is what makes fan-out to many
listeners affordable at small engine blocks. The price is latency: a frame leaves when
its last block is done, so its first block waits (blocks per frame - 1) blocks longer.

Blocks are written straight into a reserved slot of the SPSC ring the network thread
reads, so gathering copies nothing twice and allocates nothing. A frame holds only
blocks that follow each other on the timeline: when the position jumps (the jitter
buffer that a listener's return answers skipped or held), what was gathered goes out
as a shorter frame and a new one begins at the new position.
"""

from __future__ import annotations

import numpy as np

from modular.net.spsc import BlockRing


class FrameGatherer:
    """Gathers ``per_frame`` consecutive blocks of ``block`` samples into each frame of
    ``ring`` (whose slots hold at least that many samples). ``per_frame`` may change
    between pushes: a frame already that long goes out with the next push."""

    def __init__(self, ring: BlockRing, block: int, per_frame: int = 1):
        self.ring, self.block, self.per_frame = ring, block, per_frame
        self._count = 0  # blocks in the frame being gathered
        self._slot = -1  # its ring slot (-1 when the ring was full: that frame is lost, counted by the ring)
        self._at = 0  # its timeline position

    def push(self, position: int, block: np.ndarray) -> bool:
        """Add one (channels, block) block at ``position``; True when a frame was
        published (the network thread has something to send). A shorter block (the
        tail of one) goes out as a frame of its own."""
        ring, b, k = self.ring, self.block, self._count
        short = block.shape[1] != b
        sent = False
        if k and (position != self._at + k * b or short):
            sent = self._publish(k)  # the timeline jumped: send what was gathered
            k = 0
        if k == 0 and (short or self.per_frame <= 1):
            self._count = 0
            return ring.push(position, block) or sent
        if k == 0:
            self._slot, self._at = ring.reserve(), position
        if self._slot >= 0:
            ring.fill(self._slot, k * b, block)
        k += 1
        if k >= self.per_frame:
            sent = self._publish(k) or sent
            k = 0
        self._count = k
        return sent

    def discard(self):
        """Drop the frame being gathered, unsent: its timeline ended (a listener's buffer
        restarted at a new live edge after an outage). Sent later, it would answer
        positions from before the outage, and a broadcaster that sets its return
        latency from what its listeners need would take it for a listener that needs
        as much more as the outage was long."""
        self._count, self._slot = 0, -1  # a reserved slot is not taken until published

    def _publish(self, blocks: int) -> bool:
        if self._slot < 0:
            return False
        self.ring.publish(self._slot, self._at, blocks * self.block)
        self._slot = -1
        return True


class AnsweredSpan:
    """How far a listener's return has answered the broadcast timeline for real, so
    that a position answered for real is not answered again.

    The jitter buffer plays some positions twice. When it deepens, its playout point
    steps back and the positions it steps over play again (a CV stream holds its value
    over them, an audio one replays them): the return of that replay must not overwrite
    the real answers the broadcaster already has.
    When it stalls (waits for late data), the rest of the block plays the held CV and
    the next block plays those positions again with the real CV: that answer must
    overwrite the held one. So each block records how many of its samples answered
    their positions for real (``real``: all of them, or what a stalled read had), and
    a block is sent only from the first position not answered for real yet.
    """

    def __init__(self, limit: int):
        self.limit = limit  # a step back further than this is a new timeline, not a replay
        self.end: int | None = None  # the position after the last one answered for real

    def reset(self):
        self.end = None

    def fresh(self, position: int, n: int, real: int) -> int:
        """Where the block of ``n`` samples at ``position`` begins to answer positions
        not answered for real yet: 0 (all of it) up to ``n`` (none of it). Its first
        ``real`` samples answered their positions for real: that is recorded."""
        end = self.end
        if end is None or position >= end or position < end - self.limit:
            self.end = position + real  # no overlap (or a new timeline)
            return 0
        self.end = max(end, position + real)
        return min(end - position, n)
