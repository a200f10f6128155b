"""Sockets around the sans-I/O cores, run by the NetThread: UDP (KCP) and TCP, client and
server, each bound to one LinkEndpoint (a duplex link between two patches).

A transport offers ``attach(net)``, ``detach()``, ``readable(sock, now)``,
``service(now)`` (tick the core, pump the endpoint, send) and ``next_deadline``. A server
serves one peer at a time: the most recently connected session feeds the endpoint.
"""

from __future__ import annotations

import secrets
import selectors
import socket

from .endpoint import LinkEndpoint
from .framing import StreamDecoder, frame
from .session import DROPPABLE, FrameReceived, Session, SessionConfig, State
from .udp import UdpClient, UdpServer
from .udpsock import udp_socket
from .wire import ErrorCode, MsgType, ProtocolError, decode

UDP, TCP = "udp", "tcp"
STATUS_INTERVAL = 0.1


def _resolve(host, port, kind):
    family, _, _, _, addr = socket.getaddrinfo(host, port, 0, kind)[0]
    return family, addr


class _Base:
    def __init__(self, endpoint: LinkEndpoint, config: SessionConfig | None):
        self.endpoint = endpoint
        self.config = config or SessionConfig(sample_rate=endpoint.sample_rate, block=endpoint.block)
        self.net = None
        self._next_status = 0.0
        self.bytes_sent = 0  # UDP payloads / TCP stream bytes handed to the socket (benchmarks read it)

    def _register(self, sock):
        self.net.selector.register(sock, selectors.EVENT_READ, (self, sock))

    def _unregister(self, sock):
        try:
            self.net.selector.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        sock.close()

    def _handle_events(self, events, session):
        for ev in events:
            if isinstance(ev, FrameReceived):
                self.endpoint.deliver(ev.frame, ev.arrival)

    def _status(self, session, now, extra=None):
        if now >= self._next_status:
            self.endpoint.publish_status(session, extra)
            self._next_status = now + STATUS_INTERVAL

    @property
    def next_deadline(self) -> float:
        return self._core_deadline()


# ---------------------------------------------------------------- UDP


class UdpClientTransport(_Base):
    def __init__(self, endpoint, host: str, port: int, config=None, link_options=None):
        super().__init__(endpoint, config)
        self.family, self.addr = _resolve(host, port, socket.SOCK_DGRAM)
        self.link_options = link_options
        self.core = None

    def attach(self, net):
        self.net = net
        self.endpoint.kick = net.kick
        self.sock = udp_socket(self.family)
        self.sock.connect(self.addr)
        self.sock.setblocking(False)
        self._register(self.sock)
        self.core = UdpClient(net.clock(), self.config, link_options=self.link_options)

    def detach(self):
        if self.core is not None and self.core.session.is_open:
            self.core.close(self.net.clock())
            self._send()
        self._unregister(self.sock)

    def readable(self, sock, now):
        for _ in range(256):
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # ICMP unreachable: the server is not there (yet)
                break
            self.core.datagram_received(data, now)
        self._handle_events(self.core.events(), self.core.session)

    def service(self, now):
        core = self.core
        if core.session.state is State.CLOSED and core.peer.finished(now):
            # reconnect: a new session (new HELLO) after the old one is gone
            self.core = core = UdpClient(now, SessionConfig(**self.config.__dict__), link_options=self.link_options)
        if now >= core.next_deadline:
            core.tick(now)
        self.endpoint.pump(core.session, now)
        core.pump(now)
        self._handle_events(core.events(), core.session)
        self._send()
        self._status(core.session, now, {"transport": UDP, "mtu": core.peer.pmtu.mtu})

    def _send(self):
        for d in self.core.take_datagrams():
            try:
                self.sock.send(d)
                self.bytes_sent += len(d)
            except (BlockingIOError, OSError):
                pass  # a full socket buffer is a lost datagram; KCP resends

    def _core_deadline(self):
        return self.core.next_deadline if self.core else 0.0


