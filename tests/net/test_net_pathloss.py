"""Parity sized by the path: the receiver reports the audio it lost, and the sender
sends as many parity pieces as that loss needs, a quarter of them on a clean path and
all of them as soon as the path turns lossy."""

from modular.net import wire
from modular.net.fec import PARITY_INDEX, pieces_for
from modular.net.kcp_link import _messages, unseal
from modular.net.pathloss import LOSS_HOLD, REPORT_FRAMES, REPORT_STALE, InboundLoss, ReportedLoss
from modular.net.session import FrameReceived
from modular.net.simlink import Impairment
from netsim import Net
from test_net_fec import B, AudioSender


def test_parity_needed_grows_with_the_loss():
    assert pieces_for(0.0, 4, 4) == 1  # one loss in a group is always repaired
    assert [pieces_for(p, 4, 4) for p in (0.001, 0.01, 0.05)] == [1, 3, 4]
    assert pieces_for(0.3, 4, 4) == 4 and pieces_for(0.3, 4, 2) == 2  # never more than there are


def test_the_receiver_reports_the_fraction_of_frames_it_missed():
    meter = InboundLoss(0.0)
    seq, now = 0, 0.0
    for i in range(2000):
        if i % 20 != 7:  # 5 % never arrive
            meter.frame(3, seq)
        seq += 1
        now += 0.001
        if i == REPORT_FRAMES // 2:
            assert meter.report(now + 1.0) is None  # too few frames yet to say anything
    report = wire.decode(meter.report(now))
    assert abs(report.loss / wire.LOSS_SCALE - 0.05) < 0.002
    assert meter.report(now) is None  # not again before the interval is over
    # a frame that comes late is not counted twice; a relay adds the loss further on
    meter.extra = 0.10
    for s in range(seq, seq + 300):
        if s % 50 == 0:
            meter.frame(3, s + 1)
            meter.frame(3, s)
        elif s % 50 != 1:
            meter.frame(3, s)
    report = wire.decode(meter.report(now + 1.0))
    assert abs(report.loss / wire.LOSS_SCALE - 0.10) < 0.002


def test_the_sender_protects_for_the_worst_report_lately_and_for_anything_when_reports_stop():
    r = ReportedLoss()
    assert r.loss(0.0) == 1.0 and r.pieces(0.0, 4, 4) == 4  # nothing heard: all pieces
    r.add(wire.Report(0), 1.0)
    assert r.pieces(1.1, 4, 4) == 1
    r.add(wire.Report(round(0.05 * wire.LOSS_SCALE)), 2.0)
    t = 2.0
    while t < 2.0 + LOSS_HOLD - 1:  # a lossy spell is remembered ...
        t += 0.5
        r.add(wire.Report(0), t)
        assert r.pieces(t, 4, 4) == 4
    for _ in range(4):  # ... for LOSS_HOLD
        t += 0.5
        r.add(wire.Report(0), t)
    assert r.pieces(t, 4, 4) == 1
    assert r.pieces(t + REPORT_STALE + 0.1, 4, 4) == 4  # reports stopped: the path may be gone bad


def test_a_clean_path_gets_a_quarter_of_the_parity_and_a_lossy_one_all_of_it():
    net = Net(Impairment(loss=0.0, delay=0.010, jitter=0.002, seed=5))
    send = AudioSender(net)
    got = set()
    seen = [0]

    def step(now):
        send(now)
        for _peer, ev in net.server_events[seen[0]:]:
            if isinstance(ev, FrameReceived):
                got.add(ev.frame.position)
        seen[0] = len(net.server_events)

    net.run(3.0, step)
    sender = net.client.peer
    withheld, pieces = sender.parity_withheld, sender.fec.groups * sender.fec.m
    net.run(4.0, step)
    groups = sender.fec.groups * sender.fec.m - pieces
    assert sender.parity_withheld - withheld == 3 * groups // 4  # clean: 1 piece of 4 per group
    assert sender.reported.loss(net.now) == 0.0
    net.link.ab.impairment.loss = 0.05  # the path turns lossy
    net.run(1.5, step)
    withheld = sender.parity_withheld
    turned = send.position
    net.run(8.0, step)
    assert sender.parity_withheld == withheld  # every piece again
    assert 0.03 < sender.reported.loss(net.now) < 0.08
    missing = [p for p in range(turned, send.position - 20 * B, B) if p not in got]
    assert net.server_peer().fec_rx.recovered > 200
    assert len(missing) <= 2, f"{len(missing)} frames lost for good"


def test_withheld_pieces_are_the_highest_indices():
    """A receiver rebuilds from any k pieces, but the pieces a path does not need are
    those beyond the first: forwarded and own parity both keep indices 0..n-1."""
    net = Net(Impairment(loss=0.0, delay=0.005, seed=6))
    send = AudioSender(net)
    sent = []
    orig = net.link.ab.send

    def spy(d, now):
        sent.append(d)
        orig(d, now)
    net.link.ab.send = spy
    net.run(4.0, send)
    token = net.client.session.token
    indices = []
    for d in sent[len(sent) // 2:]:
        if d[3] != wire.MsgType.DATAGRAM:
            continue
        for m in _messages(unseal(token, d)):
            if m[3] == wire.MsgType.PARITY:
                indices.append(m[PARITY_INDEX])
    assert indices and set(indices) == {0}
