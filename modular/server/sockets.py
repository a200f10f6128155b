"""The radio server's sockets, run by a NetThread: one UDP socket (KCP sessions, through
RadioServerCore) and one TCP listener (the fallback carrier: length-prefixed messages),
both feeding the same RadioHub. Nothing here interprets bytes beyond the TCP framing.

Every datagram and every connection goes through code that counts what it rejects and
carries on; an exception in the hub costs one message (core.py), never the transport.
"""

from __future__ import annotations

import secrets
import selectors
import socket

from modular.net.framing import StreamDecoder, frame
from modular.net.session import DROPPABLE, FORWARDED_PARITY, PROTECTED, Session, State
from modular.net.udpsock import udp_socket
from modular.net.wire import ErrorCode, MsgType, ProtocolError, decode

from .core import RadioServerCore, ServerConfig

PUBLISH_INTERVAL = 0.25  # seconds between snapshots for the HTTP listener


class TcpPeer:
    """One TCP connection: its Session (after HELLO), decoder and output buffer."""

    MAX_BACKLOG = 256 * 1024  # bytes waiting beyond which audio is dropped
    MAX_BUFFER = 8 * 1024 * 1024  # beyond this even CV cannot be kept: the peer is too slow

    def __init__(self, sock, now):
        self.sock = sock
        self.session: Session | None = None
        self.decoder = StreamDecoder()
        self.out = bytearray()
        self.dropped = 0
        self.dead = False
        self.opened = now

    def take(self):
        for data, how in self.session.take_outgoing():
            if how == FORWARDED_PARITY:
                continue  # TCP loses nothing
            if (how == DROPPABLE or how == PROTECTED) and len(self.out) > self.MAX_BACKLOG:
                self.dropped += 1
                continue
            self.out += frame(data)
        if len(self.out) > self.MAX_BUFFER:
            self.dead = True

    def write(self):
        while self.out:
            try:
                n = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.dead = True
                return
            del self.out[:n]


