"""Round trip, one-way delay, clock offset and jitter from ping/pong timestamps.

Each exchange gives NTP's four timestamps: t1 (ping sent, our clock), t2 (ping arrived,
peer's clock), t3 (pong sent, peer's clock), t4 (pong arrived, our clock). Then

    rtt    = (t4 - t1) - (t3 - t2)          time on the wire, both ways
    offset = ((t2 - t1) + (t3 - t4)) / 2    peer clock minus our clock

The offset is exact when both directions take equally long; queueing makes them unequal,
and the exchanges that queued least are those with the smallest round trip. So, as NTP's
clock filter does, the offset is taken from the smallest-rtt exchange among the recent
ones. The round trip reported is the median of a recent window (a retransmitted or
stalled exchange does not move it), and jitter is RFC 3550's smoothed mean of successive
one-way differences, each clamped so one outlier cannot dominate.
"""

from __future__ import annotations

import collections
import statistics


class LatencyTracker:
    def __init__(self, window: int = 32, filter_depth: int = 8):
        self._rtts = collections.deque(maxlen=window)
        self._filter = collections.deque(maxlen=filter_depth)  # (rtt, offset)
        self._last_one_way = None
        self.samples = 0
        self.rejected = 0
        self.jitter = 0.0  # seconds, one-way
        self.rtt_min = float("inf")
        self.last_rtt = float("nan")

    def add(self, t1: float, t2: float, t3: float, t4: float) -> bool:
        """One exchange, all in seconds. Returns False if it was impossible and ignored."""
        rtt = (t4 - t1) - (t3 - t2)
        if not (rtt >= 0.0 and t3 >= t2 and t4 >= t1):
            self.rejected += 1
            return False
        offset = ((t2 - t1) + (t3 - t4)) / 2.0
        self.samples += 1
        self.last_rtt = rtt
        self.rtt_min = min(self.rtt_min, rtt)
        self._rtts.append(rtt)
        self._filter.append((rtt, offset))
        one_way = rtt / 2.0
        if self._last_one_way is not None:
            d = abs(one_way - self._last_one_way)
            # clamp: a single stall counts as at most 4x the current jitter (plus 1 ms)
            d = min(d, 4.0 * self.jitter + 0.001)
            self.jitter += (d - self.jitter) / 16.0
        self._last_one_way = one_way
        return True

    @property
    def rtt(self) -> float:
        """Median round trip over the recent window, seconds (nan before the first pong)."""
        return statistics.median(self._rtts) if self._rtts else float("nan")

    @property
    def one_way(self) -> float:
        """One-way delay estimate, seconds: half the median round trip."""
        return self.rtt / 2.0

    @property
    def offset(self) -> float:
        """Peer clock minus ours, seconds, from the least-queued recent exchange."""
        if not self._filter:
            return float("nan")
        return min(self._filter)[1]

    def snapshot(self) -> dict:
        return {"rtt_ms": self.rtt * 1e3, "one_way_ms": self.one_way * 1e3, "offset_ms": self.offset * 1e3,
                "jitter_ms": self.jitter * 1e3, "rtt_min_ms": self.rtt_min * 1e3, "pings": self.samples}
