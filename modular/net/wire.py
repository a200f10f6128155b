"""The wire protocol's messages and their codec (docs/protocol.md is the normative text).

Every message starts with the same 4-byte header: the magic ``MX``, the protocol
version and the message type; all integers are big-endian except sample payloads,
which are little-endian because that is what every machine we run on stores.

``decode`` is strict: a datagram that is not exactly one well-formed message raises
``ProtocolError`` and nothing else, whatever the bytes. Network input is hostile input;
callers count the error and carry on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from . import runs

MAGIC = b"MX"
VERSION = 5  # 2: audio FRAMEs may travel as DATAGRAMs with PARITY; a DATAGRAM holds several messages
#             3: a DATAGRAM may carry KCP segments (SEGMENT) along with unreliable messages
#             4: REPORT (the loss a receiver asks the sender's parity to cover) and SLOT
#             5: PROBE and PROBE_ACK (path MTU: DATAGRAMs larger than 1200 bytes where they pass)
HEADER = struct.Struct(">2sBB")
HEADER_SIZE = HEADER.size

# Largest message we agree to decode; bigger frames must be split by the sender.
MAX_MESSAGE = 65_535
MAX_TEXT = 255
MAX_CHANNELS = 16
MAX_FRAMES = 4096
MAX_RETURN_SLOTS = 2048  # return stream ids 0x8000 + 16 x slot + i fill the upper half of u16
# Integer encodings map this many volts to full scale, as AudioOut maps ±10 V.
FULL_SCALE_VOLTS = 10.0


class MsgType(IntEnum):
    HELLO = 0x01
    WELCOME = 0x02
    REJECT = 0x03
    SEALED = 0x04  # UDP only: a KCP segment with its authentication tag (kcp_link.py)
    DATAGRAM = 0x05  # UDP only: messages outside KCP (unreliable), with its tag
    SEGMENT = 0x06  # UDP only, in a DATAGRAM: KCP segment(s), riding with unreliable messages
    FRAME = 0x10
    PING = 0x11
    PONG = 0x12
    KEEPALIVE = 0x13
    BYE = 0x14
    ERROR = 0x15
    PARITY = 0x16  # UDP only: forward error correction for a group of audio frames (fec.py)
    REPORT = 0x17  # UDP only: the audio loss the receiver asks the sender's parity to cover
    PROBE = 0x18  # UDP only, alone in a padded DATAGRAM: does a datagram this large pass? (pmtu.py)
    PROBE_ACK = 0x19  # UDP only: it did
    # radio (v1 layouts are fixed; a peer that does not serve them answers ERROR UNSUPPORTED)
    STREAM_INFO = 0x20
    REGISTER = 0x21
    SUBSCRIBE = 0x22
    UNSUBSCRIBE = 0x23
    LIST = 0x24
    LISTING = 0x25
    RESULT = 0x26
    SLOT = 0x27  # a listener's slot, and whether the broadcaster hears its returns


class ErrorCode(IntEnum):
    NONE = 0  # a normal goodbye
    MALFORMED = 1  # truncated, trailing bytes, bad length
    BAD_MAGIC = 2
    UNSUPPORTED_VERSION = 3
    UNKNOWN_TYPE = 4
    BAD_VALUE = 5  # a field out of its range
    UNEXPECTED = 6  # a valid message that makes no sense in this state
    AUTH = 7  # wrong session, token or tag
    SERVER_FULL = 8
    TIMEOUT = 9
    UNSUPPORTED = 10  # a valid message this peer does not serve
    SHUTDOWN = 11
    NOT_FOUND = 12  # radio: unknown handle
    DENIED = 13  # radio: handle taken by another token


class ProtocolError(Exception):
    """Raised for any malformed or unacceptable input; carries the code to report."""

    def __init__(self, code: ErrorCode, reason: str, version: int | None = None):
        super().__init__(f"{code.name}: {reason}")
        self.code = code
        self.reason = reason
        self.version = version  # the version byte seen, for UNSUPPORTED_VERSION replies


class Encoding(IntEnum):
    FLOAT32 = 0  # bit-perfect
    INT16 = 1
    INT8 = 2
    RUNS = 3  # bit-perfect float32 with held values sent once (runs.py): what CV is sent as


BIT_PERFECT = (Encoding.FLOAT32, Encoding.RUNS)  # the encodings CV may use
SAMPLE_BYTES = {Encoding.FLOAT32: 4, Encoding.INT16: 2, Encoding.INT8: 1}  # fixed-size encodings
_DTYPE = {Encoding.FLOAT32: np.dtype("<f4"), Encoding.INT16: np.dtype("<i2"), Encoding.INT8: np.dtype("i1")}
_INT_MAX = {Encoding.INT16: 32767.0, Encoding.INT8: 127.0}

# Frame flags
FLAG_CV = 0x01  # control voltage: never dropped by the sender, held by the receiver
FLAG_RESPONSE = 0x02  # position is on the timeline of the stream this one answers
FLAG_DISCONTINUITY = 0x04  # the sender's timeline jumped; receivers resynchronise
FRAME_FLAGS = FLAG_CV | FLAG_RESPONSE | FLAG_DISCONTINUITY


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data, pos):
        self.data = data
        self.pos = pos

    def _take(self, n):
        end = self.pos + n
        if end > len(self.data):
            raise ProtocolError(ErrorCode.MALFORMED, "truncated message")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def unpack(self, st: struct.Struct):
        return st.unpack(self._take(st.size))

    def u8(self):
        return self._take(1)[0]

    def text(self):
        raw = bytes(self._take(self.u8()))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(ErrorCode.BAD_VALUE, "text is not UTF-8") from None

    def blob(self):
        return bytes(self._take(self.u8()))

    def rest(self):
        return self._take(len(self.data) - self.pos)

    def end(self):
        if self.pos != len(self.data):
            raise ProtocolError(ErrorCode.MALFORMED, f"{len(self.data) - self.pos} trailing bytes")


def _text(s: str) -> bytes:
    raw = s.encode("utf-8")
    if len(raw) > MAX_TEXT:
        raise ValueError(f"text longer than {MAX_TEXT} bytes: {s[:40]!r}...")
    return bytes([len(raw)]) + raw


def _blob(b: bytes) -> bytes:
    if len(b) > MAX_TEXT:
        raise ValueError(f"byte string longer than {MAX_TEXT}")
    return bytes([len(b)]) + b


def _check(cond, what):
    if not cond:
        raise ProtocolError(ErrorCode.BAD_VALUE, what)


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class Hello:
    nonce: int  # u64, picked at random by the client; echoed in WELCOME/REJECT
    sample_rate: int = 48000
    block: int = 64
    name: str = ""
    flags: int = 0  # reserved, 0

    TYPE = MsgType.HELLO
    _S = struct.Struct(">QIIH")

    def body(self):
        return self._S.pack(self.nonce, self.flags, self.sample_rate, self.block) + _text(self.name)

    @classmethod
    def parse(cls, r):
        nonce, flags, sr, block = r.unpack(cls._S)
        _check(flags == 0, "HELLO flags must be 0")
        _check(1 <= sr <= 768_000, "sample rate out of range")
        _check(1 <= block <= MAX_FRAMES, "block out of range")
        return cls(nonce, sr, block, r.text(), flags)


@dataclass(frozen=True)
class Welcome:
    nonce: int
    session_id: int  # 1 .. 2^31-1 in a u32, also the KCP conversation id
    token: bytes  # 16 secret bytes: the key of every SEALED datagram's tag
    sample_rate: int = 48000
    keepalive_ms: int = 1000
    timeout_ms: int = 10000
    name: str = ""

    TYPE = MsgType.WELCOME
    _S = struct.Struct(">QI16sIII")

    def body(self):
        return self._S.pack(self.nonce, self.session_id, self.token, self.sample_rate,
                            self.keepalive_ms, self.timeout_ms) + _text(self.name)

    @classmethod
    def parse(cls, r):
        nonce, sid, token, sr, ka, to = r.unpack(cls._S)
        _check(0 < sid < 1 << 31, "session id must be 1 .. 2^31-1")
        _check(1 <= sr <= 768_000, "sample rate out of range")
        _check(ka >= 10 and to > ka, "keepalive/timeout out of range")
        return cls(nonce, sid, bytes(token), sr, ka, to, r.text())


@dataclass(frozen=True)
class Reject:
    nonce: int
    code: ErrorCode
    reason: str = ""

    TYPE = MsgType.REJECT
    _S = struct.Struct(">QH")

    def body(self):
        return self._S.pack(self.nonce, self.code) + _text(self.reason)

    @classmethod
    def parse(cls, r):
        nonce, code = r.unpack(cls._S)
        return cls(nonce, _code(code), r.text())


@dataclass(frozen=True, eq=False)
class Frame:
    """A block of samples of one stream. ``payload`` is planar: channel 0's samples,
    then channel 1's, ..., little-endian, in ``encoding``."""

    stream: int
    seq: int
    position: int  # sample index of the first sample, on the sender's (or answered) timeline
    channels: int
    frames: int
    encoding: Encoding
    payload: bytes
    flags: int = 0

    TYPE = MsgType.FRAME
    _S = struct.Struct(">HBBIqBBH")  # stream flags encoding seq position channels reserved frames

    @property
    def is_cv(self):
        return bool(self.flags & FLAG_CV)

    def body(self):
        return self._S.pack(self.stream, self.flags, self.encoding, self.seq, self.position,
                            self.channels, 0, self.frames) + self.payload

    @classmethod
    def parse(cls, r):
        stream, flags, enc, seq, pos, ch, reserved, n = r.unpack(cls._S)
        _check(flags & ~FRAME_FLAGS == 0, "unknown frame flags")
        _check(enc in SAMPLE_BYTES or enc == Encoding.RUNS, "unknown encoding")
        enc = Encoding(enc)
        _check(not (flags & FLAG_CV) or enc in BIT_PERFECT, "CV must be float32 or runs")
        _check(1 <= ch <= MAX_CHANNELS, "channel count out of range")
        _check(reserved == 0, "reserved byte must be 0")
        _check(1 <= n <= MAX_FRAMES, "frame count out of range")
        payload = r.rest()
        if enc == Encoding.RUNS:
            if not runs.valid(payload, ch, n):
                raise ProtocolError(ErrorCode.MALFORMED, "not a runs payload of channels x frames")
        elif len(payload) != ch * n * SAMPLE_BYTES[enc]:
            raise ProtocolError(ErrorCode.MALFORMED, "payload length does not match channels x frames")
        return cls(stream, seq, pos, ch, n, enc, bytes(payload), flags)

    def samples(self, out: np.ndarray | None = None) -> np.ndarray:
        """The samples as float32 volts, shape (channels, frames); into ``out`` if given."""
        if self.encoding == Encoding.RUNS:
            if out is None:
                out = np.empty((self.channels, self.frames), np.float32)
            runs.decode(self.payload, self.channels, self.frames, out)  # straight into out, even a slice
            return out
        raw = np.frombuffer(self.payload, _DTYPE[self.encoding]).reshape(self.channels, self.frames)
        if out is None:
            out = np.empty((self.channels, self.frames), np.float32)
        if self.encoding == Encoding.FLOAT32:
            out[...] = raw
        else:
            np.multiply(raw, np.float32(FULL_SCALE_VOLTS / _INT_MAX[self.encoding]), out=out)
        return out


