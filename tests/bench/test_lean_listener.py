"""The lean benchmark listener dates a CV block by when it reached the socket, not by
when its (low-priority, shared-core) process got round to reading it."""

import socket
import struct
import sys
import time

from modular.net import wire
from modular.net.kcp_link import KcpLink
from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from lean_listener import LeanListener  # noqa: E402


def _cv_frame(position):
    return wire.encode(wire.Frame(1, 0, position, 1, 4, wire.Encoding.FLOAT32, bytes(16), wire.FLAG_CV))


def _listener_and_server():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    listener = LeanListener(server.getsockname(), 0, 4, "h", wire.StreamInfo(1, wire.STREAM_AUDIO, 2, wire.Encoding.INT16, 48000, 1))
    token, sid = bytes(range(16)), 77
    listener._welcome(wire.Welcome(listener.nonce, sid, token), time.monotonic())
    link = KcpLink(sid, token, time.monotonic())
    return listener, server, link


class _KernelStamping:
    """Holds a socket that asks for receive timestamps, until the kernel stamps datagrams
    as they arrive. Linux switches its stamping on (and off, after the last such socket
    closes) in deferred work: until then a datagram is stamped when it is read."""

    def __enter__(self):
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.bind(("127.0.0.1", 0))
        self.rx.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _ in range(100):
                tx.sendto(b"x", self.rx.getsockname())
                time.sleep(0.01)
                read_at = time.time()
                _, anc, _, _ = self.rx.recvmsg(16, 64)
                sec, ns = struct.unpack_from("qq", anc[0][2])
                if read_at - (sec + ns * 1e-9) > 0.005:
                    return self
        finally:
            tx.close()
        raise AssertionError("the kernel never stamped a datagram on arrival")

    def __exit__(self, *exc):
        self.rx.close()


def _send(server, listener, link, position):
    link.send(_cv_frame(position), time.monotonic())
    link.flush(time.monotonic())
    for d in link.take_datagrams():
        server.sendto(d, listener.sock.getsockname())


def test_arrival_is_when_the_datagram_reached_the_socket():
    with _KernelStamping():
        _arrival_is_when_the_datagram_reached_the_socket()


def _arrival_is_when_the_datagram_reached_the_socket():
    listener, server, link = _listener_and_server()
    try:
        sent = time.monotonic()
        _send(server, listener, link, 4800)
        time.sleep(0.1)  # the listener's process is busy elsewhere
        got = []
        read_at = time.monotonic()
        listener.read(read_at, lambda pos, arrival: got.append((pos, arrival)))
        assert [p for p, _ in got] == [4800]
        arrival = got[0][1]
        assert sent - 0.002 < arrival < sent + 0.02, (arrival - sent)
        assert read_at - arrival > 0.08

        listener.kernel_arrival = False  # the other way: when it was read
        _send(server, listener, link, 4804)
        time.sleep(0.05)
        got.clear()
        read_at = time.monotonic()
        listener.read(read_at, lambda pos, arrival: got.append((pos, arrival)))
        assert got == [(4804, read_at)]
    finally:
        listener.close()
        server.close()
