"""A lean radio listener over UDP/KCP for radio_fanout.py: the protocol, and nothing a
benchmark listener does not need.

A RadioPeer (modular/server/client.py) is the full client: session state machine,
latency tracking, FEC recovery, stream statistics, reconnection, events. On a 2-core
machine a hundred of them cost as much CPU as the server they are meant to load, and
then the benchmark measures the machine. This one speaks the same wire protocol
(docs/protocol.md) with the project's own pieces (wire, kcp_link, fec, pathloss) and
does per datagram only what the server relies on:

- the handshake (HELLO until WELCOME), then SUBSCRIBE and the return's STREAM_INFO over
  KCP, and KCP's acks (riding in the return's DATAGRAM, or held up to 10 ms when no
  return goes, as the reference client does);
- each CV FRAME's position read from its header, with the time the datagram that
  completed it reached the socket (the kernel's receive timestamp: a listener process
  that the shared machine runs late does not make the server's delivery late), and
  answered with an int16 return stamped with it, with the parity the server's REPORTs
  ask for, while SLOT says the return is heard;
- audio frames counted for REPORT (so the server sends it the parity a clean path
  needs, as it would a RadioPeer); PING answered with PONG; KEEPALIVE when silent.

It never reconnects and never decodes samples.
"""

from __future__ import annotations

import random
import socket
import struct
import time

from modular.net import wire
from modular.net.fec import FecEncoder
from modular.net.kcp_link import KcpLink, open_datagram, pack_datagrams
from modular.net.pathloss import InboundLoss, ReportedLoss
from modular.net.udp import ACK_DELAY, MTU
from modular.net.udpsock import udp_socket
from modular.net.wire import FLAG_CV, FLAG_RESPONSE, Encoding, MsgType, ProtocolError

_FRAME = struct.Struct(">HBBIqBBH")  # a FRAME's fields after the message header
_PING = struct.Struct(">IQ")
_PONG = struct.Struct(">IQQQ")
_FRAME_HEAD = wire.header(MsgType.FRAME)
_PONG_HEAD = wire.header(MsgType.PONG)
_KEEPALIVE = wire.encode(wire.Keepalive())
KEEPALIVE_S = 0.5
_SO_TIMESTAMPNS = 35  # Linux: also the number of its SCM_TIMESTAMPNS control message
_TIMESPEC = struct.Struct("@qq")


def _us(t: float) -> int:
    return int(t * 1e6) & 0xFFFFFFFFFFFFFFFF


