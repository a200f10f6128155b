"""The radio server's directory and relay, sans-I/O, under a virtual clock through
simulated links: registration and tokens, listing, fan-out with returns, rejection of
returns from non-listeners, expiry, joins and leaves, a server restart."""

import numpy as np
import pytest

from modular.net.simlink import Impairment
from modular.net.wire import Encoding, ErrorCode
from modular.server.client import (BroadcastFrame, HandleGone, ListenerCount, Listing, Refused, Registered,
                                   ReturnFrame, ServerError, SlotChanged, StreamAnnounced, StreamSpec, Subscribed)
from modular.server.core import ServerConfig
from modular.server.directory import RETURN_BASE, return_stream_id

from .radiosim import RadioNet

SR, B = 48000, 64
PERIOD = B / SR
CV16 = StreamSpec(1, 16, cv=True)
AUDIO2 = StreamSpec(2, 2, cv=False, encoding=Encoding.INT16)
RETURN = StreamSpec(1, 2, cv=False, answers=1)


def cv_block(position):
    t = np.arange(position, position + B, dtype=np.int64)
    return np.stack([(t + k).astype(np.float32) * 0.001 for k in range(16)])


class Broadcaster:
    """Sends a 16-channel CV block (``cv(position)``) and a 2-channel audio block every
    block period."""

    def __init__(self, sp, cv=None):
        self.sp, self.position, self.next = sp, 0, None
        self.cv = cv or cv_block
        self.audio = np.zeros((2, B), np.float32)

    def __call__(self, now):
        peer = self.sp.peer
        if not peer.registered:
            self.next = None
            return
        if self.next is None:
            self.next = now
        while now >= self.next:
            peer.send_broadcast(1, self.position, self.cv(self.position), now)
            peer.send_broadcast(2, self.position, self.audio, now)
            self.position += B
            self.next += PERIOD


class Answerer:
    """A listener that answers each CV block with a return stamped with its position."""

    def __init__(self, sp, value):
        self.sp, self.value, self.seen = sp, value, 0
        self.cv = {}  # position -> samples received

    def __call__(self, now):
        evs = self.sp.peer.events()
        self.sp.events += evs
        for e in evs:
            if isinstance(e, BroadcastFrame) and e.frame.stream == 1:
                self.cv[e.frame.position] = e.frame.samples()
                self.sp.peer.send_return(1, e.frame.position, np.full((2, B), self.value, np.float32), now)


def steps(*fs):
    def step(now):
        for f in fs:
            f(now)
    return step


def listed(net, sp):
    req = sp.peer.list()
    net.run(0.2)
    got = [e for e in sp.events if isinstance(e, Listing) and e.request == req]
    assert got, "no LISTING"
    return {e.handle: e for e in got[0].entries}


def test_register_list_and_announce():
    net = RadioNet()
    b, l = net.add("alice"), net.add("bob")
    b.peer.register("jam", b"secret", tags=("techno", "live"), streams=(CV16, AUDIO2))
    net.run(0.5)
    assert b.of(Registered) == [Registered("jam")]
    entries = listed(net, l)
    assert entries["jam"].tags == ("techno", "live") and entries["jam"].listeners == 0
    l.peer.subscribe("jam")
    net.run(0.3)
    assert l.of(Subscribed) and l.peer.subscribed
    infos = {e.info.stream: e.info for e in l.of(StreamAnnounced)}
    assert infos[1].channels == 16 and infos[1].kind == 1 and infos[1].encoding == Encoding.RUNS  # CV is announced as runs: float32 bit for bit
    assert infos[2].channels == 2 and infos[2].encoding == Encoding.INT16
    assert b.of(ListenerCount)[-1] == ListenerCount("jam", 1) and b.peer.listeners == 1
    (h,) = net.server.hub.snapshot(net.now)["handles"]
    assert h["channels"] == 18 and h["encoding"] == ["int16", "runs"] and h["listeners"] == 1
    # a tag filter
    req = l.peer.list("ambient")
    net.run(0.2)
    assert [e for e in l.events if isinstance(e, Listing) and e.request == req][0].entries == []


def test_a_handle_belongs_to_the_token_holder():
    net = RadioNet()
    owner, thief, again = net.add("owner"), net.add("thief"), net.add("owner-again")
    owner.peer.register("jam", b"right-token", streams=(CV16,))
    net.run(0.3)
    thief.peer.register("jam", b"wrong-token", streams=(CV16,))
    net.run(0.3)
    (r,) = thief.of(Refused)
    assert r.code == ErrorCode.DENIED and not thief.peer.registered
    # the thief cannot push frames to it either: counted, and told
    thief.peer.registered = True  # pretend, to get frames on the wire
    thief.peer.send_broadcast(1, 0, cv_block(0), net.now)
    net.run(0.3)
    assert net.server.hub.broadcasts_rejected == 1
    assert any(e.code == ErrorCode.AUTH for e in thief.of(ServerError))
    # the same token from a new session takes the handle over
    again.peer.register("jam", b"right-token", streams=(CV16,))
    net.run(0.3)
    assert again.of(Registered)
    assert net.server.hub.directory.handles["jam"].owner.name == "owner-again"
    # an empty token is refused
    other = net.add("other")
    other.peer.register("other", b"")
    net.run(0.3)
    assert other.of(Refused)[0].code == ErrorCode.BAD_VALUE


