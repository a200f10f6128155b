"""The codec: every message round-trips, sample encodings keep their promises, and no
input at all makes decode raise anything but ProtocolError."""

import random

import numpy as np
import pytest

from modular.net import wire
from modular.net.wire import Encoding, ErrorCode, ProtocolError

MESSAGES = [
    wire.Hello(0xDEADBEEFCAFEF00D, 48000, 64, "alice"),
    wire.Welcome(7, 123456, bytes(range(16)), 44100, 1000, 10000, "server é"),
    wire.Reject(7, ErrorCode.SERVER_FULL, "full"),
    wire.Ping(3, 1_000_000),
    wire.Pong(3, 1_000_000, 5_000_000, 5_000_040),
    wire.Keepalive(),
    wire.Bye(ErrorCode.NONE, "bye"),
    wire.Error(ErrorCode.UNSUPPORTED, wire.MsgType.REGISTER, "no radio here"),
    wire.StreamInfo(2, wire.STREAM_CV, 4, Encoding.FLOAT32, 48000, 1, "clock+pitch"),
    wire.Register(9, "alice/jam", b"secret", ("techno", "slow")),
    wire.Register(10, "bob", b"t", (), 2048),
    wire.Subscribe(10, "alice/jam"),
    wire.Unsubscribe(11, "alice/jam"),
    wire.ListStreams(12, "techno"),
    wire.Listing(12, (("alice/jam", ("techno",), 3), ("bob", (), 0)), more=True),
    wire.Result(9, ErrorCode.DENIED, "taken"),
    wire.Parity(1, 4096, 4, 4, 2, 0b1011, bytes(range(200)) * 3),
    wire.Slot("alice/jam", 17, False),
    wire.Report(655),
    wire.ProbeAck(0xFFFFFFFF),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(msg):
    data = wire.encode(msg)
    assert data[:3] == b"MX\x05"
    assert wire.decode(data) == msg
    # any truncation or trailing byte is an error, of the right kind
    for cut in range(len(data)):
        with pytest.raises(ProtocolError):
            wire.decode(data[:cut])
    with pytest.raises(ProtocolError) as e:
        wire.decode(data + b"\0")
    assert e.value.code == ErrorCode.MALFORMED


def test_probe_is_padded_with_zeros_and_nothing_else():
    """A PROBE's padding makes its datagram as large as the size tried: zeros only, so a
    PROBE cannot smuggle anything, and a cut one is still an error."""
    data = wire.encode(wire.Probe(42, 1400))
    assert len(data) == 4 + 4 + 1400
    assert wire.decode(data) == wire.Probe(42, 1400)
    assert wire.decode(data + b"\0") == wire.Probe(42, 1401)
    for cut in range(8):
        with pytest.raises(ProtocolError):
            wire.decode(data[:cut])
    with pytest.raises(ProtocolError) as e:
        wire.decode(data[:-1] + b"\x01")
    assert e.value.code == ErrorCode.BAD_VALUE


def frame_of(block, encoding, cv=False, position=480):
    ch, n = block.shape
    return wire.Frame(1, 5, position, ch, n, encoding, wire.encode_samples(block, encoding),
                      wire.FLAG_CV if cv else 0)


def test_float32_is_bit_perfect():
    rng = np.random.default_rng(1)
    block = (rng.standard_normal((3, 64)) * 5).astype(np.float32)
    block[0, :4] = [np.float32(1e-42), -0.0, np.float32(3.4e38), np.float32(-7.25)]
    got = wire.decode(wire.encode(frame_of(block, Encoding.FLOAT32, cv=True)))
    assert got.is_cv and got.position == 480 and got.seq == 5
    assert got.samples().tobytes() == block.tobytes()
    assert len(wire.encode(got)) == 24 + 3 * 64 * 4  # 24-byte header, 4 bytes a sample


@pytest.mark.parametrize("encoding,step", [(Encoding.INT16, 10 / 32767), (Encoding.INT8, 10 / 127)])
def test_integer_encodings_quantise_within_half_a_step(encoding, step):
    x = np.linspace(-9.99, 9.99, 2 * 128, dtype=np.float32).reshape(2, 128)
    got = wire.decode(wire.encode(frame_of(x, encoding))).samples()
    assert np.max(np.abs(got - x)) <= step / 2 + 1e-6
    # full scale is ±10 V; beyond clips, NaN becomes 0
    y = np.array([[20.0, -20.0, np.nan, 0.0]], np.float32)
    got = wire.decode(wire.encode(frame_of(y, encoding))).samples()
    assert np.allclose(got, [[10, -10, 0, 0]], atol=1e-5)


def test_bad_headers_and_fields():
    good = wire.encode(MESSAGES[0])
    cases = {
        b"XX" + good[2:]: ErrorCode.BAD_MAGIC,
        good[:2] + b"\x01" + good[3:]: ErrorCode.UNSUPPORTED_VERSION,
        good[:3] + b"\x7f" + good[4:]: ErrorCode.UNKNOWN_TYPE,
        b"MX": ErrorCode.MALFORMED,
    }
    for data, code in cases.items():
        with pytest.raises(ProtocolError) as e:
            wire.decode(data)
        assert e.value.code == code
    # CV must be float32; channels 1..16; payload length must match
    block = np.zeros((2, 8), np.float32)
    bad = bytearray(wire.encode(frame_of(block, Encoding.INT16)))
    bad[6] |= wire.FLAG_CV  # the flags byte follows the stream id
    with pytest.raises(ProtocolError):
        wire.decode(bytes(bad))
    with pytest.raises(ProtocolError):
        wire.decode(wire.encode(frame_of(block, Encoding.FLOAT32))[:-4])


def test_fuzzed_datagrams_only_raise_protocol_error():
    rng = random.Random(7)
    seeds = [wire.encode(m) for m in MESSAGES]
    seeds.append(wire.encode(frame_of(np.ones((2, 64), np.float32), Encoding.FLOAT32, cv=True)))
    decoded = 0
    for i in range(30_000):
        if i % 3 == 0:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 64)))
            if i % 2:
                data = b"MX\x01" + data
        else:
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 4)):
                op = rng.randrange(4)
                if op == 0 and data:
                    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
                elif op == 1 and data:
                    del data[rng.randrange(len(data)):]
                elif op == 2:
                    data += bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 8)))
                elif data:
                    data[rng.randrange(len(data))] = rng.getrandbits(8)
            data = bytes(data)
        try:
            wire.decode(data)
            decoded += 1
        except ProtocolError:
            pass
    assert decoded < 30_000 // 3  # most mutations are caught; the rest decoded cleanly


