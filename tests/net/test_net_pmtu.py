"""Path MTU probing: a peer packs a block's CV and audio into one datagram where the path
carries it, finds the size a narrower path allows, and falls back when a path that
carried large datagrams stops doing so, without losing CV."""

import numpy as np

from modular.net import pmtu
from modular.net.pmtu import BASE_MTU, PathMtu
from modular.net.session import FrameReceived
from modular.net.simlink import Impairment
from modular.net.wire import Encoding
from netsim import BlockSender, Net

SR, B = 48000, 256


# ---------------------------------------------------------------- the search, alone


def _answer(p: PathMtu, now: float, passes) -> int | None:
    """Run one probe through a path that carries datagrams of at most ``passes`` bytes."""
    probe = p.probe(now)
    if probe is not None and probe[1] <= passes:
        p.acked(probe[0], now + 0.05)
    return probe and probe[1]


def test_the_largest_size_that_passes_is_used():
    p = PathMtu(0.0)
    assert p.mtu == BASE_MTU
    tried = [_answer(p, t, 1400) for t in np.arange(0.0, 12.0, 0.25)]
    assert p.mtu == 1392
    # three tries of 1452, a second apart, then 1392, and then nothing until the re-probe
    assert [s for s in tried if s] == [1452, 1452, 1452, 1392]


def test_nothing_larger_passes_then_it_waits_before_searching_again():
    p = PathMtu(0.0)
    sizes = [(t, _answer(p, t, 1200)) for t in np.arange(0.0, 80.0, 0.25)]
    sent = [(t, s) for t, s in sizes if s]
    assert p.mtu == BASE_MTU
    assert [s for _, s in sent[:9]] == [1452] * 3 + [1392] * 3 + [1280] * 3
    # the last failure is counted at 9 s; the next search starts a minute later
    assert sent[9][0] >= 9.0 + pmtu.SEARCH_AGAIN and sent[9][1] == 1452


def test_a_size_in_use_is_given_up_when_re_probes_stop_passing():
    p = PathMtu(0.0)
    _answer(p, 0.0, 1500)
    assert p.mtu == 1452
    t = 0.0
    while t < 200 and p.mtu == 1452:  # the path narrows at once: re-probes fail
        t += 0.25
        _answer(p, t, 1300)
    assert p.mtu == BASE_MTU and p.fallbacks == 1
    # three re-probes, 30 s apart and a second each: given up at about 32 s
    assert pmtu.CONFIRM_EVERY < t <= pmtu.CONFIRM_EVERY + pmtu.TRIES * pmtu.PROBE_WAIT + 0.25
    while t < 220 and p.mtu == BASE_MTU:  # and the search finds what the path carries now
        t += 0.25
        _answer(p, t, 1300)
    assert p.mtu == 1280


def test_a_peer_losing_our_audio_makes_us_give_up_large_datagrams_at_once():
    p = PathMtu(0.0)
    _answer(p, 0.0, 1500)
    p.reported_loss(0.02, 1.0)  # an ordinary lossy path: keep the size
    assert p.mtu == 1452
    p.reported_loss(0.9, 2.0)
    assert p.mtu == BASE_MTU and p.fallbacks == 1
    assert p.probe(2.0 + pmtu.SEARCH_AGAIN - 1) is None
    assert p.probe(2.0 + pmtu.SEARCH_AGAIN) is not None


def test_a_late_or_foreign_answer_raises_nothing():
    p = PathMtu(0.0)
    probe_id, _ = p.probe(0.0)
    assert p.probe(1.0)[0] != probe_id  # the first counted as lost
    p.acked(probe_id, 1.1)  # its answer, too late
    p.acked(12345, 1.2)
    assert p.mtu == BASE_MTU


# ---------------------------------------------------------------- two peers on a path


