"""One datagram a block each way: KCP output rides in the DATAGRAM that carries the audio
(SEGMENT messages), so a broadcaster's CV goes with its audio and a listener's acks with
its return; and relayed audio keeps the parity its sender made, end to end. Sans-I/O,
through simulated links under a virtual clock."""

import collections

import numpy as np

from modular.net import wire
from modular.net.kcp_link import SEALED_OVERHEAD, SEGMENT_HEADER, seal_datagram
from modular.net.simlink import Impairment
from modular.server.client import BroadcastFrame, ReturnFrame, StreamSpec

from .radiosim import RadioNet
from .test_server_sim import Broadcaster

B = 64
CV16 = StreamSpec(1, 16, cv=True)
AUDIO2 = StreamSpec(2, 2, cv=False, encoding=wire.Encoding.INT16)
RETURN = StreamSpec(1, 2, cv=False, encoding=wire.Encoding.INT16, answers=1)


def cv_block(position):
    """16 CV channels that step once a block (a clock and held pitches, as a SEQ makes)."""
    block = np.empty((16, B), np.float32)
    for k in range(16):
        block[k] = ((position // B) * (k + 1)) % 1000 * 0.01
    return block


class Scene:
    def __init__(self, listeners=2, impairment=None, seed=4):
        self.net = RadioNet(seed=seed)
        imp = impairment or (lambda i: None)
        self.b = self.net.add("alice", imp(0))
        self.b.peer.register("jam", b"tok", streams=(CV16, AUDIO2))
        self.ls = [self.net.add(f"l{i}", imp(i + 1)) for i in range(listeners)]
        for sp in self.ls:
            sp.peer.subscribe("jam", returns=(RETURN,))
        self.tx = Broadcaster(self.b, cv_block)
        self.cv = [dict() for _ in self.ls]
        self.audio_at = [set() for _ in self.ls]  # broadcast audio positions each listener got
        self.returns = collections.defaultdict(set)  # slot -> positions of its returns

    @property
    def position(self):
        return self.tx.position

    def step(self, now):
        p = self.b.peer
        self.tx(now)
        for e in p.events():
            if type(e) is ReturnFrame:
                self.returns[e.slot].add(e.frame.position)
        for i, sp in enumerate(self.ls):
            for e in sp.peer.events():
                if type(e) is BroadcastFrame and e.frame.stream == 2:
                    self.audio_at[i].add(e.frame.position)
                if type(e) is BroadcastFrame and e.frame.stream == 1:
                    self.cv[i][e.frame.position] = e.frame.samples()
                    sp.peer.send_return(1, e.frame.position, np.full((2, B), 0.1 * (i + 1), np.float32), now)

    def count_datagrams(self, seconds):
        """Datagrams per block sent by the broadcaster, by each listener and by the server."""
        sent = collections.Counter()

        def counted(name, take):
            def f():
                out = take()
                sent[name] += len(out)
                return out
            return f

        self.b.peer.take_datagrams = counted("broadcaster", self.b.peer.take_datagrams)
        for sp in self.ls:
            sp.peer.take_datagrams = counted("listener", sp.peer.take_datagrams)
        self.net.server.take_datagrams = counted("server", self.net.server.take_datagrams)
        first = self.position
        self.net.run(seconds, self.step)
        blocks = (self.position - first) // B
        n = len(self.ls)
        return {"broadcaster": sent["broadcaster"] / blocks, "listener": sent["listener"] / blocks / n,
                "server": sent["server"] / blocks / n}


def test_a_block_travels_in_one_datagram_each_way():
    s = Scene(listeners=3)
    s.net.run(1.0, s.step)
    rate = s.count_datagrams(2.0)
    # CV (KCP) and audio with its parity leave the broadcaster together; a listener's
    # acks leave with its return; the server sends each listener one datagram a block,
    # and the broadcaster its returns, several to a datagram
    assert rate["broadcaster"] < 1.05, rate
    assert rate["listener"] < 1.05, rate
    assert rate["server"] < 2.0, rate
    for cv in s.cv:  # and what rode together arrived: every CV block, bit for bit
        pos = sorted(cv)
        assert pos == list(range(pos[0], pos[-1] + B, B))
        assert len(pos) > 600
        assert all(np.array_equal(cv[p], cv_block(p)) for p in pos)
    assert set(s.returns) == {0, 1, 2}


def test_cv_riding_with_audio_is_resent_bit_for_bit_through_loss():
    s = Scene(listeners=2, impairment=lambda i: Impairment(loss=0.05, delay=0.01, jitter=0.003, seed=20 + i))
    s.net.run(3.0, s.step)
    for cv in s.cv:
        pos = sorted(cv)
        assert len(pos) > 1800
        assert pos == list(range(pos[0], pos[-1] + B, B))  # none missing: a lost SEGMENT is resent
        assert all(np.array_equal(cv[p], cv_block(p)) for p in pos)
    assert s.net.server.hub.returns_rejected == 0


def test_a_bad_segment_in_an_authentic_datagram_costs_only_itself():
    s = Scene(listeners=1)
    s.net.run(1.0, s.step)
    server = s.net.server.udp
    peer = next(p for p in server.peers.values() if p.session.peer_name == "l0")
    token, sid = peer.session.token, peer.session.session_id
    rejected = peer.session.rejected
    before = len(s.cv[0])
    ping = wire.encode(wire.Ping(77, 123))
    for junk in (b"", b"\x01\x02\x03", sid.to_bytes(4, "little") + bytes(30), (sid ^ 1).to_bytes(4, "little") + bytes(40)):
        d = seal_datagram(token, sid, [SEGMENT_HEADER + junk, ping])
        assert d[3] == wire.MsgType.DATAGRAM and len(d) > SEALED_OVERHEAD
        s.net.inject.append((d, s.ls[0].addr))
        s.net.run(0.01, s.step)
    assert peer.session.rejected == rejected + 4  # each bad SEGMENT counted ...
    assert peer.session.state.value == "established"  # ... and the session, its KCP and the stream go on
    s.net.run(0.5, s.step)
    assert len(s.cv[0]) > before + 300
    pos = sorted(s.cv[0])
    assert pos == list(range(pos[0], pos[-1] + B, B))


def test_relayed_audio_keeps_its_senders_parity_end_to_end():
    """The server forwards the broadcaster's parity to every listener and each
    listener's (adjusted to its slot) to the broadcaster, coding nothing itself: a frame
    lost on either hop is rebuilt at the far end."""
    s = Scene(listeners=3, impairment=lambda i: Impairment(loss=0.05, delay=0.01, jitter=0.002, seed=40 + i))
    s.net.run(4.0, s.step)
    made = sum(p.fec.groups for p in s.net.server.udp.peers.values())
    relayed = s.net.server.hub.relayed_frames + s.net.server.hub.return_frames
    assert relayed > 10_000 and made <= 2 * len(s.net.server.udp.peers)  # at most the groups before the first PARITY
    end = s.position - 40 * B  # what is still on its way is not counted
    for i, got in enumerate(s.audio_at):
        want = set(range(min(got), end, B))
        assert len(want - got) <= 0.002 * len(want), f"listener {i} lost {len(want - got)} of {len(want)}"
        assert s.ls[i].peer._udp.peer.fec_rx.recovered > 0.02 * len(want)  # ~10 % lost over two hops
    assert set(s.returns) == {0, 1, 2}
    for slot, got in s.returns.items():
        want = set(range(min(got), end - 40 * B, B))
        # two hops of 5 % each way: about 0.2 % stays lost (0.17 % over five seeds), not 10 %
        assert len(want - got) <= 0.005 * len(want), f"slot {slot} lost {len(want - got)} of {len(want)}"
    assert s.b.peer._udp.peer.fec_rx.recovered > 0.02 * 3 * len(want)
    # a frame rebuilt at the far end is the relayed one byte for byte: when the real one
    # comes late, it is a duplicate, never taken for another sender's (which would
    # forget the stream's parity and deliver the frame twice)
    assert s.b.peer._udp.peer.fec_rx.restarts == 0 and s.b.peer._udp.peer.fec_rx.duplicates > 0
    assert all(l.peer._udp.peer.fec_rx.restarts == 0 for l in s.ls)


def test_parity_follows_each_listeners_path_and_the_broadcaster_covers_the_worst():
    """Each listener is sent as many of the broadcaster's parity pieces as its reported
    loss needs (1 of 4 on a clean path); the broadcaster is told the worst listener's
    loss, since its pieces are the ones they all get; audio arrives whole everywhere."""
    lossy = 2  # the last of three listeners
    s = Scene(listeners=3, impairment=lambda i: Impairment(loss=0.05, delay=0.01, seed=70) if i == lossy + 1 else None)
    s.net.run(3.0, s.step)
    first = s.position
    server = s.net.server.udp
    to = {p.session.peer_name: p for p in server.peers.values()}
    withheld = {name: p.parity_withheld for name, p in to.items()}
    b = s.b.peer._udp.peer
    b_withheld = b.parity_withheld
    s.net.run(3.0, s.step)
    groups = (s.position - first) // B // 4
    now = s.net.now
    for i in range(3):
        p = to[f"l{i}"]
        skipped = p.parity_withheld - withheld[f"l{i}"]
        if i == lossy:
            assert skipped == 0 and p.reported.loss(now) > 0.02  # all 4 pieces
        else:
            assert abs(skipped - 3 * groups) <= 6, (i, skipped, groups)  # 1 of 4 pieces
            assert p.reported.loss(now) == 0.0
    assert b.reported.loss(now) > 0.02 and b.parity_withheld == b_withheld  # all 4: the worst path's needs
    end = s.position - 40 * B
    for i, got in enumerate(s.audio_at):
        want = set(range(first, end, B))
        assert len(want - got) <= 2, (i, len(want - got))