def test_session_ids_fit_the_kcp_conversation_id():
    # the kcp package takes the conversation id as a C int: ids are 1 .. 2^31-1
    for sid in (0, 1 << 31, (1 << 32) - 1):
        data = bytearray(wire.encode(wire.Welcome(1, 5, bytes(16))))
        data[12:16] = sid.to_bytes(4, "big")
        with pytest.raises(ProtocolError):
            wire.decode(bytes(data))


def test_runs_encoding_is_bit_perfect_and_small_for_held_cv():
    rng = np.random.default_rng(7)
    block = np.zeros((16, 64), np.float32)
    block[0, 20:] = 10.0  # a gate
    block[1] = 0.25  # a held pitch
    block[2] = rng.standard_normal(64).astype(np.float32)  # a channel that never holds still
    block[3, :4] = [np.float32(1e-42), -0.0, 0.0, np.float32(np.inf)]  # odd bits are kept
    got = wire.decode(wire.encode(frame_of(block, Encoding.RUNS, cv=True)))
    assert got.is_cv and got.encoding == Encoding.RUNS
    assert got.samples().tobytes() == block.tobytes()
    out = np.full((20, 100), 7.0, np.float32)  # straight into a slice of a bigger array
    got.samples(out[:16, :64])
    assert out[:16, :64].tobytes() == block.tobytes() and np.all(out[16:] == 7.0) and np.all(out[:, 64:] == 7.0)
    raw = 16 * 64 * 4
    assert len(got.payload) < raw // 8  # one channel raw, the rest a few runs each
    assert len(wire.encode_samples(rng.standard_normal((16, 64)).astype(np.float32), Encoding.RUNS)) <= raw + 16


def test_malformed_runs_payloads_are_rejected():
    good = wire.encode(frame_of(np.ones((2, 64), np.float32), Encoding.RUNS, cv=True))
    head, payload = good[:24], good[24:]
    bad = [
        payload[:-1],  # truncated
        payload + b"\0",  # trailing
        b"\x02" + payload[1:],  # unknown channel mode
        payload[:1] + b"\x00\x00" + payload[3:],  # zero runs
        payload[:3] + b"\x41\x00" + payload[5:],  # a run longer than the frame
        payload[:3] + b"\x00\x00" + payload[5:],  # a run of length 0
    ]
    for p in bad:
        with pytest.raises(ProtocolError) as e:
            wire.decode(head + p)
        assert e.value.code == ErrorCode.MALFORMED
