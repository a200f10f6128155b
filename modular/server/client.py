"""The radio client side: what a broadcaster and a listener speak to the radio server.

``RadioPeer`` is sans-I/O (datagrams and a clock in, datagrams and events out) over one
UDP/KCP session to the server. It keeps the *intent* (the handle registered, the handle
listened to, the streams announced) and restores it by itself: after a lost session (no
datagram from the server for ``dead_after`` seconds: a server restart or a cut path) it
opens a new one and registers, subscribes and announces again; a SUBSCRIBE to a handle
not (yet) on the server is retried every ``retry`` seconds.

Broadcaster::

    peer = RadioPeer(now, name="alice")
    peer.register("alice-jam", token, tags=("techno",), streams=(
        StreamSpec(1, channels=16, cv=True), StreamSpec(2, channels=2, cv=False, encoding=Encoding.INT16)))
    peer.send_broadcast(1, position, cv_block, now)           # (channels, frames) volts
    for ev in peer.events():                                   # ReturnFrame(slot, index, frame, arrival),
        ...                                                    # ListenerCount, StreamAnnounced(slot >= 0) ...

Listener::

    peer = RadioPeer(now, name="bob")
    peer.subscribe("alice-jam", returns=(StreamSpec(1, channels=1, cv=False, answers=1),))
    for ev in peer.events():                                   # BroadcastFrame(frame, arrival), StreamAnnounced,
        ...                                                    # SlotChanged(heard: the broadcaster takes our returns) ...
    peer.send_return(1, answered_position, block, now)         # stamped with the position it answers

Sockets: ``RadioTransport`` runs a RadioPeer in the process's NetThread; ``RadioSocket``
runs one in the caller's thread (tools, tests, benchmarks); ``list_streams("host:port")``
asks a server for its live handles and returns them.
"""

from __future__ import annotations

import collections
import secrets
import selectors
import socket
import time
from dataclasses import dataclass, field

import numpy as np

from modular.net import session as ses
from modular.net import wire
from modular.net.session import SessionConfig, State
from modular.net.udp import UdpClient
from modular.net.udpsock import udp_socket
from modular.net.wire import FLAG_DISCONTINUITY, FLAG_RESPONSE, NO_STREAM, STREAM_AUDIO, STREAM_CV, Encoding, ErrorCode, MsgType

from .directory import RETURN_BASE, slot_of

DEFAULT_PORT = 7350


# ---------------------------------------------------------------- what is announced


@dataclass(frozen=True)
class StreamSpec:
    """One stream a peer sends: broadcast (answers NO_STREAM) or return (answers the
    broadcast stream id whose timeline its positions use)."""

    stream: int = 1
    channels: int = 1
    cv: bool = True
    encoding: Encoding = Encoding.FLOAT32
    sample_rate: int = 48000
    answers: int = NO_STREAM
    name: str = ""

    def info(self) -> wire.StreamInfo:
        enc = Encoding.RUNS if self.cv else self.encoding  # CV goes as runs: bit for bit, held values once
        return wire.StreamInfo(self.stream, STREAM_CV if self.cv else STREAM_AUDIO, self.channels, enc,
                               self.sample_rate, self.answers, self.name)


# ---------------------------------------------------------------- events


@dataclass
class Connected:
    session_id: int


@dataclass
class Disconnected:
    reason: str


@dataclass
class Registered:
    handle: str


@dataclass
class Refused:
    """REGISTER, SUBSCRIBE or UNSUBSCRIBE answered with an error (DENIED, NOT_FOUND, ...)."""

    what: str
    handle: str
    code: ErrorCode
    reason: str


@dataclass
class Subscribed:
    handle: str


@dataclass
class SlotChanged:
    """The server told the listener its slot and whether the broadcaster hears its returns."""

    handle: str
    slot: int
    heard: bool


@dataclass
class HandleGone:
    """The handle listened to was removed; the peer retries SUBSCRIBE until it is back."""

    handle: str


@dataclass
class StreamAnnounced:
    """A broadcast stream (at a listener: slot -1) or a listener's return stream (at the
    broadcaster: its slot and index)."""

    info: wire.StreamInfo
    slot: int = -1
    index: int = -1


@dataclass
class BroadcastFrame:
    frame: wire.Frame
    arrival: float


@dataclass
class ReturnFrame:
    """A listener's response: ``frame.position`` is the broadcast position it answers."""

    slot: int
    index: int
    frame: wire.Frame
    arrival: float


