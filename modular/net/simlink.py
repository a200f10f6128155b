"""A deterministic lossy link under a virtual clock, for tests and benchmarks.

``Impairment`` decides each datagram's fate (lost, or delivered at which times); it is
shared with the real-time UDP relay (impair.py) so both behave the same for a seed.

- loss: Gilbert-Elliott. A two-state chain, good (nothing lost) and bad (everything
  lost); the mean loss is ``loss`` and bad spells last ``burst`` datagrams on average.
  ``burst=1`` is independent (Bernoulli) loss; with bursts, loss <= burst/(burst+1).
- delay and jitter: each datagram waits ``delay`` plus a uniform draw in ±``jitter``
  (never below 0), but not less than the one before it, so jitter alone keeps order
  (as a real path's queue does); ...
- reorder: ... except a ``reorder`` fraction, which ignore that rule and take an extra
  wait of up to 2·jitter + 2 ms, so later datagrams overtake them;
- dup: a ``dup`` fraction is delivered twice, the copy up to 1 ms later.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass


@dataclass
class Impairment:
    loss: float = 0.0  # fraction 0..1
    delay: float = 0.0  # seconds
    jitter: float = 0.0  # seconds, ± uniform
    burst: float = 1.0  # mean length of a loss spell, datagrams
    reorder: float = 0.0  # fraction
    dup: float = 0.0  # fraction
    seed: int = 0
    down: bool = False  # the link is cut: everything is lost (for tests of timeouts)
    mtu: int = 0  # largest UDP payload the path carries (0: any): larger datagrams vanish, as with DF set

    def __post_init__(self):
        if not 0.0 <= self.loss < 1.0:
            raise ValueError("loss must be in [0, 1)")
        if self.burst < 1.0:
            raise ValueError("burst must be >= 1 datagram")
        self._rng = random.Random(self.seed)
        self._bad = False
        self._floor = 0.0  # latest delivery time so far, for in-order delivery
        # bad -> good with 1/burst; good -> bad chosen so the bad state's share is `loss`
        self._p_recover = 1.0 / self.burst
        self._p_fail = self._p_recover * self.loss / (1.0 - self.loss)
        if self._p_fail > 1.0:
            raise ValueError(f"loss {self.loss} cannot have spells as short as {self.burst} on average")
        self.sent = self.lost = self.duplicated = self.reordered = self.too_big = 0

    def fate(self, now: float, size: int = 0) -> list[float]:
        """Delivery times of one datagram of ``size`` bytes sent at ``now``: [] if lost,
        two if duplicated."""
        rng = self._rng
        self.sent += 1
        if self.mtu and size > self.mtu:
            self.too_big += 1
            return []
        if self.down:
            self.lost += 1
            return []
        if self.burst == 1.0:  # independent losses
            self._bad = rng.random() < self.loss
        elif self._bad:
            self._bad = rng.random() >= self._p_recover
        else:
            self._bad = rng.random() < self._p_fail
        if self._bad:
            self.lost += 1
            return []
        t = now + max(0.0, self.delay + (rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0))
        if self.reorder and rng.random() < self.reorder:
            self.reordered += 1
            t = max(t, self._floor) + rng.uniform(0.0, 2.0 * self.jitter + 0.002)
        else:
            t = max(t, self._floor)
            self._floor = t
        times = [t]
        if self.dup and rng.random() < self.dup:
            self.duplicated += 1
            times.append(t + rng.uniform(0.0, 0.001))
        return times


class SimPath:
    """One direction of a simulated link: datagrams in, datagrams out when their time comes."""

    def __init__(self, impairment: Impairment):
        self.impairment = impairment
        self._heap: list = []
        self._n = 0  # tie-breaker keeps equal times in send order
        self.delivered = 0

    def send(self, datagram: bytes, now: float):
        for t in self.impairment.fate(now, len(datagram)):
            heapq.heappush(self._heap, (t, self._n, datagram))
            self._n += 1

    def receive(self, now: float) -> list[bytes]:
        out = []
        while self._heap and self._heap[0][0] <= now:
            out.append(heapq.heappop(self._heap)[2])
        self.delivered += len(out)
        return out

    @property
    def next_time(self) -> float:
        return self._heap[0][0] if self._heap else float("inf")


class SimLink:
    """Both directions between endpoints A and B, each with its own impairment and seed."""

    def __init__(self, a_to_b: Impairment, b_to_a: Impairment | None = None):
        if b_to_a is None:  # the same impairment the other way, with its own random stream
            b_to_a = Impairment(a_to_b.loss, a_to_b.delay, a_to_b.jitter, a_to_b.burst,
                                a_to_b.reorder, a_to_b.dup, a_to_b.seed + 1)
        self.ab = SimPath(a_to_b)
        self.ba = SimPath(b_to_a)

    @property
    def next_time(self) -> float:
        return min(self.ab.next_time, self.ba.next_time)