def test_fan_out_with_returns_under_loss_and_jitter():
    net = RadioNet(seed=3)
    b = net.add("alice", Impairment(loss=0.02, delay=0.01, jitter=0.003, seed=5))
    b.peer.register("jam", b"tok", streams=(CV16, AUDIO2))
    listeners = [net.add(f"l{i}", Impairment(loss=0.02, delay=0.01, jitter=0.003, seed=10 + i)) for i in range(5)]
    for sp in listeners:
        sp.peer.subscribe("jam", returns=(RETURN,))
    answer = [Answerer(sp, float(i + 1)) for i, sp in enumerate(listeners)]
    tx = Broadcaster(b)
    net.run(1.5, steps(tx, *answer))
    # CV bit for bit at every listener, contiguous from where it joined
    for a in answer:
        pos = sorted(a.cv)
        assert len(pos) > 150
        assert pos == list(range(pos[0], pos[-1] + B, B))
        for p in pos:
            assert np.array_equal(a.cv[p], cv_block(p))
    # returns reach the broadcaster in each listener's slot, stamped with answered positions
    returns = [e for e in b.events if isinstance(e, ReturnFrame)]
    slots = {e.slot for e in returns}
    assert slots == set(range(5))
    for e in returns:
        assert e.index == 0 and e.frame.stream == return_stream_id(e.slot, 0) and e.frame.flags & 2
        assert e.frame.position % B == 0 and e.frame.position < tx.position
    value_of_slot = {}
    for e in returns:
        value_of_slot.setdefault(e.slot, set()).add(float(e.frame.samples()[0, 0]))
    assert all(len(v) == 1 for v in value_of_slot.values())  # one listener per slot
    assert sorted(v.pop() for v in value_of_slot.values()) == [1.0, 2.0, 3.0, 4.0, 5.0]
    ann = [e for e in b.events if isinstance(e, StreamAnnounced)]
    latest = {e.slot: e for e in ann}  # a return frame may announce its stream before its STREAM_INFO does
    assert set(latest) == slots and all(e.info.answers == 1 for e in latest.values())
    hub = net.server.hub
    assert hub.returns_rejected == 0 and hub.broadcasts_rejected == 0
    assert hub.relayed_frames >= 5 * 2 * 150


def test_returns_from_non_listeners_are_rejected_and_counted():
    net = RadioNet()
    b, stranger = net.add("alice"), net.add("stranger")
    b.peer.register("jam", b"tok", streams=(CV16,))
    net.run(0.3)
    stranger.peer.subscribed = True  # pretend, to get return frames on the wire
    for k in range(5):
        stranger.peer.send_return(1, k * B, np.ones((1, B), np.float32), net.now)
    net.run(0.3)
    assert net.server.hub.returns_rejected == 5
    assert not [e for e in b.events if isinstance(e, ReturnFrame)]
    assert any(e.code == ErrorCode.AUTH for e in stranger.of(ServerError))
    assert net.server.hub.snapshot(net.now)["returns_rejected"] == 5


def test_only_the_returns_a_broadcaster_takes_are_relayed_and_the_others_are_not_sent():
    """REGISTER says how many listeners' returns the broadcaster takes; the others never
    load its downlink: the server tells those listeners (SLOT), and they stop sending
    returns, while they still hear the broadcast. A broadcaster that takes more later is
    heard from all of them."""
    net = RadioNet(seed=8)
    b = net.add("alice")
    b.peer.register("jam", b"tok", streams=(CV16, AUDIO2), return_slots=2)
    listeners = [net.add(f"l{i}") for i in range(4)]
    for sp in listeners:
        sp.peer.subscribe("jam", returns=(RETURN,))
    answer = [Answerer(sp, float(i + 1)) for i, sp in enumerate(listeners)]
    net.run(1.0, steps(Broadcaster(b), *answer))
    returns = [e for e in b.events if isinstance(e, ReturnFrame)]
    assert {e.slot for e in returns} == {0, 1}
    assert {e.slot for e in b.of(StreamAnnounced) if e.slot >= 0} <= {0, 1}
    assert all(len(a.cv) > 300 for a in answer)  # every listener hears the broadcast
    by_slot = {sp.peer.slot: sp for sp in listeners}
    assert sorted(by_slot) == [0, 1, 2, 3]
    for slot, sp in by_slot.items():
        heard = slot < 2
        assert sp.peer.return_heard is heard and sp.peer.status()["return_heard"] is heard
        assert [(e.slot, e.heard) for e in sp.of(SlotChanged)][-1] == (slot, heard)
        assert (sp.peer.returns_unheard > 300) is not heard  # not sent at all
    hub = net.server.hub
    # only what left before the SLOT arrived reached the server to be dropped there
    assert hub.returns_unheard < 2 * 20 and hub.returns_rejected == 0
    assert hub.counters()["returns_unheard"] == hub.returns_unheard

    b.peer.register("jam", b"tok", streams=(CV16, AUDIO2), return_slots=4, now=net.now)
    net.run(0.5, steps(Broadcaster(b), *answer))
    assert all(sp.peer.return_heard for sp in listeners)
    late = [e for e in b.events[len(returns):] if isinstance(e, ReturnFrame)]
    assert {e.slot for e in late} == {0, 1, 2, 3}