@dataclass
class ListenerCount:
    handle: str
    listeners: int


@dataclass
class StreamListing:
    handle: str
    tags: tuple
    listeners: int


@dataclass
class Listing:
    request: int
    entries: list = field(default_factory=list)


@dataclass
class ServerError:
    code: ErrorCode
    about: int
    reason: str


# ---------------------------------------------------------------- the peer


class RadioPeer:
    def __init__(self, now: float, *, name: str = "", sample_rate: int = 48000, block: int = 64,
                 rng=None, dead_after: float = 1.5, retry: float = 0.5, link_options: dict | None = None):
        self.config = SessionConfig(name=name, sample_rate=sample_rate, block=block)
        self.rng = rng or secrets.SystemRandom()
        self.dead_after = dead_after
        self.retry = retry
        self.link_options = link_options
        # intent
        self.handle: str | None = None
        self.token = b""
        self.tags: tuple = ()
        self.streams: dict[int, StreamSpec] = {}
        self.listen_to: str | None = None
        self.returns: dict[int, StreamSpec] = {}
        # state
        self.registered = False
        self.subscribed = False
        self.slot = -1  # the listener's slot on the broadcaster's side (SLOT), -1 before it is known
        self.return_heard = True  # False when the broadcaster takes fewer listeners back than our slot
        self.returns_unheard = 0  # return blocks not sent because nobody would hear them
        self.listeners = 0
        self.reconnects = 0
        self._request = 0
        self._pending: dict[int, tuple[str, str]] = {}  # request -> (what, handle)
        self._pages: dict[int, list] = {}
        self._events: list = []
        self._out: list[bytes] = []
        self._next_subscribe = 0.0
        self._udp: UdpClient | None = None
        self.closed = False
        self._down_since: float | None = None
        self._connect(now)

    # -- intent

    def register(self, handle: str, token: bytes, tags=(), streams=(), now: float | None = None,
                 return_slots: int = 16):
        """Broadcast under ``handle``; ``token`` (up to 255 bytes, keep it secret and keep
        it across restarts) proves the handle is ours. The server relays the returns of
        the first ``return_slots`` listeners (a RadioReturn plays 16) and no others: a
        broadcaster's downlink carries only what it can play."""
        self.handle, self.token, self.tags = handle, bytes(token), tuple(tags)
        self.return_slots = return_slots
        self.streams = {s.stream: s for s in streams}
        self.registered = False
        if self.connected:
            self._send_register(now)

    def add_stream(self, spec: StreamSpec, now: float | None = None):
        self.streams[spec.stream] = spec
        if self.registered:
            self.session.send(spec.info(), self._t(now))
            self._udp.pump(self._t(now))

    def subscribe(self, handle: str, returns=(), now: float | None = None):
        """Listen to ``handle``; ``returns`` are the response streams this listener sends."""
        self.listen_to = handle
        self.returns = {s.stream: s for s in returns}
        self.subscribed = False
        self._next_subscribe = 0.0
        if self.connected:
            self._send_subscribe(now)

    def unsubscribe(self, now: float | None = None):
        handle, self.listen_to, self.subscribed = self.listen_to, None, False
        if handle is not None and self.connected:
            self._ask(wire.Unsubscribe(self._req("unsubscribe", handle), handle), now)

    def list(self, tag: str = "", now: float | None = None) -> int:
        """Ask for the directory; a ``Listing`` event with this request id answers."""
        req = self._req("list", tag)
        self._pages[req] = []
        if self.connected:
            self._ask(wire.ListStreams(req, tag), now)
        return req

    # -- frames

    def send_broadcast(self, stream: int, position: int, block: np.ndarray, now: float, *, cv: bool | None = None,
                       encoding: Encoding | None = None, discontinuity: bool = False) -> bool:
        """One (channels, frames) block of a registered stream; False if not sent (no
        session, not registered yet)."""
        if not self.registered:
            return False
        spec = self.streams.get(stream)
        if cv is None:
            cv = spec.cv if spec else True
        if encoding is None:
            encoding = spec.encoding if spec else Encoding.FLOAT32
        ok = self.session.send_frame(stream, position, block, now, cv=cv, encoding=encoding,
                                     flags=FLAG_DISCONTINUITY if discontinuity else 0)
        self._udp.pump(now)
        return ok

    def send_return(self, stream: int, position: int, block: np.ndarray, now: float, *, cv: bool | None = None,
                    encoding: Encoding | None = None) -> bool:
        """One block of a response stream, ``position`` being the broadcast position it
        answers; False if not sent (not subscribed, or the broadcaster does not hear our
        slot: counted in ``returns_unheard``)."""
        if not self.subscribed:
            return False
        if not self.return_heard:
            self.returns_unheard += 1
            return False
        spec = self.returns.get(stream)
        if cv is None:
            cv = spec.cv if spec else False
        if encoding is None:
            encoding = spec.encoding if spec else Encoding.FLOAT32
        ok = self.session.send_frame(stream, position, block, now, cv=cv, encoding=encoding, flags=FLAG_RESPONSE)
        self._udp.pump(now)
        return ok

    # -- sans-I/O

    def datagram_received(self, data, now: float):
        self._udp.datagram_received(data, now)
        self._collect(now)

    def tick(self, now: float):
        udp = self._udp
        s = udp.session
        if s.state is State.CLOSED:
            if self.closed:
                pass
            elif udp.peer.finished(now) or (self._down_since is not None and now - self._down_since >= self.retry):
                self._out += udp.take_datagrams()
                self._connect(now)
                return
        elif s.is_open:
            if s.received_messages != self._heard_count:
                self._heard_count, self._heard_at = s.received_messages, now
            elif now - self._heard_at >= self.dead_after:  # the server restarted, or the path is cut
                udp.close(now, ErrorCode.TIMEOUT, "server silent")
                self._out += udp.take_datagrams()
                self._lost(now, f"nothing heard for {now - self._heard_at:.1f} s")
                self._connect(now)
                return
            if self.listen_to is not None and not self.subscribed and now >= self._next_subscribe:
                self._send_subscribe(now)
        if now >= udp.next_deadline:
            udp.tick(now)
        self._collect(now)

    @property
    def next_deadline(self) -> float:
        t = self._udp.next_deadline
        s = self._udp.session
        if s.is_open:
            t = min(t, self._heard_at + self.dead_after)
            if self.listen_to is not None and not self.subscribed:
                t = min(t, self._next_subscribe)
        elif s.state is State.CLOSED and self._down_since is not None and not self.closed:
            t = min(t, self._down_since + self.retry)
        return t

    def take_datagrams(self) -> list[bytes]:
        out, self._out = self._out, []
        return out + self._udp.take_datagrams()

    def events(self) -> list:
        out, self._events = self._events, []
        return out

    def close(self, now: float):
        """Say goodbye (a normal BYE: the server releases the handle at once)."""
        self.closed = True
        self.handle = self.listen_to = None
        self._udp.close(now)

    @property
    def session(self) -> ses.Session:
        return self._udp.session

    @property
    def connected(self) -> bool:
        return self._udp.session.is_open

    def status(self) -> dict:
        st = self.session.stats()
        st.update({"connected": self.connected, "registered": self.registered, "subscribed": self.subscribed,
                   "listeners": self.listeners, "reconnects": self.reconnects, "mtu": self._udp.peer.pmtu.mtu})
        if self.listen_to is not None:
            st.update({"slot": self.slot, "return_heard": self.return_heard, "returns_unheard": self.returns_unheard})
        return st

    # -- internals

    @staticmethod
    def _t(now):
        return time.monotonic() if now is None else now

    def _connect(self, now: float):
        if self._udp is not None:
            self.reconnects += 1
        self._udp = UdpClient(now, SessionConfig(**self.config.__dict__), rng=self.rng, link_options=self.link_options)
        self._heard_count, self._heard_at = 0, now
        self._down_since = None
        self.registered = self.subscribed = False
        self._pending = {k: v for k, v in self._pending.items() if v[0] == "list"}

    def _lost(self, now: float, reason: str):
        if self._down_since is None:
            self._down_since = now
            self.registered = self.subscribed = False
            self._events.append(Disconnected(reason))

    def _req(self, what: str, handle: str) -> int:
        self._request = (self._request % 0xFFFFFFFF) + 1
        self._pending[self._request] = (what, handle)
        return self._request

    def _ask(self, msg, now):
        now = self._t(now)
        self.session.send(msg, now)
        self._udp.pump(now)

    def _send_register(self, now):
        self._ask(wire.Register(self._req("register", self.handle), self.handle, self.token, self.tags,
                                self.return_slots), now)

    def _send_subscribe(self, now):
        self._next_subscribe = self._t(now) + self.retry
        self.slot, self.return_heard = -1, True  # until the server's SLOT says otherwise
        self._ask(wire.Subscribe(self._req("subscribe", self.listen_to), self.listen_to), now)

    def _collect(self, now: float):
        for ev in self._udp.events():
            t = type(ev)
            if t is ses.FrameReceived:
                f = ev.frame
                if f.stream >= RETURN_BASE:
                    slot, index = slot_of(f.stream)
                    self._events.append(ReturnFrame(slot, index, f, ev.arrival))
                else:
                    self._events.append(BroadcastFrame(f, ev.arrival))
            elif t is ses.MessageReceived:
                self._message(ev.message, now)
            elif t is ses.Connected:
                self._events.append(Connected(ev.session_id))
                if self.handle is not None:
                    self._send_register(now)
                if self.listen_to is not None:
                    self._send_subscribe(now)
                for req, (what, tag) in list(self._pending.items()):
                    if what == "list":
                        self._ask(wire.ListStreams(req, tag), now)
            elif t in (ses.PeerClosed, ses.PeerGone, ses.Rejected):
                self._lost(now, getattr(ev, "reason", "") or type(ev).__name__)

    def _message(self, msg, now):
        t = type(msg)
        if t is wire.Result:
            what, handle = self._pending.pop(msg.request, (None, None))
            if what is None:
                return
            if msg.code != ErrorCode.NONE:
                self._events.append(Refused(what, handle, msg.code, msg.reason))
                return
            if what == "register" and handle == self.handle:
                self.registered = True
                self._events.append(Registered(handle))
                for spec in self.streams.values():
                    self.session.send(spec.info(), now)
                self._udp.pump(now)
            elif what == "subscribe" and handle == self.listen_to:
                self.subscribed = True
                self._events.append(Subscribed(handle))
                for spec in self.returns.values():
                    self.session.send(spec.info(), now)
                self._udp.pump(now)
        elif t is wire.Listing:
            if msg.request == 0:
                for handle, _tags, n in msg.entries:
                    if handle == self.handle:
                        self.listeners = n
                        self._events.append(ListenerCount(handle, n))
                return
            pages = self._pages.get(msg.request)
            if pages is None:
                return
            pages += [StreamListing(h, tuple(tags), n) for h, tags, n in msg.entries]
            if not msg.more:
                del self._pages[msg.request]
                self._pending.pop(msg.request, None)
                self._events.append(Listing(msg.request, pages))
        elif t is wire.Slot:
            if msg.handle == self.listen_to:
                self.slot, self.return_heard = msg.slot, msg.heard
                self._events.append(SlotChanged(msg.handle, msg.slot, msg.heard))
        elif t is wire.StreamInfo:
            if msg.stream >= RETURN_BASE:
                slot, index = slot_of(msg.stream)
                self._events.append(StreamAnnounced(msg, slot, index))
            else:
                self._events.append(StreamAnnounced(msg))
        elif t is wire.Error:
            if msg.code == ErrorCode.NOT_FOUND and msg.about == MsgType.SUBSCRIBE:
                if self.subscribed and self.listen_to is not None:
                    self.subscribed = False
                    self._next_subscribe = now + self.retry
                    self._events.append(HandleGone(self.listen_to))
                return
            self._events.append(ServerError(msg.code, msg.about, msg.reason))


