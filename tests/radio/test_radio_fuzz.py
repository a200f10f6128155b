"""Acceptance: 100 000 random and mutated datagrams sent at a running radio.Server: it
does not crash, counts every one as rejected, and the live stream is unaffected."""

import random
import socket
import time

from modular.net import wire
from modular.net.impair import ImpairRelay
from modular.net.simlink import Impairment
from tests.radio.linkrun import (CLIENT_PATCH, SERVER_PATCH, check_arrived, finish, free_udp_ports, patch_with_ports,
                                 read_log, start, stats_line, stop_all, wav)

SR = 48000
COUNT = 100_000


class Tap(ImpairRelay):
    """A clean relay that keeps a sample of the datagrams it passes, to mutate."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.captured = []

    def _schedule(self, imp, data, sock, addr, now):
        if len(self.captured) < 4000 and (self._n % 3 == 0 or len(self.captured) < 50):
            self.captured.append(bytes(data))
        super()._schedule(imp, data, sock, addr, now)


def _is_hello(data: bytes) -> bool:
    try:
        return type(wire.decode(data)) is wire.Hello  # a well-formed HELLO is a new session, not garbage
    except (wire.ProtocolError, Exception):
        return False


def garbage(rng: random.Random, captured: list[bytes]):
    """Random datagrams, and real ones mutated (bytes flipped, cut, extended, retyped)."""
    while True:
        kind = rng.random()
        if kind < 0.3 or not captured:
            data = rng.randbytes(rng.choice((0, 1, 3, 4, 8, 24, rng.randrange(0, 1400))))
        elif kind < 0.4:
            data = b"MX" + bytes([wire.VERSION, rng.randrange(256)]) + rng.randbytes(rng.randrange(0, 300))
        else:
            src = bytearray(rng.choice(captured))
            op = rng.random()
            if op < 0.5:
                for i in rng.sample(range(len(src)), min(len(src), rng.randint(1, 3))):
                    src[i] ^= rng.randrange(1, 256)  # distinct bytes: a flip never undoes another
            elif op < 0.7:
                src = src[:rng.randrange(len(src))]
            elif op < 0.85:
                src += rng.randbytes(rng.randint(1, 64))
            else:
                src[3] = rng.choice([t for t in range(256) if t != src[3]])
            data = bytes(src)
        if not _is_hello(data):
            yield data


def _udp_drops(port: int) -> int:
    """The kernel's drop count for the UDP socket bound to ``port`` (full receive buffer)."""
    total = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if int(cols[1].split(":")[1], 16) == port:
                total += int(cols[-1])
    return total


def test_garbage_at_a_running_server(tmp_path, modular_cmd, cli_env):
    server_port, = free_udp_ports(1)
    server_patch = patch_with_ports(SERVER_PATCH, tmp_path, server_port)
    server = start(modular_cmd + ["run", str(server_patch), "--no-audio", "--duration", "16", "--stats"],
                   tmp_path, cli_env, "server")
    tap = Tap(0, ("127.0.0.1", server_port), Impairment(seed=1)).start(duration=40)
    client_patch = patch_with_ports(CLIENT_PATCH, tmp_path, tap.port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        time.sleep(1.0)
        client = start(modular_cmd + ["run", str(client_patch), "--no-audio", "--duration", "13", "--stats"],
                       tmp_path, cli_env, "client")
        deadline = time.monotonic() + 30
        while len(tap.captured) < 300 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(tap.captured) >= 300, "the link did not come up"
        time.sleep(1.0)
        rng = random.Random(4)
        gen = garbage(rng, tap.captured)
        drops0 = _udp_drops(server_port)
        t0 = time.monotonic()
        sent = 0
        while sent < COUNT and time.monotonic() - t0 < 25:
            for _ in range(50):
                sock.sendto(next(gen), ("127.0.0.1", server_port))
            sent += 50
            time.sleep(0.002)
        fuzz_seconds = time.monotonic() - t0
        drops = _udp_drops(server_port) - drops0
        assert sent == COUNT, f"sent only {sent} in {fuzz_seconds:.1f} s"
        assert finish(client, 90) == 0, read_log(tmp_path, "client")
        assert finish(server, 90) == 0, read_log(tmp_path, "server")
    finally:
        sock.close()
        tap.stop()
        stop_all((server,))
    s, c = stats_line(read_log(tmp_path, "server")), stats_line(read_log(tmp_path, "client"))
    # every datagram the kernel handed over was counted as rejected (none crashed anything);
    # the kernel's drops may include a few of the client's own datagrams (KCP resent them)
    assert COUNT - drops <= int(s["rejected"]) <= COUNT, (s, drops)
    assert drops <= COUNT // 100, f"the kernel dropped {drops} datagrams: the server fell behind"
    assert c["connected"] == "True" and c["rejected"] == "0"
    assert c["late"] == "0" and c["lost"] == "0", c
    check_arrived(wav(tmp_path / "server-sent-1.wav"), wav(tmp_path / "server-sent-2.wav"),
                  wav(tmp_path / "client-recv-1.wav"), wav(tmp_path / "client-recv-2.wav"), min_samples=8 * SR)
    check_arrived(wav(tmp_path / "client-sent-1.wav"), wav(tmp_path / "client-sent-2.wav"),
                  wav(tmp_path / "server-recv-1.wav"), wav(tmp_path / "server-recv-2.wav"), min_samples=8 * SR)