def test_silent_sessions_expire_and_handles_wait_for_their_broadcaster():
    net = RadioNet(ServerConfig(timeout=2.0, grace=3.0))
    b, l1, l2 = net.add("alice"), net.add("l1"), net.add("l2")
    b.peer.register("jam", b"tok", streams=(CV16,))
    net.run(0.3)
    for sp in (l1, l2):
        sp.peer.subscribe("jam")
    net.run(0.5)
    assert b.peer.listeners == 2
    l2.cut = True  # vanishes without a goodbye
    net.run(2.5)
    assert b.peer.listeners == 1 and len(net.server.hub.members) == 2
    # the broadcaster vanishes: its handle stays (offline) for the grace, with its listener
    b.cut = True
    net.run(2.4)
    h = net.server.hub.directory.handles["jam"]
    assert not h.online and len(h.listeners) == 1
    b.cut = False  # back in time (its peer reconnected and registered again by itself)
    net.run(2.0)
    assert h.online and b.peer.registered and b.peer.listeners == 1
    assert not l1.of(HandleGone)
    # gone for longer than the grace: removed, the listener is told and keeps retrying
    b.cut = True
    net.run(2.0 + 3.0 + 0.5)
    assert "jam" not in net.server.hub.directory.handles
    assert l1.of(HandleGone) and not l1.peer.subscribed
    b.cut = False
    net.run(3.0)
    assert l1.peer.subscribed and b.peer.listeners == 1


def test_a_normal_goodbye_releases_the_handle_at_once():
    net = RadioNet()
    b, l = net.add("alice"), net.add("bob")
    b.peer.register("jam", b"tok", streams=(CV16,))
    net.run(0.3)
    l.peer.subscribe("jam")
    net.run(0.3)
    b.peer.close(net.now)
    net.run(0.3)
    assert "jam" not in net.server.hub.directory.handles
    assert l.of(HandleGone)


def test_listeners_join_and_leave():
    net = RadioNet()
    b = net.add("alice")
    b.peer.register("jam", b"tok", streams=(CV16,))
    tx = Broadcaster(b)
    stay = net.add("stay")
    stay.peer.subscribe("jam", returns=(RETURN,))
    keep = Answerer(stay, 9.0)
    net.run(0.5, steps(tx, keep))
    churn = [net.add(f"c{i}") for i in range(4)]
    for round_ in range(5):
        for sp in churn:
            sp.peer.subscribe("jam")
        net.run(0.2, steps(tx, keep))
        assert b.peer.listeners == 5
        for sp in churn:
            sp.peer.unsubscribe()
        net.run(0.2, steps(tx, keep))
        assert b.peer.listeners == 1
    h = net.server.hub.directory.handles["jam"]
    assert h.joins == 1 + 4 * 5 and h.leaves == 4 * 5
    assert list(h.listeners.values()) == [0]  # the one who stayed kept slot 0
    pos = sorted(keep.cv)
    assert pos == list(range(pos[0], pos[-1] + B, B))  # it never missed a block
    assert {e.slot for e in b.events if isinstance(e, ReturnFrame)} == {0}


def test_peers_come_back_after_a_server_restart():
    net = RadioNet(ServerConfig(timeout=5.0))
    b, l = net.add("alice"), net.add("bob")
    b.peer.register("jam", b"tok", streams=(CV16,))
    l.peer.subscribe("jam", returns=(RETURN,))
    tx, ans = Broadcaster(b), Answerer(l, 1.0)
    net.run(1.0, steps(tx, ans))
    net.restart_server()
    t_restart = net.now
    seen_after = []

    def watch(now):
        if any(isinstance(e, ReturnFrame) for e in b.peer._events):
            seen_after.append(now)
    net.run(4.0, steps(tx, ans, watch))
    assert seen_after and seen_after[0] - t_restart < 3.0
    assert b.peer.registered and l.peer.subscribed and b.peer.reconnects == 1
