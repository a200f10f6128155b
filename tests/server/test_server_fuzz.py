"""A server never dies of a datagram: 20 000 random, mutated and forged datagrams, and
random radio messages inside an authentic session, while a live stream goes on."""

import random

import numpy as np

from modular.net import wire
from modular.net.wire import Encoding, ErrorCode, MsgType
from modular.server.client import BroadcastFrame, StreamSpec

from .radiosim import RadioNet
from .test_server_sim import AUDIO2, B, CV16, Broadcaster, cv_block, steps

N_DATAGRAMS = 20_000


def mutate(rng, d: bytes) -> bytes:
    b = bytearray(d)
    op = rng.randrange(6)
    if op == 0 and b:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 1:
        b = b[:rng.randrange(len(b) + 1)]
    elif op == 2:
        b += rng.randbytes(rng.randint(1, 64))
    elif op == 3 and len(b) > 4:
        b[3] = rng.randrange(256)  # another message type
    elif op == 4 and len(b) > 2:
        b[2] = rng.choice([0, 2, 255])  # another version
    else:
        b[4:12] = rng.randbytes(8)  # a forged tag or nonce
    return bytes(b)


def random_message(rng):
    """A well-formed message with random fields, of the kinds a client may send or not."""
    text = lambda: rng.choice(["", "jam", "x" * rng.randint(1, 255), "ünïcode", rng.randbytes(8).hex()])
    enc = Encoding(rng.randrange(3))
    ch, n = rng.randint(1, 16), rng.choice([1, 16, 64])
    flags = rng.randrange(8)
    if flags & 1:
        enc = Encoding.FLOAT32
    k = rng.randrange(10)
    if k == 0:
        return wire.Register(rng.getrandbits(32), text() or "h", rng.randbytes(rng.randint(0, 40)),
                             tuple(text() for _ in range(rng.randint(0, 5))))
    if k == 1:
        return wire.Subscribe(rng.getrandbits(32), text())
    if k == 2:
        return wire.Unsubscribe(rng.getrandbits(32), text())
    if k == 3:
        return wire.ListStreams(rng.getrandbits(32), text())
    if k == 4:
        return wire.StreamInfo(rng.getrandbits(16), rng.randrange(2), ch, enc, rng.randint(1, 768000),
                               rng.getrandbits(16), text())
    if k == 5:
        return wire.Listing(rng.getrandbits(32), (("a", ("t",), 3),), bool(rng.randrange(2)))
    if k == 6:
        return wire.Result(rng.getrandbits(32), ErrorCode(rng.randrange(14)), text())
    if k == 7:
        return wire.Error(ErrorCode(rng.randrange(14)), rng.randrange(256), text())
    return wire.Frame(rng.getrandbits(16), rng.getrandbits(32), rng.getrandbits(63) - (1 << 62), ch, n, enc,
                      rng.randbytes(ch * n * wire.SAMPLE_BYTES[enc]), flags)


def test_fuzzed_server_keeps_the_live_stream():
    rng = random.Random(1234)
    net = RadioNet(seed=9)
    b, l, fz = net.add("alice"), net.add("bob"), net.add("fuzzer")
    b.peer.register("jam", b"tok", streams=(CV16, AUDIO2))
    l.peer.subscribe("jam", returns=(StreamSpec(1, 2, cv=False, answers=1),))
    fz.peer.register("fuzz", b"fz")
    tx = Broadcaster(b)
    got = {}

    def listen(now):
        evs = l.peer.events()
        l.events += evs
        for e in evs:
            if isinstance(e, BroadcastFrame) and e.frame.stream == 1:
                got[e.frame.position] = e.frame.samples()

    net.run(0.5, steps(tx, listen))
    sent = {"n": 0, "authentic": 0}
    hub = net.server.hub

    def fuzz(now):
        for _ in range(10):
            if sent["n"] >= N_DATAGRAMS:
                return
            sent["n"] += 1
            r = rng.random()
            if r < 0.3:
                d = rng.randbytes(rng.randint(0, 1500))
            elif r < 0.35:
                d = wire.encode(wire.Hello(rng.getrandbits(64), 48000, 64, "forged"))
            elif r < 0.4:
                d = b"MX\x01" + bytes([rng.randrange(256)]) + rng.randbytes(rng.randint(0, 64))
            else:
                d = mutate(rng, rng.choice(net.captured))
            addr = rng.choice([b.addr, l.addr, ("192.0.2.%d" % rng.randrange(256), rng.randrange(65536))])
            net.inject.append((d, addr))
        if fz.peer.connected and rng.random() < 0.5:  # authentic garbage, through KCP
            fz.peer.session.send(random_message(rng), now)
            fz.peer._udp.pump(now)
            sent["authentic"] += 1

    net.run(1.2, steps(tx, listen, fuzz))
    assert sent["n"] == N_DATAGRAMS and sent["authentic"] > 500
    net.run(0.5, steps(tx, listen))
    core = net.server
    assert core.internal_errors == 0, core.last_internal_error
    assert core.udp.rejected > 0.5 * N_DATAGRAMS  # counted, not crashed on
    assert hub.messages_rejected + hub.broadcasts_rejected + hub.returns_rejected > 0
    # the live stream never noticed: contiguous and bit for bit at the listener
    pos = sorted(got)
    assert pos == list(range(pos[0], pos[-1] + B, B)) and pos[-1] >= tx.position - 64 * B
    assert all(np.array_equal(got[p], cv_block(p)) for p in pos)
    assert b.peer.registered and l.peer.subscribed and b.peer.reconnects == 0 and l.peer.reconnects == 0