class ServerTransport:
    """The NetThread transport of a radio server (attach/detach/readable/service/next_deadline)."""

    def __init__(self, port: int, host: str = "0.0.0.0", *, tcp_port: int | None = None,
                 config: ServerConfig | None = None, link_options: dict | None = None):
        self.config = config or ServerConfig()
        self.core = RadioServerCore(self.config, link_options=link_options)
        self.hub = self.core.hub
        family, addr = _resolve(host, port, socket.SOCK_DGRAM)
        self.udp = udp_socket(family)
        self.udp.bind(addr)
        self.udp.setblocking(False)
        self.port = self.udp.getsockname()[1]
        self.tcp = None
        self.tcp_port = None
        if tcp_port is not None:
            family, addr = _resolve(host, tcp_port if tcp_port else self.port, socket.SOCK_STREAM)
            self.tcp = socket.socket(family, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.tcp.bind(addr)
            self.tcp.listen(64)
            self.tcp.setblocking(False)
            self.tcp_port = self.tcp.getsockname()[1]
        self.conns: dict[object, TcpPeer] = {}  # socket -> TcpPeer
        self.rng = secrets.SystemRandom()
        self.tcp_rejected = 0
        self.net = None
        self.published: dict = {}  # the latest snapshot, replaced whole (read by the HTTP thread)
        self._next_publish = 0.0
        self.started = None

    # -- NetThread interface

    def attach(self, net):
        self.net = net
        self.started = net.clock()
        net.selector.register(self.udp, selectors.EVENT_READ, (self, self.udp))
        if self.tcp is not None:
            net.selector.register(self.tcp, selectors.EVENT_READ, (self, self.tcp))
        self._publish(self.started)

    def detach(self):
        now = self.net.clock()
        for peer in self.core.udp.peers.values():
            peer.session.close(now, ErrorCode.SHUTDOWN, "server stopping")
        self.core.pump(now)
        self._send_udp()
        for c in list(self.conns.values()):
            if c.session is not None and c.session.is_open:
                c.session.close(now, ErrorCode.SHUTDOWN, "server stopping")
                c.take()
                c.write()
            self._close(c)
        for s in (self.udp, self.tcp):
            if s is not None:
                self._unregister(s)

    def readable(self, sock, now):
        if sock is self.udp:
            core = self.core
            for _ in range(1024):
                try:
                    data, addr = sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                core.datagram_received(data, addr, now)
        elif sock is self.tcp:
            self._accept(now)
        else:
            c = self.conns.get(sock)
            if c is not None:
                self._read(c, now)

    def service(self, now):
        core = self.core
        core.tick(now)
        for c in list(self.conns.values()):
            s = c.session
            if s is None:
                if now - c.opened > self.config.timeout:
                    c.dead = True
            elif now >= s.next_deadline:
                s.tick(now)
                self._events(c, now)
        core.pump(now)
        self._send_udp()
        for c in list(self.conns.values()):
            if c.session is not None:
                c.take()
            c.write()
            if c.dead or (c.session is not None and c.session.state is State.CLOSED and not c.out):
                if c.session is not None:
                    self.hub.drop(c, now)
                self._close(c)
        if now >= self._next_publish or self.hub.changed:
            self._publish(now)

    @property
    def next_deadline(self) -> float:
        t = min(self.core.next_deadline, self._next_publish)
        for c in self.conns.values():
            if c.session is not None:
                t = min(t, c.session.next_deadline)
        return t

    # -- UDP

    def _send_udp(self):
        sock = self.udp
        for d, addr in self.core.take_datagrams():
            try:
                sock.sendto(d, addr)
            except (BlockingIOError, OSError):
                pass  # a full socket buffer is a lost datagram; KCP resends

    # -- TCP

    def _accept(self, now):
        for _ in range(64):
            try:
                s, _addr = self.tcp.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self.conns) + len(self.core.udp.peers) >= self.config.max_sessions:
                s.close()
                self.tcp_rejected += 1
                continue
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            self.conns[s] = TcpPeer(s, now)
            self.net.selector.register(s, selectors.EVENT_READ, (self, s))

    def _read(self, c: TcpPeer, now):
        for _ in range(64):
            try:
                data = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                c.dead = True
                break
            try:
                messages = c.decoder.feed(data)
            except ProtocolError:
                self.tcp_rejected += 1
                c.dead = True  # a byte stream cannot be resynchronised
                break
            for m in messages:
                self._message(c, m, now)
        self._events(c, now)

    def _message(self, c: TcpPeer, data, now):
        if c.session is None:  # the first message must be a HELLO
            try:
                hello = decode(data)
                if hello.TYPE != MsgType.HELLO:
                    raise ProtocolError(ErrorCode.UNEXPECTED, "first message is not a HELLO")
            except ProtocolError:
                self.tcp_rejected += 1
                c.dead = True
                return
            cfg = self.config.session_config()
            c.session = Session.accept(hello, now, self.rng.getrandbits(31) or 1,
                                       self.rng.getrandbits(128).to_bytes(16, "big"), cfg)
            return
        c.session.receive_message(data, now)

    def _events(self, c: TcpPeer, now):
        if c.session is None:
            return
        for ev in c.session.events():
            try:
                self.hub.event(c, ev, now)
            except Exception as exc:
                self.core.internal_errors += 1
                self.core.last_internal_error = f"{type(exc).__name__}: {exc}"

    def _close(self, c: TcpPeer):
        self.conns.pop(c.sock, None)
        self._unregister(c.sock)

    def _unregister(self, sock):
        try:
            self.net.selector.unregister(sock)
        except (KeyError, ValueError, OSError, AttributeError):
            pass
        sock.close()

    # -- reading (any thread: ``published`` is replaced whole, never mutated)

    def _publish(self, now):
        snap = self.hub.snapshot(now)
        snap.update(self.core.stats())
        snap["tcp_sessions"] = sum(1 for c in self.conns.values() if c.session is not None)
        snap["rejected_total"] += self.tcp_rejected + sum(c.session.rejected for c in self.conns.values()
                                                          if c.session is not None)
        snap["uptime_s"] = round(now - (self.started or now), 3)
        self.published = snap
        self.hub.changed = False
        self._next_publish = now + PUBLISH_INTERVAL


def _resolve(host, port, kind):
    family, _, _, _, addr = socket.getaddrinfo(host, port, 0, kind)[0]
    return family, addr