def encode_samples(block: np.ndarray, encoding: Encoding) -> bytes:
    """Payload bytes for a (channels, frames) block of volts."""
    if encoding == Encoding.RUNS:
        return runs.encode(block)
    if encoding == Encoding.FLOAT32:
        return np.ascontiguousarray(block, "<f4").tobytes()
    top = _INT_MAX[encoding]
    x = np.nan_to_num(np.asarray(block, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    q = np.rint(np.clip(x * (top / FULL_SCALE_VOLTS), -top, top))
    return q.astype(_DTYPE[encoding]).tobytes()


@dataclass(frozen=True)
class Ping:
    ping_id: int
    t1: int  # µs on the pinger's clock when sent

    TYPE = MsgType.PING
    _S = struct.Struct(">IQ")

    def body(self):
        return self._S.pack(self.ping_id, self.t1)

    @classmethod
    def parse(cls, r):
        return cls(*r.unpack(cls._S))


@dataclass(frozen=True)
class Pong:
    ping_id: int
    t1: int  # echoed from PING
    t2: int  # µs on the ponger's clock when the PING arrived
    t3: int  # µs on the ponger's clock when this PONG left

    TYPE = MsgType.PONG
    _S = struct.Struct(">IQQQ")

    def body(self):
        return self._S.pack(self.ping_id, self.t1, self.t2, self.t3)

    @classmethod
    def parse(cls, r):
        pid, t1, t2, t3 = r.unpack(cls._S)
        _check(t3 >= t2, "PONG sent before the PING arrived")
        return cls(pid, t1, t2, t3)


FEC_K = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Parity:
    """Piece ``index`` of the ``m`` parity pieces over the FRAMEs of ``stream`` with
    sequence numbers ``first_seq .. first_seq + k - 1`` (those whose bit is set in
    ``present``), each zero-padded to ``len(data)`` bytes (modular/net/fec.py)."""

    stream: int
    first_seq: int
    k: int
    m: int
    index: int
    present: int
    data: bytes

    TYPE = MsgType.PARITY
    _S = struct.Struct(">HIBBBBHH")  # stream first_seq k m index reserved present length

    def body(self):
        return self._S.pack(self.stream, self.first_seq, self.k, self.m, self.index, 0, self.present,
                            len(self.data)) + self.data

    @classmethod
    def parse(cls, r):
        stream, first, k, m, index, reserved, present, length = r.unpack(cls._S)
        _check(k in FEC_K, "k must be 1, 2, 4, 8 or 16")
        _check(1 <= m <= 16 and index < m, "parity index out of range")
        _check(first % k == 0, "a group starts at a multiple of k")
        _check(reserved == 0, "reserved byte must be 0")
        _check(0 < present < (1 << k), "covered frames out of range")
        data = bytes(r.rest())
        if len(data) != length:
            raise ProtocolError(ErrorCode.MALFORMED, "parity length does not match")
        _check(length >= 24, "parity shorter than a frame header")
        return cls(stream, first, k, m, index, present, data)


@dataclass(frozen=True)
class Keepalive:
    TYPE = MsgType.KEEPALIVE

    def body(self):
        return b""

    @classmethod
    def parse(cls, r):
        return cls()


@dataclass(frozen=True)
class Bye:
    code: ErrorCode = ErrorCode.NONE
    reason: str = ""

    TYPE = MsgType.BYE
    _S = struct.Struct(">H")

    def body(self):
        return self._S.pack(self.code) + _text(self.reason)

    @classmethod
    def parse(cls, r):
        (code,) = r.unpack(cls._S)
        return cls(_code(code), r.text())


@dataclass(frozen=True)
class Error:
    code: ErrorCode
    about: int = 0  # the message type that caused it, 0 if none
    reason: str = ""

    TYPE = MsgType.ERROR
    _S = struct.Struct(">HB")

    def body(self):
        return self._S.pack(self.code, self.about) + _text(self.reason)

    @classmethod
    def parse(cls, r):
        code, about = r.unpack(cls._S)
        return cls(_code(code), about, r.text())


# ---------------------------------------------------------------- radio (reserved for the server)

STREAM_AUDIO, STREAM_CV = 0, 1
NO_STREAM = 0xFFFF


@dataclass(frozen=True)
class StreamInfo:
    """Announces a stream before (or while) its frames flow."""

    stream: int
    kind: int  # STREAM_AUDIO or STREAM_CV
    channels: int
    encoding: Encoding
    sample_rate: int
    answers: int = NO_STREAM  # a response stream names the stream whose timeline it uses
    name: str = ""

    TYPE = MsgType.STREAM_INFO
    _S = struct.Struct(">HBBBIH")

    def body(self):
        return self._S.pack(self.stream, self.kind, self.channels, self.encoding,
                            self.sample_rate, self.answers) + _text(self.name)

    @classmethod
    def parse(cls, r):
        stream, kind, ch, enc, sr, answers = r.unpack(cls._S)
        _check(kind in (STREAM_AUDIO, STREAM_CV), "unknown stream kind")
        _check(1 <= ch <= MAX_CHANNELS, "channel count out of range")
        _check(enc in SAMPLE_BYTES or enc == Encoding.RUNS, "unknown encoding")
        _check(kind != STREAM_CV or enc in BIT_PERFECT, "CV must be float32 or runs")
        _check(1 <= sr <= 768_000, "sample rate out of range")
        return cls(stream, kind, ch, Encoding(enc), sr, answers, r.text())


def _tags(r):
    return tuple(r.text() for _ in range(r.u8()))


def _tag_bytes(tags):
    if len(tags) > 32:
        raise ValueError("at most 32 tags")
    return bytes([len(tags)]) + b"".join(_text(t) for t in tags)


@dataclass(frozen=True)
class Register:
    request: int
    handle: str
    token: bytes  # proves ownership of the handle on later registrations
    tags: tuple = ()
    return_slots: int = 16  # listeners whose returns the broadcaster takes (RadioReturn has 16)

    TYPE = MsgType.REGISTER
    _S = struct.Struct(">I")
    _SLOTS = struct.Struct(">H")

    def body(self):
        return (self._S.pack(self.request) + _text(self.handle) + _blob(self.token) + _tag_bytes(self.tags)
                + self._SLOTS.pack(self.return_slots))

    @classmethod
    def parse(cls, r):
        (req,) = r.unpack(cls._S)
        handle = r.text()
        _check(handle != "", "empty handle")
        token, tags = r.blob(), _tags(r)
        (slots,) = r.unpack(cls._SLOTS)
        _check(slots <= MAX_RETURN_SLOTS, f"at most {MAX_RETURN_SLOTS} return slots")
        return cls(req, handle, token, tags, slots)


@dataclass(frozen=True)
class Subscribe:
    request: int
    handle: str

    TYPE = MsgType.SUBSCRIBE
    _S = struct.Struct(">I")

    def body(self):
        return self._S.pack(self.request) + _text(self.handle)

    @classmethod
    def parse(cls, r):
        (req,) = r.unpack(cls._S)
        return cls(req, r.text())


@dataclass(frozen=True)
class Unsubscribe:
    request: int
    handle: str

    TYPE = MsgType.UNSUBSCRIBE
    _S = struct.Struct(">I")

    def body(self):
        return self._S.pack(self.request) + _text(self.handle)

    @classmethod
    def parse(cls, r):
        (req,) = r.unpack(cls._S)
        return cls(req, r.text())


@dataclass(frozen=True)
class ListStreams:
    request: int
    tag: str = ""  # only handles carrying this tag; "" for all

    TYPE = MsgType.LIST
    _S = struct.Struct(">I")

    def body(self):
        return self._S.pack(self.request) + _text(self.tag)

    @classmethod
    def parse(cls, r):
        (req,) = r.unpack(cls._S)
        return cls(req, r.text())


@dataclass(frozen=True)
class Listing:
    """One page of the handle directory: (handle, tags, listeners) entries."""

    request: int
    entries: tuple = ()
    more: bool = False

    TYPE = MsgType.LISTING
    _S = struct.Struct(">IBB")
    _E = struct.Struct(">H")

    def body(self):
        out = [self._S.pack(self.request, int(self.more), len(self.entries))]
        for handle, tags, listeners in self.entries:
            out += [_text(handle), _tag_bytes(tags), self._E.pack(listeners)]
        return b"".join(out)

    @classmethod
    def parse(cls, r):
        req, more, n = r.unpack(cls._S)
        _check(more in (0, 1), "more must be 0 or 1")
        entries = tuple((r.text(), _tags(r), r.unpack(cls._E)[0]) for _ in range(n))
        return cls(req, entries, bool(more))


@dataclass(frozen=True)
class Result:
    """The answer to REGISTER, SUBSCRIBE or UNSUBSCRIBE."""

    request: int
    code: ErrorCode = ErrorCode.NONE
    reason: str = ""

    TYPE = MsgType.RESULT
    _S = struct.Struct(">IH")

    def body(self):
        return self._S.pack(self.request, self.code) + _text(self.reason)

    @classmethod
    def parse(cls, r):
        req, code = r.unpack(cls._S)
        return cls(req, _code(code), r.text())


@dataclass(frozen=True)
class Slot:
    """Server to listener, after SUBSCRIBE's RESULT and whenever ``heard`` changes: the
    listener's slot, and whether the broadcaster takes that slot's returns (REGISTER
    return_slots). A listener that is not heard need not send them."""

    handle: str
    slot: int
    heard: bool = True

    TYPE = MsgType.SLOT
    _S = struct.Struct(">HB")

    def body(self):
        return _text(self.handle) + self._S.pack(self.slot, int(self.heard))

    @classmethod
    def parse(cls, r):
        handle = r.text()
        slot, heard = r.unpack(cls._S)
        _check(heard in (0, 1), "heard must be 0 or 1")
        return cls(handle, slot, bool(heard))


LOSS_SCALE = 65535  # REPORT's loss: this many is 100 %


@dataclass(frozen=True)
class Report:
    """UDP only: the fraction of audio the receiver asks the sender's parity to cover,
    what it lost of the sender's audio frames lately (before FEC rebuilt them), combined
    with the loss further on for audio it relays. ``loss`` in units of 1/65535."""

    loss: int

    TYPE = MsgType.REPORT
    _S = struct.Struct(">H")

    def body(self):
        return self._S.pack(self.loss)

    @classmethod
    def parse(cls, r):
        return cls(*r.unpack(cls._S))


@dataclass(frozen=True)
class Probe:
    """UDP only, alone in its DATAGRAM: ``padding`` zero bytes make the datagram as large
    as the path MTU being tried. The receiver answers PROBE_ACK with the same id."""

    probe_id: int
    padding: int = 0

    TYPE = MsgType.PROBE
    _S = struct.Struct(">I")

    def body(self):
        return self._S.pack(self.probe_id) + bytes(self.padding)

    @classmethod
    def parse(cls, r):
        (probe_id,) = r.unpack(cls._S)
        pad = bytes(r.rest())
        _check(pad == bytes(len(pad)), "padding must be zero")
        return cls(probe_id, len(pad))


@dataclass(frozen=True)
class ProbeAck:
    """UDP only: the PROBE with this id arrived."""

    probe_id: int

    TYPE = MsgType.PROBE_ACK
    _S = struct.Struct(">I")

    def body(self):
        return self._S.pack(self.probe_id)

    @classmethod
    def parse(cls, r):
        return cls(*r.unpack(cls._S))


MESSAGES = {cls.TYPE: cls for cls in (Hello, Welcome, Reject, Frame, Parity, Report, Probe, ProbeAck, Ping, Pong, Keepalive, Bye,
                                      Error, StreamInfo, Register, Subscribe, Unsubscribe, ListStreams,
                                      Listing, Result, Slot)}

Message = (Hello | Welcome | Reject | Frame | Parity | Report | Probe | ProbeAck | Ping | Pong | Keepalive | Bye | Error | StreamInfo
           | Register | Subscribe | Unsubscribe | ListStreams | Listing | Result | Slot)


def _code(value):
    try:
        return ErrorCode(value)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_VALUE, f"unknown error code {value}") from None


def header(msg_type: int) -> bytes:
    return HEADER.pack(MAGIC, VERSION, msg_type)


def encode(msg) -> bytes:
    data = header(msg.TYPE) + msg.body()
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"message of {len(data)} bytes is over the {MAX_MESSAGE}-byte limit")
    return data


def peek_type(data) -> int:
    """The message type of a datagram whose header is valid; raises ProtocolError otherwise."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError(ErrorCode.MALFORMED, "shorter than the header")
    magic, version, msg_type = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ProtocolError(ErrorCode.BAD_MAGIC, "bad magic")
    if version != VERSION:
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION, f"version {version}", version)
    return msg_type


def decode(data) -> Message:
    """Exactly one message from ``data`` (bytes-like), or ProtocolError."""
    try:
        if len(data) > MAX_MESSAGE:
            raise ProtocolError(ErrorCode.MALFORMED, "message too long")
        msg_type = peek_type(data)
        cls = MESSAGES.get(msg_type)
        if cls is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"type 0x{msg_type:02x}")
        r = _Reader(memoryview(data), HEADER_SIZE)
        msg = cls.parse(r)
        r.end()
        return msg
    except ProtocolError:
        raise
    except Exception as exc:  # a bug in a parser must not turn into a crash on hostile input
        raise ProtocolError(ErrorCode.MALFORMED, f"undecodable: {type(exc).__name__}") from None