class UdpServerTransport(_Base):
    def __init__(self, endpoint, port: int, host: str = "0.0.0.0", config=None, link_options=None,
                 max_sessions: int = 64):
        super().__init__(endpoint, config)
        self.family, self.bind_addr = _resolve(host, port, socket.SOCK_DGRAM)
        self.core = UdpServer(self.config, max_sessions=max_sessions, link_options=link_options)
        self.current = None  # the UdpPeer feeding the endpoint
        self.sock = udp_socket(self.family)
        self.sock.bind(self.bind_addr)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def attach(self, net):
        self.net = net
        self.endpoint.kick = net.kick
        self._register(self.sock)

    def detach(self):
        now = self.net.clock()
        for peer in self.core.peers.values():
            peer.session.close(now, ErrorCode.SHUTDOWN, "server stopping")
        self.core.pump(now)
        self._send()
        self._unregister(self.sock)

    def readable(self, sock, now):
        for _ in range(256):
            try:
                data, addr = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            self.core.datagram_received(data, addr, now)
        self._events()

    def _events(self):
        for peer, ev in self.core.events():
            if peer.session.is_open and (self.current is None or not self.current.session.is_open
                                         or self.current.session.state is State.CLOSED):
                self.current = peer
            if peer is self.current:
                self._handle_events([ev], peer.session)

    def service(self, now):
        if now >= self.core.next_deadline:
            self.core.tick(now)
        session = self.current.session if self.current is not None else None
        self.endpoint.pump(session, now)
        self.core.pump(now)
        self._events()
        self._send()
        extra = {"transport": UDP, "peers": len(self.core.peers), "rejected": self.core.rejected_total}
        if self.current is not None:
            extra["mtu"] = self.current.pmtu.mtu
        self._status(session, now, extra)

    def _send(self):
        for d, addr in self.core.take_datagrams():
            try:
                self.sock.sendto(d, addr)
                self.bytes_sent += len(d)
            except (BlockingIOError, OSError):
                pass

    def _core_deadline(self):
        return self.core.next_deadline


# ---------------------------------------------------------------- TCP


class _TcpConn:
    """One TCP connection: a Session, a decoder, an output buffer with a bound for audio."""

    MAX_BACKLOG = 256 * 1024  # bytes waiting in our buffer beyond which audio is dropped

    def __init__(self, sock, session: Session | None):
        self.sock = sock
        self.session = session
        self.decoder = StreamDecoder()
        self.out = bytearray()
        self.dropped = 0
        self.dead = False

    def take(self, now):
        for data, how in self.session.take_outgoing():
            if how == DROPPABLE and len(self.out) > self.MAX_BACKLOG:
                self.dropped += 1
                continue
            self.out += frame(data)

    def write(self) -> int:
        """Write what the socket takes now; the bytes written."""
        sent = 0
        while self.out:
            try:
                n = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.dead = True
                break
            del self.out[:n]
            sent += n
        return sent

    def read(self, now, on_message):
        for _ in range(64):
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self.dead = True
                return
            try:
                messages = self.decoder.feed(data)
            except ProtocolError:
                self.dead = True  # a stream cannot be resynchronised
                return
            for m in messages:
                on_message(m, now)


class TcpClientTransport(_Base):
    def __init__(self, endpoint, host: str, port: int, config=None, retry: float = 1.0):
        super().__init__(endpoint, config)
        self.family, self.addr = _resolve(host, port, socket.SOCK_STREAM)
        self.retry = retry
        self.conn: _TcpConn | None = None
        self._next_try = 0.0

    def attach(self, net):
        self.net = net
        self.endpoint.kick = net.kick

    def detach(self):
        if self.conn is not None:
            if self.conn.session.is_open:
                self.conn.session.close(self.net.clock())
                self.conn.take(0)
                self.bytes_sent += self.conn.write()
            self._unregister(self.conn.sock)
            self.conn = None

    def _connect(self, now):
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        try:
            sock.connect(self.addr)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            sock.close()
            self._next_try = now + self.retry
            return
        cfg = SessionConfig(**self.config.__dict__)
        cfg.hello_interval = cfg.handshake_timeout  # a stream does not lose the HELLO
        self.conn = _TcpConn(sock, Session.connect(now, secrets.randbits(64), cfg))
        self._register(sock)

    def readable(self, sock, now):
        conn = self.conn
        if conn is None:
            return
        conn.read(now, conn.session.receive_message)
        self._handle_events(conn.session.events(), conn.session)

    def service(self, now):
        if self.conn is None:
            if now >= self._next_try:
                self._connect(now)
            return
        conn = self.conn
        s = conn.session
        if now >= s.next_deadline:
            s.tick(now)
        self.endpoint.pump(s, now)
        self._handle_events(s.events(), s)
        conn.take(now)
        self.bytes_sent += conn.write()
        self._status(s, now, {"transport": TCP, "dropped": conn.dropped})
        if conn.dead or s.state is State.CLOSED:
            self._unregister(conn.sock)
            self.conn = None
            self._next_try = now + self.retry

    def _core_deadline(self):
        if self.conn is None:
            return self._next_try
        return self.conn.session.next_deadline