class LeanListener:
    def __init__(self, server: tuple, index: int, block: int, handle: str, ret: wire.StreamInfo,
                 sample_rate: int = 48000, clock=None):
        self.clock = clock or time.monotonic
        self.sock = udp_socket(socket.AF_INET, buffers=None)
        self.sock.connect(server)
        self.sock.setblocking(False)
        # receive timestamps are CLOCK_REALTIME; arrivals are on CLOCK_MONOTONIC, like the sends
        self._realtime_offset = None
        self.kernel_arrival = True  # False: a frame arrives when it is read
        if clock is None:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                self._realtime_offset = time.time() - time.monotonic()
            except OSError:
                pass
        self.block, self.handle, self.ret = block, handle, ret
        self.nonce = random.Random(index).getrandbits(64)
        self.hello = wire.encode(wire.Hello(self.nonce, sample_rate, block, f"l{index}"))
        self.payload = bytes(ret.channels * block * 2)  # int16 silence
        self.link: KcpLink | None = None
        self.token, self.sid = b"", 0
        self.subscribed = False
        self.heard = True  # until a SLOT says otherwise
        self.seq = 0
        self.fec = FecEncoder(4, 4)
        self.loss_in = InboundLoss(self.clock())
        self.reported = ReportedLoss()
        self._unreliable: list[bytes] = []
        self._next_hello = 0.0
        self._last_sent = 0.0
        self.rejected = 0

    def fileno(self):
        return self.sock.fileno()

    @property
    def ready(self) -> bool:
        return self.subscribed

    # ---------------------------------------------------------------- input

    def read(self, now: float, on_cv):
        """Everything waiting; ``on_cv(position, arrival)`` for each CV frame completed."""
        offset = self._realtime_offset if self.kernel_arrival else None
        for _ in range(256):
            try:
                d, anc, _flags, _addr = self.sock.recvmsg(65536, 64)
            except (BlockingIOError, InterruptedError, ConnectionRefusedError):
                break
            arrival = now
            if offset is not None:
                for level, kind, data in anc:
                    if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                        sec, ns = _TIMESPEC.unpack_from(data)
                        arrival = sec + ns * 1e-9 - offset
            try:
                self._datagram(d, now, arrival, on_cv)
            except ProtocolError:
                self.rejected += 1
        self._send(now)

    def _datagram(self, d: bytes, now: float, arrival: float, on_cv):
        t = d[3]
        if self.link is None:
            if t == MsgType.WELCOME:
                w = wire.decode(d)
                if w.nonce == self.nonce:
                    self._welcome(w, now)
            return
        if t == MsgType.SEALED:
            for m in self.link.datagram_received(d, now):
                self._reliable(m, now, arrival, on_cv)
            return
        if t != MsgType.DATAGRAM:
            return
        for m in open_datagram(self.token, self.sid, d):
            mt = m[3]
            if mt == MsgType.SEGMENT:
                for r in self.link.segments_received(m[wire.HEADER_SIZE:], now):
                    self._reliable(r, now, arrival, on_cv)
            elif mt == MsgType.FRAME:
                stream, _flags, _enc, seq = _FRAME.unpack_from(m, wire.HEADER_SIZE)[:4]
                self.loss_in.frame(stream, seq)
            elif mt == MsgType.PING:
                ping_id, t1 = _PING.unpack_from(m, wire.HEADER_SIZE)
                self._unreliable.append(_PONG_HEAD + _PONG.pack(ping_id, t1, _us(now), _us(now)))
            elif mt == MsgType.REPORT:
                self.reported.add(wire.decode(m), now)
            elif mt == MsgType.PROBE:  # the server tries larger datagrams (pmtu.py): say it passed
                self._unreliable.append(wire.encode(wire.ProbeAck(wire.decode(m).probe_id)))

    def _reliable(self, m: bytes, now: float, arrival: float, on_cv):
        mt = m[3]
        if mt == MsgType.FRAME:
            stream, flags, _enc, _seq, pos = _FRAME.unpack_from(m, wire.HEADER_SIZE)[:5]
            if flags & FLAG_CV:
                on_cv(pos, arrival)
                if self.subscribed and self.heard:
                    self._return(pos, now)
        elif mt == MsgType.RESULT:
            r = wire.decode(m)
            if r.request == 1 and r.code == wire.ErrorCode.NONE:
                self.subscribed = True
        elif mt == MsgType.SLOT:
            self.heard = wire.decode(m).heard

    def _welcome(self, w: wire.Welcome, now: float):
        self.token, self.sid = w.token, w.session_id
        self.link = KcpLink(self.sid, self.token, now, ack_delay=ACK_DELAY)  # as the reference client
        self.link.send(wire.encode(wire.Subscribe(1, self.handle)), now)
        self.link.send(wire.encode(self.ret), now)
        self.link.flush(now)

    def _return(self, position: int, now: float):
        msg = _FRAME_HEAD + _FRAME.pack(self.ret.stream, FLAG_RESPONSE, Encoding.INT16, self.seq, position,
                                        self.ret.channels, 0, self.block) + self.payload
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        self._unreliable.append(msg)
        made = self.fec.add(msg)
        if made:
            self._unreliable += made[:self.reported.pieces(now, self.fec.k, self.fec.m)]

    # ---------------------------------------------------------------- output

    def service(self, now: float):
        if self.link is None:
            if now >= self._next_hello:
                self._next_hello = now + 0.25
                self._out(self.hello, now)
            return
        self.link.tick(now)
        report = self.loss_in.report(now)
        if report is not None:
            self._unreliable.append(report)
        if now - self._last_sent >= KEEPALIVE_S and not self._unreliable:
            self._unreliable.append(_KEEPALIVE)
        self._send(now)

    def _send(self, now: float):
        link = self.link
        if link is None:
            return
        if not self._unreliable:
            for d in link.take_datagrams(now):
                self._out(d, now)
            return
        messages, self._unreliable = self._unreliable, []
        for d in pack_datagrams(self.token, self.sid, link.take_segments(), messages, MTU):
            self._out(d, now)

    def _out(self, d: bytes, now: float):
        self._last_sent = now
        try:
            self.sock.send(d)
        except OSError:
            pass  # a full buffer: a lost datagram

    def close(self):
        self.sock.close()
