"""A KCP link asks to be ticked only while something of its own is unacknowledged, and
a segment lost on the way is still resent by those ticks; KCP output riding in DATAGRAMs
keeps each datagram within the MTU."""

import math

from modular.net import wire
from modular.net.kcp_link import SEGMENT_HEADER, KcpLink, open_datagram, pack_datagrams

TOKEN = bytes(range(16))


def _first_resend(link, now, until):
    """Tick ``link`` at each deadline it names until it sends something (or ``until``)."""
    while link.next_deadline <= until:
        now = max(now, link.next_deadline)
        link.tick(now)
        out = link.take_datagrams()
        if out:
            return now, out
    return now, []


def test_idle_link_needs_no_ticks_and_a_lost_segment_is_resent():
    now = 100.0
    a, b = KcpLink(7, TOKEN, now), KcpLink(7, TOKEN, now)
    a.take_datagrams(), b.take_datagrams()
    assert math.isinf(a.next_deadline) and math.isinf(b.next_deadline)

    a.send(b"cv block 1", now)
    a.flush(now)
    lost = a.take_datagrams()
    assert len(lost) == 1  # ... and the path drops it
    assert a.next_deadline <= now + a.interval  # its retransmission timer runs

    now, resent = _first_resend(a, now, now + 1.0)
    assert len(resent) == 1 and now - 100.0 < 0.25  # KCP's first timeout (no round trip measured yet): 200 ms
    got = b.datagram_received(resent[0], now)
    assert got == [b"cv block 1"]
    assert math.isinf(b.next_deadline)  # it has sent nothing of its own: its ack goes out with the take
    for d in b.take_datagrams():
        a.datagram_received(d, now + 0.001)
    a.take_datagrams()
    assert math.isinf(a.next_deadline)  # acknowledged: nothing left to time


def test_segments_riding_in_datagrams_are_split_at_the_mtu():
    """Several KCP outputs ready at once (CV frames of 700 bytes) and an audio frame: no
    datagram may exceed the MTU, or a path that carries exactly that would lose them."""
    segments = [bytes([7, 0, 0, 0]) + bytes([i]) * 696 for i in range(3)]
    audio = wire.header(wire.MsgType.FRAME) + bytes(300)
    for mtu, datagrams in ((1200, 3), (1452, 2)):
        out = pack_datagrams(TOKEN, 7, segments, [audio], mtu)
        assert all(len(d) <= mtu for d in out), (mtu, [len(d) for d in out])
        messages = [m for d in out for m in open_datagram(TOKEN, 7, d)]
        assert messages == [SEGMENT_HEADER + seg for seg in segments] + [audio]  # all, in order
        assert len(out) == datagrams  # and no more datagrams than the MTU asks for


def test_acks_wait_for_a_datagram_to_ride_in_but_not_for_long():
    """With an ack delay, a receiver that sends nothing of its own acks at most every
    ack_delay: half the datagrams for a listener of frames of 256 (5.3 ms apart). An ack
    that finds a DATAGRAM leaving (take_segments) goes with it at once."""
    now = 100.0
    a, b = KcpLink(7, TOKEN, now), KcpLink(7, TOKEN, now, ack_delay=0.010)
    a.take_datagrams(), b.take_datagrams(now)
    acks, t = [], now
    for k in range(20):  # a CV frame every 5.3 ms; b ticks and takes whenever it is due
        t = now + k * 0.00533
        a.send(b"cv %d" % k, t)
        a.flush(t)
        for d in a.take_datagrams():
            assert b.datagram_received(d, t) == [b"cv %d" % k]
        while b.next_deadline <= t + 0.00533:
            tb = max(t, b.next_deadline)
            b.tick(tb)
            for d in b.take_datagrams(tb):
                acks.append(tb)
                a.datagram_received(d, tb)
                a.take_datagrams()
    gaps = [y - x for x, y in zip(acks, acks[1:])]
    assert 9 <= len(acks) <= 11 and min(gaps) >= 0.0099, acks  # every other frame
    assert a.backlog == 0  # everything acknowledged all the same
    b.datagram_received(_sent(a, b"one more", t + 0.001), t + 0.001)
    assert b.take_segments() and not b.take_datagrams(t + 0.002)  # rode along: nothing left


def _sent(link, message, now):
    link.send(message, now)
    link.flush(now)
    (d,) = link.take_datagrams()
    return d
