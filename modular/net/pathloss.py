"""Parity sized by the path's loss: what a receiver measures and reports, and what a
sender makes of the reports. Sans-I/O, one of each per UDP session.

Coding every group with all its parity pieces protects against 5 % loss on every path,
and doubles the audio bytes on a clean one; at a relay with a hundred listeners that is
a hundred copies of parity nobody needs. So the receiver of audio counts its peer's
audio FRAMEs that arrived as datagrams against those it expected by sequence number
(before FEC rebuilt any) and, every REPORT_INTERVAL while audio arrives (and once it has
counted REPORT_FRAMES, so that a clean spell means something), sends REPORT with the
fraction lost. A relay combines that with ``extra``, the loss further on for
the audio it forwards with its sender's parity: the radio server tells a broadcaster
the worst of its listeners' paths, since the pieces it sends are the ones they get.

The sender protects for the worst report of the last LOSS_HOLD seconds (loss comes in
spells), with the fewest pieces that keep a group's loss below fec.GROUP_FAILURE
(fec.pieces_for). With no REPORT for REPORT_STALE seconds (none yet, or the reports
are lost too) it sends every piece.
"""

from __future__ import annotations

import collections

from . import wire
from .fec import pieces_for

REPORT_INTERVAL = 0.5  # seconds between REPORTs while audio arrives, at the least ...
REPORT_FRAMES = 256  # ... and frames counted: fewer say too little (none of 100 lost is no proof of a clean path)
REPORT_LONGEST = 2.0  # seconds: a sparse stream is reported on what it had by then
REPORT_STALE = 3.0  # seconds without a REPORT after which a sender sends all its parity
LOSS_HOLD = 10.0  # seconds a reported loss keeps its protection
_MAX_GAP = 256  # frames: a larger jump of seq is a restarted stream, not that many losses


class InboundLoss:
    """The receiving end: counts the peer's audio frames, makes the REPORTs."""

    __slots__ = ("_next", "arrived", "expected", "extra", "next_report", "last")

    def __init__(self, now: float):
        self._next: dict[int, int] = {}  # stream -> the seq expected next
        self.arrived = 0  # in this interval, straight from the wire
        self.expected = 0  # in this interval, by sequence number
        self.extra = 0.0  # loss further on, for audio a relay forwards
        self.next_report = now + REPORT_INTERVAL
        self.last = 0.0  # the loss in the last REPORT sent

    def frame(self, stream: int, seq: int):
        """An audio frame that arrived as a datagram (new: not a duplicate, not rebuilt)."""
        self.arrived += 1
        nxt = self._next.get(stream)
        if nxt is not None:
            ahead = (seq - nxt) & 0xFFFFFFFF
            if ahead >= 0x80000000:
                return  # reordered: counted as expected when its successor came
            self.expected += 1 + (ahead if ahead <= _MAX_GAP else 0)
        else:
            self.expected += 1
        self._next[stream] = (seq + 1) & 0xFFFFFFFF

    def report(self, now: float) -> bytes | None:
        """The REPORT message when one is due (audio arrived since the last), else None."""
        if now < self.next_report or not self.expected:
            return None
        if self.expected < REPORT_FRAMES and now < self.next_report + REPORT_LONGEST - REPORT_INTERVAL:
            return None
        lost = max(0, self.expected - self.arrived) / self.expected
        self.arrived = self.expected = 0
        self.next_report = now + REPORT_INTERVAL
        self.last = min(1.0, 1.0 - (1.0 - lost) * (1.0 - self.extra))
        return wire.encode(wire.Report(round(self.last * wire.LOSS_SCALE)))


class ReportedLoss:
    """The sending end: the peer's REPORTs, and how many parity pieces they call for."""

    __slots__ = ("_reports", "_worst", "_last")

    def __init__(self):
        self._reports: collections.deque[tuple[float, float]] = collections.deque()
        self._worst = 1.0
        self._last = float("-inf")

    def add(self, report: wire.Report, now: float):
        self._reports.append((now, min(1.0, report.loss / wire.LOSS_SCALE)))
        while now - self._reports[0][0] > LOSS_HOLD:
            self._reports.popleft()
        self._worst = max(loss for _, loss in self._reports)
        self._last = now

    @property
    def known(self) -> bool:
        """Whether the peer has reported at all (it does once our audio reaches it)."""
        return bool(self._reports)

    def loss(self, now: float) -> float:
        """The loss to protect against: the worst reported lately; 1.0 when there is no
        report, or none lately (the reports are lost too)."""
        return self._worst if now - self._last <= REPORT_STALE else 1.0

    def pieces(self, now: float, k: int, m: int) -> int:
        return pieces_for(self.loss(now), k, m)
