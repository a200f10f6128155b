"""A KCP conversation as a sans-I/O object: messages in, sealed UDP datagrams out.

KCP turns lossy datagrams into a reliable ordered message stream by retransmitting
quickly (no-delay mode, fast resend after 2 duplicate acks, no congestion window). It has
no integrity check of its own, and one forged segment with the right conversation id and
a plausible sequence number would be taken as data, so every datagram carries a keyed
tag (BLAKE2s-64 of header and body, keyed with the session token from WELCOME):

    SEALED   = "MX" | version | 0x04 | tag (8 bytes) | KCP segment(s)
    DATAGRAM = "MX" | version | 0x05 | tag (8 bytes) | session id (u32 LE) | count (u8) |
               count x (length u16 | message)
    SEGMENT  = "MX" | version | 0x06 | KCP segment(s)     (a message inside a DATAGRAM)

The KCP segment starts with the conversation id (little-endian u32), which is the session
id: that is how a server finds the session even if the client's address changes. DATAGRAM
carries what must not wait behind a retransmission (PING, PONG, KEEPALIVE, and audio
FRAMEs with their PARITY: fec.py), several messages to a datagram where they fit. KCP
output that is ready when unreliable messages go out rides in their DATAGRAM as SEGMENT
messages (udp.py), so a peer sends one datagram per block rather than one per carrier:
the broadcaster's CV with its audio, a listener's acks with its return.

Facts about the ``kcp`` package this relies on (DESIGN.md): ``flush()`` after every
``enqueue()`` and ``receive()``, else data waits for the next update tick; ``flush()``
before the first ``update()`` sends nothing; the send window must be >= 256 at our packet
rates; ``update_check()`` is only right without a timestamp, so with a virtual clock we
tick every ``interval`` ms ourselves; the outbound handler only appends to a list.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import kcp

from . import wire
from .wire import ErrorCode, ProtocolError

TAG_SIZE = 8
SEALED_HEADER = wire.header(wire.MsgType.SEALED)
DATAGRAM_HEADER = wire.header(wire.MsgType.DATAGRAM)
SEGMENT_HEADER = wire.header(wire.MsgType.SEGMENT)
SEALED_OVERHEAD = wire.HEADER_SIZE + TAG_SIZE
KCP_OVERHEAD = 24
_CONV = struct.Struct("<I")
_LEN = struct.Struct(">H")
_MIN_BODY = {wire.MsgType.SEALED: KCP_OVERHEAD, wire.MsgType.DATAGRAM: 4 + 1 + 2 + wire.HEADER_SIZE}
DATAGRAM_OVERHEAD = SEALED_OVERHEAD + 4 + 1  # before the first message's length
_COUNT = [bytes((n,)) for n in range(256)]
_NEVER = float("inf")


def tag(token: bytes, header, body) -> bytes:
    """The header is covered too, so a SEALED cannot be passed off as a DATAGRAM."""
    h = hashlib.blake2s(header, key=token, digest_size=TAG_SIZE)
    h.update(body)
    return h.digest()


def seal(header: bytes, token: bytes, body: bytes) -> bytes:
    """``body`` starts with the conversation id, little-endian (a KCP segment does)."""
    return header + tag(token, header, body) + body


def sealed_conv(datagram) -> int:
    """The session id of a SEALED or DATAGRAM datagram, before its tag is checked;
    ProtocolError if it is too short to be one."""
    if len(datagram) < SEALED_OVERHEAD + _MIN_BODY.get(datagram[3], 1 << 30):
        raise ProtocolError(ErrorCode.MALFORMED, "sealed datagram too short")
    return _CONV.unpack_from(datagram, SEALED_OVERHEAD)[0]


def unseal(token: bytes, datagram) -> bytes:
    """The body (conv + KCP segment or message) of a sealed datagram whose tag is right;
    ProtocolError otherwise."""
    if len(datagram) < SEALED_OVERHEAD + _MIN_BODY.get(datagram[3], 1 << 30):
        raise ProtocolError(ErrorCode.MALFORMED, "sealed datagram too short")
    body = bytes(datagram[SEALED_OVERHEAD:])
    expected = tag(token, bytes(datagram[:wire.HEADER_SIZE]), body)
    if not hmac.compare_digest(expected, bytes(datagram[wire.HEADER_SIZE:SEALED_OVERHEAD])):
        raise ProtocolError(ErrorCode.AUTH, "bad tag")
    return body


def seal_datagram(token: bytes, conv: int, messages) -> bytes:
    """A DATAGRAM: one message (bytes) or several (a list), outside KCP, authenticated
    like a SEALED segment."""
    if isinstance(messages, (bytes, bytearray, memoryview)):
        messages = [messages]
    if not 1 <= len(messages) <= 255:
        raise ValueError("a DATAGRAM holds 1 to 255 messages")
    parts = [_CONV.pack(conv), _COUNT[len(messages)]]
    for m in messages:
        parts.append(_LEN.pack(len(m)))
        parts.append(m)
    body = b"".join(parts)  # one copy of the messages, and one more with the tag: the least a seal costs
    return b"".join((DATAGRAM_HEADER, tag(token, DATAGRAM_HEADER, body), body))


def pack_datagrams(token: bytes, conv: int, segments, messages, mtu: int) -> list[bytes]:
    """The datagrams that carry unreliable ``messages`` led by KCP output ``segments``:
    each segment as a SEGMENT message where it fits a DATAGRAM (else SEALED, alone), and
    everything packed in order into as few DATAGRAMs of at most ``mtu`` bytes as it goes."""
    room = mtu - datagram_size([len(SEGMENT_HEADER)])
    out, cur, size = [], [], DATAGRAM_OVERHEAD  # size: datagram_size(cur), kept as messages are added
    for seg in segments:
        if len(seg) > room:
            out.append(seal(SEALED_HEADER, token, seg))
            continue
        seg = SEGMENT_HEADER + seg
        if cur and size + 2 + len(seg) > mtu:
            out.append(seal_datagram(token, conv, cur))
            cur, size = [], DATAGRAM_OVERHEAD
        cur.append(seg)
        size += 2 + len(seg)
    for m in messages:
        if cur and size + 2 + len(m) > mtu:
            out.append(seal_datagram(token, conv, cur))
            cur, size = [], DATAGRAM_OVERHEAD
        cur.append(m)
        size += 2 + len(m)
    if cur:
        out.append(seal_datagram(token, conv, cur))
    return out


def datagram_size(sizes) -> int:
    """The bytes of a DATAGRAM holding messages of these sizes."""
    return DATAGRAM_OVERHEAD + sum(2 + n for n in sizes)


def _messages(body) -> list[bytes]:
    """The messages of a DATAGRAM body (after its session id): exactly as many as it
    says, each at least a header long, nothing left over; ProtocolError otherwise."""
    count = body[4]
    pos = 5
    out = []
    if count == 0:
        raise ProtocolError(ErrorCode.MALFORMED, "empty DATAGRAM")
    for _ in range(count):
        if pos + 2 > len(body):
            raise ProtocolError(ErrorCode.MALFORMED, "truncated DATAGRAM")
        (n,) = _LEN.unpack_from(body, pos)
        pos += 2
        if n < wire.HEADER_SIZE or pos + n > len(body):
            raise ProtocolError(ErrorCode.MALFORMED, "bad message length in DATAGRAM")
        out.append(body[pos:pos + n])
        pos += n
    if pos != len(body):
        raise ProtocolError(ErrorCode.MALFORMED, "trailing bytes in DATAGRAM")
    return out


def open_datagram(token: bytes, conv: int, datagram) -> list[bytes]:
    """The messages in an authentic DATAGRAM of conversation ``conv``; ProtocolError otherwise."""
    body = unseal(token, datagram)
    if _CONV.unpack_from(body)[0] != conv:
        raise ProtocolError(ErrorCode.AUTH, "another conversation")
    return _messages(body)


class KcpLink:
    """Reliable ordered messages over SEALED datagrams, for one session."""

    def __init__(self, conv: int, token: bytes, now: float, *, mtu: int = 1200, interval_ms: int = 5,
                 window: int = 512, max_backlog: int = 256, ack_delay: float = 0.0):
        self.conv = conv
        self.token = token
        self.interval = interval_ms / 1000.0
        self.max_backlog = max_backlog  # KCP segments waiting; beyond this, audio is dropped
        self._out: list[bytes] = []  # KCP segments, sealed on the way out
        self._datagrams: list[bytes] = []  # sealed unreliable messages
        self._conv_bytes = _CONV.pack(conv)
        # KCP's mtu counts its own header; ours comes on top and must fit the UDP budget
        self._kcp = kcp.KCP(conv, max_transmission=mtu - SEALED_OVERHEAD, no_delay=True,
                            update_interval=interval_ms, resend_count=2, no_congestion_control=True,
                            send_window_size=window, receive_window_size=window)
        self._kcp.include_outbound_handler(self._on_output)
        self._next_update = now
        self._acks_due = False
        # acks with nothing to ride in (take_datagrams) may wait this long for a DATAGRAM
        # (take_segments): a listener that sends no returns acks a frame of 256 every
        # other frame instead of every frame, and the server reads half the datagrams
        self.ack_delay = ack_delay
        self._ack_at = _NEVER
        self.dropped = 0  # droppable messages discarded because KCP was backed up
        self.rejected = 0
        self.sent = 0
        self.tick(now)

    def _on_output(self, _kcp, data):
        self._out.append(data)

    @staticmethod
    def _ms(now: float) -> int:
        return int(now * 1000.0) & 0xFFFFFFFF

    @property
    def backlog(self) -> int:
        """KCP segments queued or in flight, not yet acknowledged."""
        return self._kcp.get_outbound_packets()

    def send(self, message: bytes, now: float, droppable: bool = False) -> bool:
        """Queue one message. A droppable one (audio) is discarded when the backlog is over
        ``max_backlog``: late audio is useless, and queueing it would delay the CV too."""
        if droppable and self.backlog >= self.max_backlog:
            self.dropped += 1
            return False
        self._kcp.enqueue(bytes(message))
        self.sent += 1
        return True

    def send_datagram(self, message: bytes):
        """Send one message outside KCP: no retransmission, no head-of-line wait."""
        self._datagrams.append(seal_datagram(self.token, self.conv, message))
        self.sent += 1

    def flush(self, now: float):
        """Push queued messages out now instead of at the next tick (with any acks due)."""
        self._kcp.update(self._ms(now))
        self._kcp.flush()
        self._acks_due = False
        self._ack_at = _NEVER

    def datagram_received(self, datagram, now: float) -> list[bytes]:
        """The messages completed by one SEALED or DATAGRAM datagram. Raises ProtocolError
        (and counts it) if the datagram is not an authentic one of this conversation."""
        try:
            body = unseal(self.token, datagram)
            if body[:4] != self._conv_bytes:
                raise ProtocolError(ErrorCode.AUTH, "another conversation")
            if datagram[3] == wire.MsgType.DATAGRAM:
                return _messages(body)
        except ProtocolError:
            self.rejected += 1
            raise
        return self.segments_received(body, now)

    def segments_received(self, segments, now: float) -> list[bytes]:
        """The messages completed by KCP segments already authenticated (a SEALED body, or
        a SEGMENT message of a DATAGRAM without its header); ProtocolError if KCP refuses
        them."""
        if bytes(segments[:4]) != self._conv_bytes:
            self.rejected += 1
            raise ProtocolError(ErrorCode.AUTH, "another conversation")
        if not self.ack_delay or self._kcp.get_outbound_packets():
            # KCP's clock, for the round trip of what is acked. KCP's update also sends
            # the acks due once an interval has passed: with nothing of ours in flight
            # there is no round trip to time, and acks held back stay held
            self._kcp.update(self._ms(now))
        try:
            self._kcp.receive(bytes(segments))
        except Exception:
            self.rejected += 1
            raise ProtocolError(ErrorCode.MALFORMED, "KCP refused the segment") from None
        # the acks are made when the output is taken (take_segments/take_datagrams), right
        # after the caller has read what arrived at once: one ack datagram for a batch of
        # segments, or none of its own when a DATAGRAM leaves just then (a return)
        if not self._acks_due:
            self._acks_due = True
            if self.ack_delay:  # else they go with the next take, which the caller makes now
                self._ack_at = now + self.ack_delay
        return [bytes(m) for m in self._kcp.get_all_received()]

    def tick(self, now: float):
        if now >= self._next_update and (not self.ack_delay or now >= self._ack_at
                                         or self._kcp.get_outbound_packets()):
            self._kcp.update(self._ms(now))
            self._next_update = now + self.interval

    @property
    def next_deadline(self) -> float:
        """When KCP must be ticked: every interval while a segment waits to be sent or
        acknowledged (its retransmission timer); never while there is none. A send is
        flushed at once, and the acks for what arrived go out when the output is taken,
        which the caller does in the same turn. A server's links to its listeners are
        idle between frames most of the time: their CV is acknowledged within a few
        milliseconds. Acks held back (``ack_delay``) are due when their wait is over."""
        t = self._ack_at
        if self._kcp.get_outbound_packets():
            return min(t, self._next_update)
        return t

    def _ack(self):
        if self._acks_due:
            self._acks_due = False
            self._ack_at = _NEVER
            self._kcp.flush()

    def take_segments(self) -> list[bytes]:
        """KCP's output so far, unsealed, for a DATAGRAM to carry (as SEGMENT messages)."""
        self._ack()
        out, self._out = self._out, []
        return out

    def take_datagrams(self, now: float | None = None) -> list[bytes]:
        """Everything to send as datagrams of its own. Acks go with it at once, or, with
        an ``ack_delay`` and the time ``now``, once they have waited that long for a
        DATAGRAM to ride in (take_segments) and none has left."""
        if now is None or not self.ack_delay or now >= self._ack_at:
            self._ack()
        out, self._out = self._out, []
        sealed, self._datagrams = self._datagrams, []
        return sealed + [seal(SEALED_HEADER, self.token, seg) for seg in out]
