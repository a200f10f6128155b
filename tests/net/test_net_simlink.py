"""The simulated link does what its parameters say, the same way for the same seed."""

import pytest

from modular.net.simlink import Impairment, SimPath


def run(imp, n=20_000, rate=1000.0):
    path = SimPath(imp)
    got = []
    for i in range(n):
        path.send(i.to_bytes(4, "big"), i / rate)
        got += [(int.from_bytes(d, "big"), i / rate) for d in path.receive(i / rate)]
    got += [(int.from_bytes(d, "big"), None) for d in path.receive(1e9)]
    return path, got


def test_loss_and_burst_length():
    imp = Impairment(loss=0.05, burst=4.0, seed=3)
    _, got = run(imp)
    received = {i for i, _ in got}
    assert 1 - len(received) / 20_000 == pytest.approx(0.05, abs=0.01)
    lost = sorted(set(range(20_000)) - received)
    runs = 1 + sum(1 for a, b in zip(lost, lost[1:]) if b != a + 1)
    assert len(lost) / runs == pytest.approx(4.0, rel=0.25)


def test_delay_jitter_keep_order_reorder_and_dup_do_not():
    _, got = run(Impairment(delay=0.02, jitter=0.005, seed=1), n=5000)
    ids = [i for i, _ in got]
    assert ids == sorted(ids) and len(ids) == 5000
    imp = Impairment(delay=0.02, jitter=0.005, reorder=0.05, dup=0.02, seed=1)
    _, got = run(imp, n=5000)
    ids = [i for i, _ in got]
    assert ids != sorted(ids)
    assert len(ids) - len(set(ids)) == imp.duplicated > 50
    assert imp.reordered == pytest.approx(250, rel=0.25)


def test_same_seed_same_fate():
    a = [Impairment(loss=0.1, jitter=0.01, burst=2, seed=9).fate(i * 0.001) for i in range(100)]
    b = [Impairment(loss=0.1, jitter=0.01, burst=2, seed=9).fate(i * 0.001) for i in range(100)]
    assert a == b