# ---------------------------------------------------------------- sockets


def parse_address(server: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """"host:port", "host", "[::1]:port" -> (host, port)."""
    s = server.strip()
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif s.count(":") == 1:
        host, _, port = s.partition(":")
    else:
        host, port = s, ""
    if not host:
        raise ValueError(f"no host in {server!r}")
    try:
        p = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"bad port in {server!r}") from None
    if not 0 < p < 65536:
        raise ValueError(f"port out of range in {server!r}")
    return host, p


class RadioSocket:
    """A RadioPeer on its own UDP socket, run by the caller: ``poll(timeout)`` reads,
    ticks, sends and returns the events. For tools, tests and benchmarks."""

    def __init__(self, server: str | tuple, *, clock=time.monotonic, **peer_options):
        host, port = parse_address(server) if isinstance(server, str) else server
        family, _, _, _, addr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
        self.clock = clock
        self.sock = udp_socket(family)
        self.sock.connect(addr)
        self.sock.setblocking(False)
        self.peer = RadioPeer(clock(), **peer_options)
        self.flush()

    def fileno(self):
        return self.sock.fileno()

    def read(self) -> int:
        n = 0
        while n < 1024:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # ICMP unreachable: no server (yet)
                break
            self.peer.datagram_received(data, self.clock())
            n += 1
        return n

    def flush(self):
        for d in self.peer.take_datagrams():
            try:
                self.sock.send(d)
            except OSError:
                pass  # a full buffer or no server: a lost datagram, KCP resends

    def service(self):
        now = self.clock()
        if now >= self.peer.next_deadline:
            self.peer.tick(now)
        self.flush()

    def poll(self, timeout: float = 0.0) -> list:
        sel = selectors.DefaultSelector()
        try:
            sel.register(self.sock, selectors.EVENT_READ)
            wait = max(0.0, min(timeout, self.peer.next_deadline - self.clock()))
            if sel.select(wait):
                self.read()
        finally:
            sel.close()
        self.service()
        return self.peer.events()

    def wait_for(self, predicate, timeout: float) -> list:
        """Poll until an event satisfies ``predicate`` (returns the events so far) or
        TimeoutError."""
        end = self.clock() + timeout
        seen = []
        while True:
            evs = self.poll(min(0.01, max(0.0, end - self.clock())))
            seen += evs
            if any(predicate(e) for e in evs):
                return seen
            if self.clock() >= end:
                raise TimeoutError(f"no answer within {timeout} s")

    def close(self):
        try:
            self.peer.close(self.clock())
            self.flush()
        finally:
            self.sock.close()


