"""The latency tracker recovers a path's delay and the clock offset between two hosts."""

import random

import pytest

from modular.net.latency import LatencyTracker


def exchanges(n, delay, jitter, offset, seed=1, stall_every=0):
    """Ping/pong timestamps over a path of `delay` ± `jitter` each way; the peer's clock
    reads `offset` ahead of ours; every `stall_every`th exchange is held 200 ms one way."""
    rng = random.Random(seed)
    t = 100.0
    for i in range(n):
        fwd = delay + rng.uniform(-jitter, jitter)
        back = delay + rng.uniform(-jitter, jitter)
        if stall_every and i % stall_every == stall_every - 1:
            back += 0.2
        t1 = t
        t2 = t1 + fwd + offset
        t3 = t2 + 0.0003
        t4 = t3 - offset + back
        yield t1, t2, t3, t4
        t += 0.25


def test_converges_to_delay_and_offset():
    lt = LatencyTracker()
    for ts in exchanges(200, delay=0.025, jitter=0.005, offset=123.456):
        lt.add(*ts)
    assert lt.rtt == pytest.approx(0.050, abs=0.002)
    assert lt.one_way == pytest.approx(0.025, abs=0.001)
    assert lt.offset == pytest.approx(123.456, abs=0.0015)
    # mean |difference| of two independent uniform ±5 ms draws, halved, is about 1.7 ms
    assert 0.0008 < lt.jitter < 0.004


def test_robust_to_stalled_exchanges():
    lt = LatencyTracker()
    for ts in exchanges(200, delay=0.020, jitter=0.001, offset=-3.0, stall_every=7):
        lt.add(*ts)
    assert lt.rtt == pytest.approx(0.040, abs=0.002)  # the 200 ms stalls do not move the median
    assert lt.offset == pytest.approx(-3.0, abs=0.001)
    # a rare stall moves jitter a little, not by its 200 ms
    rare = LatencyTracker()
    for ts in exchanges(400, delay=0.020, jitter=0.001, offset=-3.0, stall_every=50):
        rare.add(*ts)
    assert rare.jitter < 0.003


def test_impossible_exchanges_are_ignored():
    lt = LatencyTracker()
    assert not lt.add(10.0, 5.0, 4.0, 11.0)  # pong sent before the ping arrived
    assert not lt.add(10.0, 5.0, 5.0, 9.0)  # answer before the question
    assert lt.rejected == 2 and lt.samples == 0
