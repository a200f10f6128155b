"""Sessions over UDP, sans-I/O: the client end and the server's demultiplexer.

Handshake messages (HELLO, WELCOME, REJECT) travel as bare datagrams, because there is
no KCP conversation until the server has picked a session id and token; the client
repeats HELLO until it is answered, and the server answers a repeated HELLO with the same
WELCOME. After the handshake, what must arrive goes through the session's KcpLink as
SEALED datagrams; PING/PONG/KEEPALIVE and audio frames (with their PARITY, fec.py) go
as DATAGRAMs, packed several to a datagram where they fit, and the KCP output ready at
that moment (CV queued with the audio, acks of what just arrived) rides along as SEGMENT
messages: a peer sends one datagram a block where it fits, not one per carrier. The server creates a session (and its KCP object, which is never freed) only
for a well-formed HELLO, keeps at most ``max_sessions``, and forgets a session that
stays silent after its WELCOME for the handshake timeout, so garbage cannot grow it.

Nothing here raises on bad input: every rejected datagram is counted in ``rejected``.
"""

from __future__ import annotations

import random
import secrets

import collections

from . import wire
from .fec import PARITY_INDEX, FecDecoder, FecEncoder, frame_ids, warm_up
from .kcp_link import DATAGRAM_OVERHEAD, KcpLink, open_datagram, pack_datagrams, seal_datagram, sealed_conv, unseal
from .pathloss import InboundLoss, ReportedLoss
from .pmtu import BASE_MTU, PathMtu
from .session import (DROPPABLE, FORWARDED_PARITY, PROTECTED, UNRELIABLE, ParityReceived, Session, SessionConfig,
                      State)
from .wire import ErrorCode, MsgType, ProtocolError

LINGER = 1.0  # seconds a closed session keeps retransmitting its BYE
MTU = BASE_MTU  # bytes of UDP payload every path carries: KCP's budget, and DATAGRAMs' until probed larger
AUDIO_FEC = (4, 4)  # k frames, m parity pieces: audio FRAMEs as DATAGRAMs (fec.py); None: audio over KCP
PARITY_WAIT = 0.01  # seconds parity waits for an audio datagram to ride with before it goes alone
ACK_DELAY = 0.01  # seconds KCP's acks wait for a datagram to ride in before they go alone
TICK_GRAIN = 0.002  # seconds: how often a server ticks its sessions at most
# message types as plain ints: an IntEnum member's lookup costs more than the comparison
_HANDSHAKE = frozenset({int(MsgType.HELLO), int(MsgType.WELCOME), int(MsgType.REJECT)})
_FRAME, _PARITY, _REPORT = int(MsgType.FRAME), int(MsgType.PARITY), int(MsgType.REPORT)
_SEGMENT, _SEALED, _DATAGRAM = int(MsgType.SEGMENT), int(MsgType.SEALED), int(MsgType.DATAGRAM)
_PROBE, _PROBE_ACK = int(MsgType.PROBE), int(MsgType.PROBE_ACK)
_PROBE_BYTES = DATAGRAM_OVERHEAD + 2 + len(wire.encode(wire.Probe(0)))  # a probe DATAGRAM without padding


