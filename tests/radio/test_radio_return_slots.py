"""RadioReturn's slots, in process: a slot handed to the next listener starts silent.

The server gives a slot a listener left (or that expired) to the next one, whose stream
announcement resets the slot. Until that listener's first return arrives, the slot (and
the mix) must be silent, whatever the previous listener last played there: a new
listener that announces and then never answers (it crashed, its returns are all lost)
must not leave the previous one's last block sounding on and on."""

import numpy as np

from modular.engine import Engine
from modular.net import wire
from modular.patch import from_dict
from modular.server.client import ReturnFrame, StreamAnnounced
from tests.helpers import make_patch

SR, B = 48000, 64


def _engine():
    doc = make_patch([("src", "core.Const"), ("bc", "radio.RadioBroadcast", {}, {"handle": "h", "listen": 0}),
                      ("ret", "radio.RadioReturn", {"mode": 0, "latency": 20.0})],
                     [("src.out", "bc.in")])
    e = Engine(from_dict(doc))
    ret = e.module("ret")
    ret.start(e)  # RadioReturn alone: its broadcast's network is not needed to feed it
    return e, ret


def _announce(ret, slot, name):
    info = wire.StreamInfo(1, wire.STREAM_AUDIO, 1, wire.Encoding.FLOAT32, SR, 1, name)
    ret.announce(StreamAnnounced(info, slot, 0))


def _answer(ret, slot, position, value):
    samples = np.full((1, B), value, np.float32)
    f = wire.Frame(1, position // B, position, 1, B, wire.Encoding.FLOAT32,
                   wire.encode_samples(samples, wire.Encoding.FLOAT32))
    ret.offer(ReturnFrame(slot, 0, wire.decode(wire.encode(f)), 0.0))


def _blocks(e, n, answer=None):
    returns, mix = [], []
    for _ in range(n):
        if answer is not None:
            answer(e.frame)
        e.process(1)
        returns.append(e.output("ret", "returns").copy())
        mix.append(e.output("ret", "mix")[0].copy())
    return np.concatenate(returns, axis=1), np.concatenate(mix)


def test_a_slot_given_to_a_listener_that_never_answers_stays_silent():
    e, ret = _engine()
    _announce(ret, 3, "first")
    r, _ = _blocks(e, 200, answer=lambda t: _answer(ret, 3, t, 1.0))  # answers each block as it is played
    assert np.all(r[3, -B * 100:] == 1.0)  # heard, 20 ms after it answered
    _blocks(e, 10)  # it left: the slot fades out
    _announce(ret, 3, "second")  # the next listener takes the slot, and never answers
    r, mix = _blocks(e, 200)
    assert np.max(np.abs(r[3])) < 1e-3, "the previous listener's last block plays on"
    assert np.max(np.abs(mix)) < 1e-3
    assert [s["name"] for s in e.module("ret").status()["slots"]] == []


def test_the_next_listener_is_heard_from_its_first_return():
    e, ret = _engine()
    _announce(ret, 0, "first")
    _blocks(e, 100, answer=lambda t: _answer(ret, 0, t, 1.0))
    _announce(ret, 0, "second")
    r, mix = _blocks(e, 100, answer=lambda t: _answer(ret, 0, t, 0.5))
    late = int(0.02 * SR) + B
    assert np.all(r[0, late + B:] == 0.5) and np.all(mix[late + B:] == 0.5)
    assert [s["name"] for s in ret.status()["slots"]] == ["second"]