def list_streams(server: str | tuple, tag: str = "", timeout: float = 3.0) -> list[StreamListing]:
    """The live handles on a radio server ("host:port"): [StreamListing(handle, tags,
    listeners)], over the protocol. TimeoutError if the server does not answer."""
    rs = RadioSocket(server, name="modular-streams", dead_after=max(timeout, 1.5))
    try:
        req = rs.peer.list(tag)
        for ev in rs.wait_for(lambda e: isinstance(e, Listing) and e.request == req, timeout):
            if isinstance(ev, Listing) and ev.request == req:
                return ev.entries
        return []
    finally:
        rs.close()


class RadioTransport:
    """A RadioPeer run by the process's NetThread (modular/net/netthread.py)::

        t = NetThread.shared().add(RadioTransport("host:port", setup=lambda peer, now: peer.register(...),
                                                  on_service=pump, on_event=handle))

    ``setup(peer, now)`` runs once in the network thread when the peer exists;
    ``on_service(peer, now)`` runs every loop turn (drain the module's send ring into
    ``peer.send_broadcast``/``send_return`` there); ``on_event(ev)`` gets every event.
    Without ``on_event`` the events wait in ``self.events`` (a bounded deque) for
    another thread. ``status`` is a dict replaced a few times a second."""

    STATUS_INTERVAL = 0.1

    def __init__(self, server: str | tuple, *, setup=None, on_service=None, on_event=None, max_events: int = 4096,
                 **peer_options):
        self.host, self.port = parse_address(server) if isinstance(server, str) else server
        self.setup, self.on_service, self.on_event = setup, on_service, on_event
        self.peer_options = peer_options
        self.events = collections.deque(maxlen=max_events)
        self.peer: RadioPeer | None = None
        self.status: dict = {"connected": False}
        self._next_status = 0.0
        self.net = None

    def attach(self, net):
        self.net = net
        family, _, _, _, addr = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_DGRAM)[0]
        self.sock = udp_socket(family)
        self.sock.connect(addr)
        self.sock.setblocking(False)
        net.selector.register(self.sock, selectors.EVENT_READ, (self, self.sock))
        now = net.clock()
        self.peer = RadioPeer(now, **self.peer_options)
        if self.setup is not None:
            self.setup(self.peer, now)
        self._send()

    def detach(self):
        if self.peer is not None:
            self.peer.close(self.net.clock())
            self._send()
        try:
            self.net.selector.unregister(self.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.sock.close()

    def readable(self, sock, now):
        for _ in range(256):
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            self.peer.datagram_received(data, now)
        self._deliver()

    def service(self, now):
        peer = self.peer
        if now >= peer.next_deadline:
            peer.tick(now)
        if self.on_service is not None:
            self.on_service(peer, now)
        self._deliver()
        self._send()
        if now >= self._next_status:
            self.status = peer.status()
            self._next_status = now + self.STATUS_INTERVAL

    def _deliver(self):
        for ev in self.peer.events():
            if self.on_event is not None:
                self.on_event(ev)
            else:
                self.events.append(ev)

    def _send(self):
        for d in self.peer.take_datagrams():
            try:
                self.sock.send(d)
            except OSError:
                pass

    @property
    def next_deadline(self) -> float:
        return self.peer.next_deadline if self.peer is not None else 0.0