class Sender(BlockSender):
    """Per block: 16 CV channels holding their values (a few bytes each, as RUNS) and an
    int16 stereo audio frame of 1048 bytes: together about 1270 bytes, too many for 1200."""

    def __init__(self, net):
        super().__init__(net, B, SR)
        self.cv = np.zeros((16, B), np.float32)
        self.audio = np.zeros((2, B), np.float32)

    def send_block(self, s, now):
        self.cv[:, :] = (self.position // (8 * B)) % 7  # steps every 8 blocks
        self.audio[0] = np.sin(np.arange(self.position, self.position + B) * 0.05)
        s.send_frame(1, self.position, self.cv, now, cv=True)
        s.send_frame(2, self.position, self.audio, now, encoding=Encoding.INT16)


def _run(path_mtu: int, seconds: float, change=None):
    net = Net(Impairment(delay=0.01, mtu=path_mtu), b_to_a=Impairment(delay=0.01, mtu=path_mtu, seed=1))
    send = Sender(net)
    got = {1: {}, 2: {}}
    seen = [0]
    sent_at = {}

    def step(now):
        send(now)
        for _peer, ev in net.server_events[seen[0]:]:
            if isinstance(ev, FrameReceived):
                got[ev.frame.stream][ev.frame.position] = ev.frame
        seen[0] = len(net.server_events)
        sent_at.setdefault(round(now, 3), net.link.ab.impairment.sent)

    net.run(seconds / 2, step)
    if change:
        change(net)
    settled = net.link.ab.impairment.sent, send.position
    net.run(seconds / 2, step)
    # datagrams per block in the second half, once the search is over
    per_block = (net.link.ab.impairment.sent - settled[0]) / ((send.position - settled[1]) // B)
    return net, send, got, per_block


def test_cv_and_audio_of_a_block_share_a_datagram_where_the_path_carries_it():
    for path_mtu, expect in ((1500, 1452), (1400, 1392), (1300, 1280), (1250, BASE_MTU)):
        net, send, got, per_block = _run(path_mtu, 20.0)
        client, server = net.client.peer, net.server_peer()
        assert client.pmtu.mtu == expect and server.pmtu.mtu == expect, path_mtu
        blocks = send.position // B
        if expect >= 1280:
            assert per_block < 1.7, (path_mtu, per_block)  # CV + audio in one, parity now and then
        else:
            assert per_block > 2.0, (path_mtu, per_block)  # CV and audio apart, as ever
        # only the probes of sizes the path did not carry were lost to it
        assert net.link.ab.impairment.too_big <= 3 * sum(1 for s in pmtu.SIZES if s > path_mtu)
        # and everything arrived, CV bit for bit
        assert len(got[2]) >= blocks - 10 and len(got[1]) >= blocks - 10
        for p in list(got[1])[::50]:
            assert got[1][p].samples().tobytes() == np.full((16, B), (p // (8 * B)) % 7, np.float32).tobytes()


def test_a_path_that_narrows_costs_a_moment_of_audio_and_no_cv():
    def narrow(net):
        net.link.ab.impairment.mtu = 1250  # a block's datagram of CV and audio no longer passes
        net.link.ba.impairment.mtu = 1250
        narrow.at = send_position(net)

    def send_position(net):
        return net.client.session._seq.get(2, 0) * B

    net, send, got, _ = _run(1500, 70.0, narrow)
    client = net.client.peer
    assert client.pmtu.fallbacks == 1
    assert client.pmtu.mtu == BASE_MTU and client.pmtu.probes_sent == 2  # no search for a minute
    audio = sorted(got[2])
    missing = sorted(set(range(0, send.position - 20 * B, B)) - set(audio))
    # the audio lost is what went before the server's REPORT told: about a second (measured:
    # 0.65 s), right after the change
    assert missing and missing[0] >= narrow.at - B and missing[-1] < narrow.at + 2 * SR
    cv = sorted(got[1])
    assert cv == list(range(0, len(cv) * B, B)) and len(cv) >= send.position // B - 20  # every CV block
