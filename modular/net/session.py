"""One peer-to-peer session as a state machine: messages and a clock in, messages and events out.

No sockets, threads or clock reads here. The carrier (kcp_link over UDP, framing over
TCP) hands every received message to ``receive_message(data, now)`` and sends whatever
``take_outgoing()`` returns; it calls ``tick(now)`` at ``next_deadline`` at the latest.

    client                          server
    CONNECTING --HELLO-->                         (HELLO repeated until answered)
               <--WELCOME--         AWAITING      (or REJECT, and the client is CLOSED)
    ESTABLISHED  --any-->           ESTABLISHED
    ... FRAME, PING/PONG, KEEPALIVE both ways ...
    CLOSED       --BYE-->           CLOSED        (or silence for `timeout`: PeerGone)
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass, field

import numpy as np

from . import wire
from .latency import LatencyTracker
from .wire import ErrorCode, ProtocolError


class State(enum.Enum):
    CONNECTING = "connecting"  # client, HELLO sent
    AWAITING = "awaiting"  # server, WELCOME sent, nothing heard since
    ESTABLISHED = "established"
    CLOSED = "closed"


_ESTABLISHED, _CLOSED = State.ESTABLISHED, State.CLOSED  # (an Enum member's lookup is slow in hot paths)


@dataclass
class SessionConfig:
    hello_interval: float = 0.25  # HELLO is repeated this often until answered (it may be lost)
    handshake_timeout: float = 5.0
    ping_interval: float = 0.25  # latency is tracked continuously
    keepalive_interval: float = 1.0  # something is sent at least this often
    timeout: float = 10.0  # silence after which the peer is gone
    name: str = ""
    sample_rate: int = 48000
    block: int = 64


# How a carrier should send each outgoing message.
RELIABLE = 0  # in order, never dropped (handshake, CV, BYE, radio messages)
DROPPABLE = 1  # audio: over UDP a DATAGRAM with forward error correction (fec.py), over TCP
#                in order but dropped rather than queued when the carrier is backed up
UNRELIABLE = 2  # may be sent outside the reliable stream, may be lost (PING, PONG, KEEPALIVE):
#                 latency is measured on the path, not behind retransmissions
# A relay (the radio server) forwards audio with the parity its sender made, rather than
# coding it again for every hop and every listener:
PROTECTED = 3  # an audio FRAME whose PARITY is forwarded along: over UDP a DATAGRAM with no
#                parity of this session's own; over TCP as DROPPABLE
FORWARDED_PARITY = 4  # a PARITY message forwarded: over UDP a DATAGRAM; over TCP not sent

# ---------------------------------------------------------------- events


@dataclass
class Connected:
    session_id: int
    peer_name: str


@dataclass
class Rejected:
    code: ErrorCode
    reason: str


@dataclass
class FrameReceived:
    frame: wire.Frame
    arrival: float  # the receiver's clock, seconds
    data: bytes = b""  # the FRAME message as it arrived (a relay forwards it without encoding it again)


@dataclass
class ParityReceived:
    """A PARITY that arrived (UDP, for a relay that forwards it: UdpPeer.relay_parity)."""

    parity: wire.Parity
    data: bytes  # the message as it arrived


@dataclass
class MessageReceived:
    """A radio message (REGISTER, SUBSCRIBE, ...) or an ERROR for the application to handle."""

    message: object


@dataclass
class PeerClosed:
    code: ErrorCode
    reason: str


@dataclass
class PeerGone:
    reason: str


# ---------------------------------------------------------------- per-stream receive statistics


@dataclass
class StreamStats:
    """Sequence-number and arrival statistics of one incoming stream."""

    received: int = 0
    lost: int = 0  # sequence numbers skipped (sender drops, or UDP losses with no retransmission)
    duplicates: int = 0
    reordered: int = 0
    jitter: float = 0.0  # RFC 3550 interarrival jitter, seconds
    _next_seq: int | None = None
    _transit: float | None = None

    def update(self, seq: int, position: int, arrival: float, sample_rate: int):
        self.received += 1
        if self._next_seq is None:
            self._next_seq = (seq + 1) & 0xFFFFFFFF
        else:
            ahead = (seq - self._next_seq) & 0xFFFFFFFF
            if ahead < 0x80000000:  # seq is at or after the one expected
                self.lost += ahead
                self._next_seq = (seq + 1) & 0xFFFFFFFF
            elif ((self._next_seq - 1 - seq) & 0xFFFFFFFF) == 0:
                self.duplicates += 1
                return
            else:  # an earlier one we had counted as lost
                self.reordered += 1
                self.lost = max(0, self.lost - 1)
        transit = arrival - position / sample_rate
        if self._transit is not None:
            d = abs(transit - self._transit)
            self.jitter += (d - self.jitter) / 16.0
        self._transit = transit

    @property
    def loss_fraction(self) -> float:
        total = self.received + self.lost
        return self.lost / total if total else 0.0


# ---------------------------------------------------------------- the session


def _us(t: float) -> int:
    return int(round(t * 1e6)) & 0xFFFFFFFFFFFFFFFF


class Session:
    """Use ``Session.connect`` (client) or ``Session.accept`` (server)."""

    def __init__(self, state: State, now: float, config: SessionConfig):
        self.state = state
        self.config = config
        self.session_id = 0
        self.token = b""
        self.nonce = 0
        self.peer_name = ""
        self.peer_sample_rate = config.sample_rate
        self.latency = LatencyTracker()
        self.streams: dict[int, StreamStats] = {}
        self.rejected = 0  # malformed or unexpected messages, dropped
        self.last_error: ProtocolError | None = None
        self.sent_messages = 0
        self.received_messages = 0
        self._outgoing: list[tuple[bytes, int]] = []
        self._events: list = []
        self._seq: dict[int, int] = {}
        self._started = now
        self._last_heard = now
        self._last_sent = now
        self._next_hello = now
        self._next_ping = now
        self._ping_id = 0
        self._pings = collections.OrderedDict()  # ping id -> t1 µs, the few still unanswered
        self._welcome: bytes | None = None

    # -- construction

    @classmethod
    def connect(cls, now: float, nonce: int, config: SessionConfig | None = None) -> Session:
        s = cls(State.CONNECTING, now, config or SessionConfig())
        s.nonce = nonce & 0xFFFFFFFFFFFFFFFF
        s._hello = wire.encode(wire.Hello(s.nonce, s.config.sample_rate, s.config.block, s.config.name))
        s.tick(now)
        return s

    @classmethod
    def accept(cls, hello: wire.Hello, now: float, session_id: int, token: bytes,
               config: SessionConfig | None = None) -> Session:
        s = cls(State.AWAITING, now, config or SessionConfig())
        s.nonce, s.session_id, s.token = hello.nonce, session_id, token
        s.peer_name, s.peer_sample_rate = hello.name, hello.sample_rate
        s._welcome = wire.encode(wire.Welcome(
            hello.nonce, session_id, token, s.config.sample_rate,
            int(s.config.keepalive_interval * 1000), int(s.config.timeout * 1000), s.config.name))
        s._queue(s._welcome, now)
        return s

    def resend_welcome(self, now: float):
        """The client repeated its HELLO: our WELCOME was lost (UDP); send it again."""
        if self._welcome is not None and self.state is not State.CLOSED:
            self._queue(self._welcome, now)

    # -- output

    def _queue(self, data: bytes, now: float, how: int = RELIABLE):
        self._outgoing.append((data, how))
        self._last_sent = now
        self.sent_messages += 1

    def send(self, msg, now: float) -> bool:
        """Send any message (radio messages, ERROR); False if the session is not open."""
        if self.state not in (State.ESTABLISHED, State.AWAITING):
            return False
        self._queue(wire.encode(msg), now)
        return True

    def send_frame(self, stream: int, position: int, block: np.ndarray, now: float, *, cv: bool = False,
                   encoding: wire.Encoding = wire.Encoding.FLOAT32, flags: int = 0) -> bool:
        """Send a (channels, frames) block of volts as the next frame of ``stream``.
        CV is always bit-perfect: RUNS (float32 with held values sent once). Audio frames
        are marked droppable."""
        if self.state is not State.ESTABLISHED:
            return False
        if cv:
            encoding, flags = wire.Encoding.RUNS, flags | wire.FLAG_CV
        channels, frames = block.shape
        seq = self._seq.get(stream, 0)
        self._seq[stream] = (seq + 1) & 0xFFFFFFFF
        msg = wire.Frame(stream, seq, position, channels, frames, encoding,
                         wire.encode_samples(block, encoding), flags)
        self._queue(wire.encode(msg), now, RELIABLE if cv else DROPPABLE)
        return True

    def take_outgoing(self) -> list[tuple[bytes, int]]:
        """Messages to send, as (bytes, how): how is RELIABLE, DROPPABLE or UNRELIABLE."""
        out, self._outgoing = self._outgoing, []
        return out

    def events(self) -> list:
        out, self._events = self._events, []
        return out

    def carrier_event(self, event):
        """For the carrier: an event of its own (ParityReceived), in order with the others."""
        self._events.append(event)

    def close(self, now: float, code: ErrorCode = ErrorCode.NONE, reason: str = ""):
        if self.state in (State.ESTABLISHED, State.AWAITING):
            self._queue(wire.encode(wire.Bye(code, reason)), now)
        self.state = State.CLOSED

    # -- input

    def receive_message(self, data, now: float) -> wire.Message | None:
        """Handle one received message. Malformed or unexpected input is counted in
        ``rejected`` and dropped; nothing raises."""
        if self.state is State.CLOSED:
            return None
        try:
            msg = wire.decode(data)
            self._handle(msg, now, data)
        except ProtocolError as exc:
            self.rejected += 1
            self.last_error = exc
            return None
        self.received_messages += 1
        self._last_heard = now
        return msg

    def _handle(self, msg, now, data=b""):
        t = type(msg)
        if self.state is State.CONNECTING:
            if t is wire.Welcome and msg.nonce == self.nonce:
                self.state = State.ESTABLISHED
                self.session_id, self.token = msg.session_id, msg.token
                self.peer_name, self.peer_sample_rate = msg.name, msg.sample_rate
                # the server's keepalive/timeout are what it expects of us
                self.config.keepalive_interval = min(self.config.keepalive_interval, msg.keepalive_ms / 1000)
                self.config.timeout = msg.timeout_ms / 1000
                self._next_ping = now
                self._events.append(Connected(msg.session_id, msg.name))
                return
            if t is wire.Reject and msg.nonce == self.nonce:
                self.state = State.CLOSED
                self._events.append(Rejected(msg.code, msg.reason))
                return
            raise ProtocolError(ErrorCode.UNEXPECTED, f"{t.__name__} before WELCOME")
        if t in (wire.Hello, wire.Welcome, wire.Reject):
            raise ProtocolError(ErrorCode.UNEXPECTED, f"{t.__name__} in an open session")
        if self.state is State.AWAITING:
            self.state = State.ESTABLISHED
            self._next_ping = now
            self._events.append(Connected(self.session_id, self.peer_name))
        if t is wire.Frame:
            st = self.streams.get(msg.stream)
            if st is None:
                st = self.streams[msg.stream] = StreamStats()
            st.update(msg.seq, msg.position, now, self.peer_sample_rate)
            self._events.append(FrameReceived(msg, now, data))
        elif t is wire.Ping:
            self._queue(wire.encode(wire.Pong(msg.ping_id, msg.t1, _us(now), _us(now))), now, UNRELIABLE)
        elif t is wire.Pong:
            t1 = self._pings.pop(msg.ping_id, None)
            if t1 != msg.t1:
                raise ProtocolError(ErrorCode.UNEXPECTED, "PONG for no outstanding PING")
            self.latency.add(msg.t1 / 1e6, msg.t2 / 1e6, msg.t3 / 1e6, now)
        elif t is wire.Keepalive:
            pass
        elif t is wire.Bye:
            self.state = State.CLOSED
            self._events.append(PeerClosed(msg.code, msg.reason))
        else:  # ERROR and the radio messages are the application's business
            self._events.append(MessageReceived(msg))

    # -- time

    def tick(self, now: float):
        if self.state is State.CONNECTING:
            if now - self._started >= self.config.handshake_timeout:
                self.state = State.CLOSED
                self._events.append(PeerGone("no answer to HELLO"))
            elif now >= self._next_hello:
                self._queue(self._hello, now)
                self._next_hello = now + self.config.hello_interval
            return
        if self.state is State.CLOSED:
            return
        limit = self.config.handshake_timeout if self.state is State.AWAITING else self.config.timeout
        if now - self._last_heard >= limit:
            self.state = State.CLOSED
            self._events.append(PeerGone(f"silent for {now - self._last_heard:.1f} s"))
            return
        if self.state is State.ESTABLISHED and now >= self._next_ping:
            self._ping_id = (self._ping_id + 1) & 0xFFFFFFFF
            t1 = _us(now)
            self._pings[self._ping_id] = t1
            while len(self._pings) > 16:
                self._pings.popitem(last=False)
            self._queue(wire.encode(wire.Ping(self._ping_id, t1)), now, UNRELIABLE)
            self._next_ping = now + self.config.ping_interval
        if now - self._last_sent >= self.config.keepalive_interval:
            self._queue(wire.encode(wire.Keepalive()), now, UNRELIABLE)

    @property
    def next_deadline(self) -> float:
        st, c = self.state, self.config
        if st is _ESTABLISHED:  # first: a server asks this of every session, hundreds of times a second
            return min(self._last_heard + c.timeout, self._last_sent + c.keepalive_interval, self._next_ping)
        if st is _CLOSED:
            return float("inf")
        if st is State.CONNECTING:
            return min(self._next_hello, self._started + c.handshake_timeout)
        return min(self._last_heard + c.handshake_timeout, self._last_sent + c.keepalive_interval)

    @property
    def is_open(self) -> bool:
        return self.state is State.ESTABLISHED

    def stats(self) -> dict:
        lost = sum(s.lost for s in self.streams.values())
        got = sum(s.received for s in self.streams.values())
        return {"state": self.state.value, "session_id": self.session_id, "rejected": self.rejected,
                "loss_pct": 100.0 * lost / (lost + got) if lost + got else 0.0,
                **self.latency.snapshot()}