class TcpServerTransport(_Base):
    def __init__(self, endpoint, port: int, host: str = "0.0.0.0", config=None, max_sessions: int = 16):
        super().__init__(endpoint, config)
        family, addr = _resolve(host, port, socket.SOCK_STREAM)
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(addr)
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.max_sessions = max_sessions
        self.conns: list[_TcpConn] = []
        self.current: _TcpConn | None = None
        self.rejected = 0
        self._rng = secrets.SystemRandom()

    def attach(self, net):
        self.net = net
        self.endpoint.kick = net.kick
        self._register(self.listener)

    def detach(self):
        for c in self.conns:
            if c.session is not None and c.session.is_open:
                c.session.close(self.net.clock(), ErrorCode.SHUTDOWN, "server stopping")
                c.take(0)
                self.bytes_sent += c.write()
            self._unregister(c.sock)
        self.conns.clear()
        self._unregister(self.listener)

    def readable(self, sock, now):
        if sock is self.listener:
            for _ in range(16):
                try:
                    s, _addr = sock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if len(self.conns) >= self.max_sessions:
                    s.close()
                    continue
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.setblocking(False)
                self.conns.append(_TcpConn(s, None))
                self._register(s)
            return
        conn = next((c for c in self.conns if c.sock is sock), None)
        if conn is not None:
            conn.read(now, lambda m, t: self._message(conn, m, t))

    def _message(self, conn, data, now):
        if conn.session is None:  # the first message must be a HELLO
            try:
                hello = decode(data)
                if hello.TYPE != MsgType.HELLO:
                    raise ProtocolError(ErrorCode.UNEXPECTED, "first message is not a HELLO")
            except ProtocolError:
                self.rejected += 1
                conn.dead = True
                return
            conn.session = Session.accept(hello, now, self._rng.getrandbits(31) or 1,
                                          self._rng.getrandbits(128).to_bytes(16, "big"),
                                          SessionConfig(**self.config.__dict__))
            return
        conn.session.receive_message(data, now)
        if conn.session.is_open and (self.current is None or not self.current.session.is_open):
            self.current = conn
        if conn is self.current:
            self._handle_events(conn.session.events(), conn.session)
        else:
            conn.session.events()

    def service(self, now):
        for conn in list(self.conns):
            s = conn.session
            if s is not None:
                if now >= s.next_deadline:
                    s.tick(now)
                if s.is_open and (self.current is None or not self.current.session.is_open):
                    self.current = conn
                events = s.events()
                if conn is self.current:
                    self._handle_events(events, s)
            if conn is self.current:
                self.endpoint.pump(s, now)
            if s is not None:
                conn.take(now)
            self.bytes_sent += conn.write()
            if conn.dead or (s is not None and s.state is State.CLOSED and not conn.out):
                self._unregister(conn.sock)
                self.conns.remove(conn)
                if conn is self.current:
                    self.current = None
        if self.current is None:
            self.endpoint.pump(None, now)
        cur = self.current.session if self.current else None
        self._status(cur, now, {"transport": TCP, "peers": len(self.conns),
                                "rejected": self.rejected + sum(c.session.rejected for c in self.conns if c.session)})

    def _core_deadline(self):
        return min((c.session.next_deadline for c in self.conns if c.session), default=float("inf"))


def server(endpoint, port: int, transport: str = UDP, host: str = "0.0.0.0", **kw):
    """A server transport for ``endpoint``; add it to a NetThread."""
    return (UdpServerTransport if transport == UDP else TcpServerTransport)(endpoint, port, host, **kw)


def client(endpoint, host: str, port: int, transport: str = UDP, **kw):
    """A client transport for ``endpoint``; add it to a NetThread."""
    return (UdpClientTransport if transport == UDP else TcpClientTransport)(endpoint, host, port, **kw)
