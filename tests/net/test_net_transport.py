"""Two endpoints on loopback, run by the network thread: CV arrives bit for bit over
KCP/UDP through the impairment relay at 5 % loss, and over TCP."""

import time

import numpy as np
import pytest

from modular.net import transport
from modular.net.endpoint import LinkEndpoint
from modular.net.impair import ImpairRelay
from modular.net.netthread import NetThread
from modular.net.simlink import Impairment

SR, B = 48000, 64


def cv_block(position):
    t = np.arange(position, position + B, dtype=np.int64)
    return np.stack([t.astype(np.float32), np.sin(t * 0.01).astype(np.float32)])


def run_audio(ends, seconds):
    """A stand-in audio thread: on a real-time schedule, every endpoint sends a CV block
    and plays one, never waiting on the network."""
    out = np.zeros((2, B), np.float32)
    played = {id(e): [] for e in ends}
    pos = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        due = int((time.monotonic() - t0) * SR / B)
        while pos // B < due:
            for e in ends:
                e.send(pos, cv_block(pos))
                e.receive(out)
                played[id(e)].append(out.copy())
            pos += B
        time.sleep(0.002)
    return [np.concatenate(played[id(e)], axis=1) for e in ends]


def check_cv(y):
    start = int(np.argmax(y[0] > 0))
    assert start < y.shape[1] - SR  # at least a second of signal
    played = y[:, start:]
    fresh = np.concatenate([[True], np.diff(played[0]) != 0])
    pos = played[0, fresh].astype(np.int64)
    assert np.all(np.diff(pos) >= 1)
    assert played[1, fresh].tobytes() == np.sin(pos * 0.01).astype(np.float32).tobytes()
    return pos


@pytest.fixture
def net():
    n = NetThread().start()
    yield n
    n.stop()


def test_udp_kcp_through_the_relay_at_5_percent_loss(net):
    a = LinkEndpoint(2, 2, B, SR, cv=True, max_depth=200)
    b = LinkEndpoint(2, 2, B, SR, cv=True, max_depth=200)
    srv = net.add(transport.server(a, 0, host="127.0.0.1"))
    relay = ImpairRelay(0, ("127.0.0.1", srv.port), Impairment(loss=0.05, delay=0.01, jitter=0.002, seed=5))
    relay.start(duration=30)
    try:
        net.add(transport.client(b, "127.0.0.1", relay.port))
        ya, yb = run_audio([a, b], 4.0)
    finally:
        relay.stop()
    assert relay.up.lost > 20 and relay.down.lost > 20
    for y, e in ((ya, a), (yb, b)):
        pos = check_cv(y)
        assert e.rx.late == 0 and e.rx.lost == 0, e.rx.stats()  # waited for retransmissions, skipped nothing
        assert np.all(np.diff(pos) == 1), (e.rx.stats(), e.link_epoch, np.flatnonzero(np.diff(pos) != 1)[:5], pos[np.flatnonzero(np.diff(pos) != 1)[:3]])
    st = b.status
    assert st["connected"] and st["transport"] == "udp"
    assert 15 < st["rtt_ms"] < 40  # 2 x 10 ms through the relay
    assert st["mtu"] == a.status["mtu"] == 1452  # each end found that loopback carries large datagrams
    assert a.status["rejected"] == 0
    assert net.errors == []


def test_tcp_fallback(net):
    a = LinkEndpoint(2, 2, B, SR, cv=True)
    b = LinkEndpoint(2, 2, B, SR, cv=True)
    srv = net.add(transport.server(a, 0, transport=transport.TCP, host="127.0.0.1"))
    time.sleep(0.05)
    net.add(transport.client(b, "127.0.0.1", srv.port, transport=transport.TCP))
    ya, yb = run_audio([a, b], 2.5)
    for y in (ya, yb):
        check_cv(y)
    assert b.status["connected"] and b.status["transport"] == "tcp"
    assert a.rx.lost == 0 and b.rx.lost == 0
    assert net.errors == []


def test_peer_leaving_stops_the_buffer_and_the_counts(net):
    """After the client says BYE the server shows it gone: not connected, no latency, a
    depth of 0, and neither the depth nor the lost count keeps climbing while it waits.
    A new client is then played from its own start."""
    a = LinkEndpoint(2, 2, B, SR, cv=True, max_depth=128)
    b = LinkEndpoint(2, 2, B, SR, cv=True, max_depth=128)
    srv = net.add(transport.server(a, 0, host="127.0.0.1"))
    cli = net.add(transport.client(b, "127.0.0.1", srv.port))
    run_audio([a, b], 1.5)
    assert a.status["connected"] and a.rx.started
    lost, underruns = a.rx.lost, a.rx.underruns  # (the first blocks may have waited for the link)
    net.remove(cli)
    ya, = run_audio([a], 1.5)
    st = a.status
    assert not st["connected"] and st["depth"] == 0.0 and st["fill"] == 0.0, st
    assert st["rtt_ms"] != st["rtt_ms"], "no latency figures for a departed peer"
    assert a.rx.lost == lost and a.rx.underruns == underruns, a.rx.stats()
    assert np.all(ya[:, -SR // 2:] == ya[:, -1:]), "CV holds its last value"
    b2 = LinkEndpoint(2, 2, B, SR, cv=True, max_depth=128)
    net.add(transport.client(b2, "127.0.0.1", srv.port))
    ya, _ = run_audio([a, b2], 2.0)
    assert a.status["connected"] and a.rx.lost == 0, a.rx.stats()
    # played from its own start: a buffer that had kept waiting for the departed peer
    # would be at max_depth (128) after its 1.5 s; a stall of the machine may add a few
    assert a.status["depth"] < 32, a.status
    check_cv(ya[:, -3 * SR // 2:])
    assert net.errors == []