class UdpPeer:
    """A Session plus, once established, its KcpLink; routes messages between them.

    The client makes its KcpLink as soon as WELCOME gives it a token. The server makes
    one only when the first authentic sealed datagram arrives (or it has something
    reliable to send): KCP objects are never freed, so a forged HELLO must not cost one.
    """

    def __init__(self, session: Session, addr=None, link_options: dict | None = None, eager_link=False,
                 fec=AUDIO_FEC, relay_parity=False):
        self.session = session
        self.relay_parity = relay_parity  # PARITY received also goes to the application (ParityReceived)
        self.eager_link = eager_link
        self.addr = addr
        self.link: KcpLink | None = None
        self.link_options = link_options or {}
        self.closed_at: float | None = None
        self._raw: list[bytes] = []
        # audio (droppable FRAMEs) as DATAGRAMs with parity; without fec, through KCP
        self.fec = FecEncoder(*fec) if fec else None
        self.fec_rx = FecDecoder()
        self._parity: collections.deque[bytes] = collections.deque()
        self._parity_since = 0.0
        self._per_frame = 1 if not fec else -(-fec[1] // fec[0])  # parity pieces sent with each frame
        self._group = fec[0] if fec else 1
        # parity sized by the loss the peer reports (pathloss.py), and our reports to it
        self.loss_in = InboundLoss(session._started)
        self.reported = ReportedLoss()
        self.parity_withheld = 0  # pieces not sent: the peer's path does not need them
        # DATAGRAMs as large as the path carries (pmtu.py); the PROBE_ACKs we owe the peer
        self.pmtu = PathMtu(session._started)
        self._probe_acks: list[bytes] = []
        self._now = float("-inf")  # the time of the last pump: take_datagrams lets acks wait until due

    def _ensure_link(self, now) -> KcpLink:
        if self.link is None:
            options = {"ack_delay": ACK_DELAY, **self.link_options}
            self.link = KcpLink(self.session.session_id, self.session.token, now, **options)
        return self.link

    def pump(self, now: float):
        """Move the session's outgoing messages onto the wire."""
        s = self.session
        self._now = now
        if self.eager_link and s.token:
            self._ensure_link(now)
        pushed = False
        unreliable = []
        parity = []
        pieces = -1  # how many pieces of a group's parity the peer's path needs, once asked
        if self.fec is not None and s.token:
            report = self.loss_in.report(now)
            if report is not None:
                unreliable.append(report)
        if self._probe_acks:
            unreliable += self._probe_acks
            self._probe_acks.clear()
        if now >= self.pmtu.next_deadline and s.state is State.ESTABLISHED:
            self._probe(now)
        for data, how in s.take_outgoing():
            if not s.token or data[3] in _HANDSHAKE:
                self._raw.append(data)
            elif how == UNRELIABLE:
                unreliable.append(data)
            elif how == DROPPABLE and self.fec is not None and data[3] == _FRAME:
                unreliable.append(data)
                made = self.fec.add(data)
                if made:
                    if pieces < 0:
                        pieces = self.reported.pieces(now, self.fec.k, self.fec.m)
                    kept = made[:pieces]
                    parity += kept
                    self.parity_withheld += len(made) - len(kept)
            elif how == PROTECTED and self.fec is not None:
                unreliable.append(data)  # a relayed frame: the parity its sender made comes along
            elif how == FORWARDED_PARITY and self.fec is not None:
                # its k and m sit just before the piece index
                if data[PARITY_INDEX] < self.reported.pieces(now, data[PARITY_INDEX - 2], data[PARITY_INDEX - 1]):
                    unreliable.append(data)
                else:
                    self.parity_withheld += 1
            elif how == FORWARDED_PARITY:
                pass  # without FEC of our own, the peer would not expect parity either
            else:
                self._ensure_link(now).send(data, now, droppable=bool(how))
                pushed = True
        if pushed:
            self.link.flush(now)
        if unreliable or self._parity:
            self._pack(unreliable, now)
        if parity:  # after the frames they protect are out: never in the same datagram
            if not self._parity:
                self._parity_since = now
            self._parity.extend(parity)
        if self.session.state is State.CLOSED and self.closed_at is None:
            self.closed_at = now

    def _pack(self, messages: list[bytes], now: float):
        """Seal unreliable messages into as few DATAGRAMs as fit the MTU, led by the KCP
        output ready now (as SEGMENT messages: CV queued with the audio, acks of what just
        arrived). Each audio frame takes the next parity piece along (in its datagram, or
        right after it), so the protection of a group is spread over the frames of the
        next one."""
        out: list[bytes] = []
        for m in messages:
            out.append(m)
            if m[3] == _FRAME and self._parity:
                # one piece per frame normally; more when pieces pile up (two groups' worth
                # at once, after a stream skipped frames), so none waits longer than a group
                for _ in range(max(self._per_frame, -(-len(self._parity) // self._group))):
                    if not self._parity:
                        break
                    out.append(self._parity.popleft())
                self._parity_since = now
        if self._parity and not messages and now - self._parity_since >= PARITY_WAIT:
            out += self._parity  # no audio to ride with: the stream paused
            self._parity.clear()
        if not out:
            return  # parity still waiting for audio; KCP output goes out on its own
        segments = self.link.take_segments() if self.link is not None else ()
        self._raw += pack_datagrams(self.session.token, self.session.session_id, segments, out, self.pmtu.mtu)

    def _probe(self, now: float):
        probe = self.pmtu.probe(now)
        if probe is not None:
            probe_id, size = probe
            message = wire.encode(wire.Probe(probe_id, size - _PROBE_BYTES))
            self._raw.append(seal_datagram(self.session.token, self.session.session_id, message))

    def sealed_received(self, datagram, now: float):
        s = self.session
        if not s.token:
            raise ProtocolError(ErrorCode.UNEXPECTED, "sealed datagram before the handshake")
        if datagram[3] == _DATAGRAM:
            for message in open_datagram(s.token, s.session_id, datagram):
                self._unreliable_received(message, now)
            return
        if self.link is None:
            unseal(s.token, datagram)  # authentic before it costs a KCP object
        for message in self._ensure_link(now).datagram_received(datagram, now):
            s.receive_message(message, now)

    def _unreliable_received(self, message, now: float):
        """One message of an authentic DATAGRAM: audio frames and parity go through the
        FEC decoder (which gives back lost frames), the rest to the session."""
        s = self.session
        t = message[3] if len(message) >= wire.HEADER_SIZE else -1
        if t == _SEGMENT:
            try:
                delivered = self._ensure_link(now).segments_received(message[wire.HEADER_SIZE:], now)
            except ProtocolError as exc:
                s.rejected += 1
                s.last_error = exc
                return
            for r in delivered:
                s.receive_message(r, now)
        elif t == _FRAME and len(message) >= 24:
            new, recovered = self.fec_rx.frame(message)
            if new:
                self.loss_in.frame(*frame_ids(message))
                s.receive_message(message, now)
            for r in recovered:
                s.receive_message(r, now)
        elif t == _REPORT or t == _PROBE or t == _PROBE_ACK or t == _PARITY:
            try:
                msg = wire.decode(message)
            except ProtocolError as exc:
                s.rejected += 1
                s.last_error = exc
                return
            if t == _PARITY:
                for r in self.fec_rx.parity(msg):
                    s.receive_message(r, now)
                if self.relay_parity:
                    s.carrier_event(ParityReceived(msg, message))
            elif t == _REPORT:
                self.reported.add(msg, now)
                self.pmtu.reported_loss(msg.loss / wire.LOSS_SCALE, now)
            elif t == _PROBE:
                self._probe_acks.append(wire.encode(wire.ProbeAck(msg.probe_id)))
            else:
                self.pmtu.acked(msg.probe_id, now)
        else:
            s.receive_message(message, now)

    def tick(self, now: float):
        self.session.tick(now)
        self.pump(now)
        if self.link is not None:
            self.link.tick(now)

    @property
    def next_deadline(self) -> float:
        t = self.session.next_deadline
        if self.link is not None:
            t = min(t, self.link.next_deadline)
        if self._parity:  # parity that found no audio to ride with goes alone (pump)
            t = min(t, self._parity_since + PARITY_WAIT)
        if self._probe_acks:
            t = 0.0
        elif self.pmtu.next_deadline < t and self.session.state is State.ESTABLISHED:
            t = self.pmtu.next_deadline
        if self.closed_at is not None:
            t = min(t, self.closed_at + LINGER)
        return t

    def take_datagrams(self) -> list[bytes]:
        out, self._raw = self._raw, []
        if self.link is not None:
            out += self.link.take_datagrams(self._now)
        return out

    def finished(self, now: float) -> bool:
        return self.closed_at is not None and now >= self.closed_at + LINGER


class UdpClient:
    """The client end of one session. Feed it datagrams from the server and the clock;
    send what ``take_datagrams()`` returns to the server."""

    def __init__(self, now: float, config: SessionConfig | None = None, *, rng=None,
                 link_options: dict | None = None, fec=AUDIO_FEC):
        rng = rng or secrets.SystemRandom()
        warm_up()  # before the first frame, not in the middle of the stream
        self.peer = UdpPeer(Session.connect(now, rng.getrandbits(64), config), link_options=link_options,
                            eager_link=True, fec=fec)
        self.session = self.peer.session
        self.rejected = 0
        self.peer.pump(now)

    def datagram_received(self, data, now: float):
        try:
            t = wire.peek_type(data)
            if t in (MsgType.SEALED, MsgType.DATAGRAM):
                self.peer.sealed_received(data, now)
            elif t in (MsgType.WELCOME, MsgType.REJECT) and self.session.state is State.CONNECTING:
                before = self.session.rejected
                self.session.receive_message(data, now)
                if self.session.rejected != before:
                    raise self.session.last_error
            else:
                raise ProtocolError(ErrorCode.UNEXPECTED, "bare datagram that is not a handshake")
        except ProtocolError:
            self.rejected += 1
        self.peer.pump(now)

    def tick(self, now: float):
        self.peer.tick(now)

    def close(self, now: float, code=ErrorCode.NONE, reason=""):
        self.session.close(now, code, reason)
        self.peer.pump(now)

    @property
    def next_deadline(self) -> float:
        return self.peer.next_deadline

    def take_datagrams(self) -> list[bytes]:
        return self.peer.take_datagrams()

    def events(self) -> list:
        return self.session.events()

    def pump(self, now: float):
        """Call after ``session.send_frame`` / ``session.send`` to put them on the wire."""
        self.peer.pump(now)


class UdpServer:
    """The server's side of every session arriving on one UDP socket."""

    def __init__(self, config: SessionConfig | None = None, *, max_sessions: int = 64, rng=None,
                 link_options: dict | None = None, fec=AUDIO_FEC, relay_parity=False):
        self.config = config or SessionConfig()
        self.fec = fec
        self.relay_parity = relay_parity
        warm_up()  # a server's first audio must not stall every session it serves
        self.max_sessions = max_sessions
        self.rng = rng or secrets.SystemRandom()
        self.link_options = link_options
        self.peers: dict[int, UdpPeer] = {}  # by session id
        self._by_hello: dict[tuple, int] = {}  # (addr, nonce) -> session id
        self._bare: list[tuple[bytes, object]] = []
        self._events: list[tuple[UdpPeer, object]] = []
        self.rejected = 0  # datagrams dropped as malformed, forged or unexpected
        self.hellos = 0  # well-formed HELLOs: new sessions, repeats and refusals
        self.accepted = 0
        self._last_tick = float("-inf")
        self._soonest = float("-inf")
        # the peers that may have datagrams waiting (pumped or ticked since the last take),
        # in the order they were touched: a loop turn that served one datagram takes from
        # one peer, not from every session on the server
        self._touched: dict[UdpPeer, None] = {}

    @property
    def rejected_total(self) -> int:
        """Rejected datagrams plus rejected messages inside authentic ones."""
        return self.rejected + sum(p.session.rejected for p in self.peers.values())

    def datagram_received(self, data, addr, now: float):
        peer = None
        try:
            t = wire.peek_type(data)
            if t == _SEALED or t == _DATAGRAM:
                peer = self.peers.get(sealed_conv(data))
                if peer is None:
                    raise ProtocolError(ErrorCode.AUTH, "unknown session")
                peer.sealed_received(data, now)
                peer.addr = addr  # authentic: follow the client if its address changed
            elif t == MsgType.HELLO:
                peer = self._hello(wire.decode(data), addr, now)
            else:
                raise ProtocolError(ErrorCode.UNEXPECTED, "bare datagram that is not a HELLO")
        except ProtocolError as exc:
            self.rejected += 1
            if exc.code == ErrorCode.UNSUPPORTED_VERSION and len(data) >= 4 and data[3] == MsgType.HELLO:
                # tell a peer of another version why; the nonce is unknown in its layout
                self._bare.append((wire.encode(wire.Reject(0, exc.code, f"this server speaks version {wire.VERSION}")), addr))
        if peer is not None:
            self._service(peer, now)

    def _hello(self, hello: wire.Hello, addr, now):
        self.hellos += 1
        sid = self._by_hello.get((addr, hello.nonce))
        if sid is not None and sid in self.peers:
            peer = self.peers[sid]
            peer.session.resend_welcome(now)
            return peer
        if len(self.peers) >= self.max_sessions:
            self._bare.append((wire.encode(wire.Reject(hello.nonce, ErrorCode.SERVER_FULL, "server full")), addr))
            return None
        sid = 0
        while sid == 0 or sid in self.peers:
            sid = self.rng.getrandbits(31)  # the kcp package takes the conversation id as a C int
        token = self.rng.getrandbits(128).to_bytes(16, "big")
        session = Session.accept(hello, now, sid, token, _copy(self.config))
        peer = self.peers[sid] = UdpPeer(session, addr, self.link_options, fec=self.fec, relay_parity=self.relay_parity)
        self.accepted += 1
        self._by_hello[(addr, hello.nonce)] = sid
        return peer

    def _service(self, peer: UdpPeer, now: float):
        peer.pump(now)
        self._touched[peer] = None
        for ev in peer.session.events():
            self._events.append((peer, ev))

    def tick(self, now: float):
        """Tick the sessions whose deadline has passed. A server with many sessions is
        looked at every TICK_GRAIN at most (their KCP ticks are 5 ms apart anyway), not
        each time one of them is due: that would be every few microseconds."""
        self._last_tick = now
        soonest = float("inf")
        for sid, peer in list(self.peers.items()):
            d = peer.next_deadline
            if now >= d:
                peer.tick(now)  # (which pumps)
                self._touched[peer] = None
                events = peer.session.events()
                if events:
                    self._events += [(peer, ev) for ev in events]
                if peer.finished(now):
                    del self.peers[sid]
                    self._touched.pop(peer, None)
                    self._by_hello = {k: v for k, v in self._by_hello.items() if v != sid}
                    continue
                d = peer.next_deadline
            soonest = min(soonest, d)
        self._soonest = soonest

    @property
    def next_deadline(self) -> float:
        # the soonest deadline as of the last tick; sessions made or woken since then have
        # their own work done as their datagrams arrive, and are ticked within a grain
        if not self.peers:
            return float("inf")
        return max(min(self._soonest, self._last_tick + TICK_GRAIN), self._last_tick + TICK_GRAIN / 4)

    def take_datagrams(self) -> list[tuple[bytes, object]]:
        out, self._bare = self._bare, []
        touched, self._touched = self._touched, {}
        for peer in touched:
            addr = peer.addr
            for d in peer.take_datagrams():
                out.append((d, addr))
        return out

    def events(self) -> list[tuple[UdpPeer, object]]:
        out, self._events = self._events, []
        return out

    def pump(self, now: float):
        """Send what the application queued: only sessions that have something to send."""
        for peer in self.peers.values():
            if peer.session._outgoing or peer._parity:
                self._service(peer, now)


def _copy(config: SessionConfig) -> SessionConfig:
    return SessionConfig(**config.__dict__)


def deterministic_rng(seed: int) -> random.Random:
    """For tests: session ids, tokens and nonces from a seed."""
    return random.Random(seed)
