"""The real `modular server` process on loopback: registration, listing over HTTP and with
`modular streams`, tokens, rejected returns, expiry, joins and leaves, fan-out with
returns to many protocol listeners, TCP, and garbage datagrams. Bounded in time; the
process is always killed."""

import json
import random
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pytest

from modular.net import wire
from modular.net.framing import StreamDecoder, frame
from modular.server.client import (BroadcastFrame, ListenerCount, Refused, Registered, ReturnFrame, RadioSocket,
                                   StreamSpec, Subscribed, list_streams)

B = 64
CV16 = StreamSpec(1, 16, cv=True)


@pytest.fixture(scope="module")
def server(modular_cmd, cli_env):
    proc = subprocess.Popen(modular_cmd + ["server", "--port", "0", "--http-port", "0", "--host", "127.0.0.1",
                                           "--timeout", "2", "--grace", "1", "--duration", "80"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("modular server: udp"), line + proc.stderr.read()
        words = line.split()
        yield {"port": int(words[3]), "tcp": int(words[5]), "http": int(words[7]), "proc": proc,
               "addr": f"127.0.0.1:{int(words[3])}"}
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def http(server, path="/api/streams"):
    with urllib.request.urlopen(f"http://127.0.0.1:{server['http']}{path}", timeout=3) as r:
        assert r.headers["Content-Type"] == "application/json"
        return json.loads(r.read())


def until(predicate, timeout=4.0, poll=()):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in poll:
            p.poll(0.005)
        v = predicate()
        if v:
            return v
        if not poll:
            time.sleep(0.02)
    raise AssertionError("condition not met in time")


def run_polling(cmd, env, poll, timeout=20.0):
    """Run a command while the given peers keep their sessions alive (the fixture's server
    forgets a session silent for 2 s, and a CLI start takes about that under load)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        for p in poll:
            p.poll(0.005)
    stdout, stderr = proc.communicate(timeout=max(0.1, end - time.monotonic()))
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def handle_info(server, name):
    return next((h for h in http(server)["handles"] if h["handle"] == name), None)


def broadcaster(server, handle, token=b"tok", tags=(), streams=(CV16,)):
    rs = RadioSocket(server["addr"], name=handle)
    rs.peer.register(handle, token, tags, streams)
    rs.wait_for(lambda e: isinstance(e, (Registered, Refused)), 3)
    return rs


def test_register_and_list_over_http_and_protocol(server, modular_cmd, cli_env):
    b = broadcaster(server, "http-jam", tags=("techno", "live"),
                    streams=(CV16, StreamSpec(2, 2, cv=False, encoding=wire.Encoding.INT16)))
    try:
        assert b.peer.registered
        h = until(lambda: handle_info(server, "http-jam"), poll=[b])
        assert h["tags"] == ["techno", "live"] and h["channels"] == 18 and h["listeners"] == 0
        assert sorted(h["encoding"]) == ["int16", "runs"] and h["online"] and h["uptime_s"] >= 0  # CV goes as runs
        body = http(server)
        assert body["uptime_s"] > 0 and body["count"] >= 1
        entries = {e.handle: e for e in list_streams(server["addr"])}
        assert entries["http-jam"].tags == ("techno", "live")
        out = run_polling(modular_cmd + ["streams", "--server", server["addr"]], cli_env, [b])
        assert out.returncode == 0 and "http-jam" in out.stdout and "techno live" in out.stdout
        out = run_polling(modular_cmd + ["streams", "--server", server["addr"], "--json", "--tag", "live"],
                          cli_env, [b])
        assert {"handle": "http-jam", "tags": ["techno", "live"], "listeners": 0} in json.loads(out.stdout)
        assert http(server, "/api/stats")["sessions"] >= 1
    finally:
        b.close()
    until(lambda: handle_info(server, "http-jam") is None)  # a goodbye releases it at once


def test_streams_without_a_server_fails_cleanly(modular_cmd, cli_env):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    out = subprocess.run(modular_cmd + ["streams", "--server", f"127.0.0.1:{port}", "--timeout", "1"],
                         capture_output=True, text=True, env=cli_env, timeout=20)
    assert out.returncode == 1 and "no answer" in out.stderr
    out = subprocess.run(modular_cmd + ["streams", "--server", "127.0.0.1:notaport"],
                         capture_output=True, text=True, env=cli_env, timeout=20)
    assert out.returncode == 2


def test_token_ownership_and_rejected_returns(server):
    owner = broadcaster(server, "owned", token=b"right")
    thief = broadcaster(server, "owned", token=b"wrong")
    stranger = RadioSocket(server["addr"], name="stranger")
    try:
        assert owner.peer.registered
        assert not thief.peer.registered
        before = http(server, "/api/stats")["returns_rejected"]
        until(lambda: stranger.peer.connected, poll=[stranger])
        stranger.peer.subscribed = True  # pretend, to put return frames on the wire
        for k in range(10):
            stranger.peer.send_return(1, k * B, np.ones((1, B), np.float32), time.monotonic())
        until(lambda: http(server, "/api/stats")["returns_rejected"] >= before + 10, poll=[stranger, owner])
        assert not any(isinstance(e, ReturnFrame) for e in owner.poll(0.05))
    finally:
        for s in (owner, thief, stranger):
            s.close()


def test_a_denied_register_says_so(server):
    owner = broadcaster(server, "mine", token=b"right")
    try:
        thief = RadioSocket(server["addr"], name="thief")
        thief.peer.register("mine", b"wrong")
        evs = thief.wait_for(lambda e: isinstance(e, Refused), 3)
        (r,) = [e for e in evs if isinstance(e, Refused)]
        assert r.code == wire.ErrorCode.DENIED
        thief.close()
    finally:
        owner.close()


def test_silent_sessions_expire(server):
    b = broadcaster(server, "silent")
    l = RadioSocket(server["addr"], name="quiet-listener")
    l.peer.subscribe("silent")
    l.wait_for(lambda e: isinstance(e, Subscribed), 3)
    until(lambda: (handle_info(server, "silent") or {}).get("listeners") == 1, poll=[b, l])
    l.sock.close()  # vanishes without a word
    t0 = time.monotonic()
    until(lambda: handle_info(server, "silent")["listeners"] == 0, timeout=5, poll=[b])
    assert 1.5 < time.monotonic() - t0 < 4.5  # the server's --timeout is 2 s
    b.sock.close()
    until(lambda: not handle_info(server, "silent")["online"], timeout=5)
    until(lambda: handle_info(server, "silent") is None, timeout=4)  # then the 1 s grace


def test_fan_out_with_returns_and_joins_and_leaves(server):
    n = 12
    b = broadcaster(server, "fan", streams=(CV16,))
    ls = [RadioSocket(server["addr"], name=f"l{i}") for i in range(n)]
    for i, l in enumerate(ls):
        l.peer.subscribe("fan", returns=(StreamSpec(1, 1, cv=False, answers=1),))
    until(lambda: all(l.peer.subscribed for l in ls), poll=ls + [b])
    until(lambda: b.peer.listeners == n, poll=ls + [b])
    got = {i: [] for i in range(n)}
    returns = {}
    pos = 0
    block = np.zeros((16, B), np.float32)
    for k in range(150):
        block[:] = np.arange(pos, pos + B, dtype=np.float32)
        b.peer.send_broadcast(1, pos, block, time.monotonic())
        pos += B
        b.service()
        for e in b.poll(0.0):
            if isinstance(e, ReturnFrame):
                returns.setdefault(e.slot, []).append(e.frame.position)
        for i, l in enumerate(ls):
            for e in l.poll(0.0):
                if isinstance(e, BroadcastFrame):
                    got[i].append(e.frame)
                    l.peer.send_return(1, e.frame.position, np.full((1, B), i, np.float32), time.monotonic())
            l.service()
        time.sleep(B / 48000)
    end = time.monotonic() + 2.0
    while time.monotonic() < end and sum(len(v) for v in returns.values()) < n * 150:
        for e in b.poll(0.005):
            if isinstance(e, ReturnFrame):
                returns.setdefault(e.slot, []).append(e.frame.position)
        for i, l in enumerate(ls):
            for e in l.poll(0.0):
                if isinstance(e, BroadcastFrame):
                    got[i].append(e.frame)
                    l.peer.send_return(1, e.frame.position, np.full((1, B), i, np.float32), time.monotonic())
    for i in range(n):
        positions = [f.position for f in got[i]]
        assert positions == list(range(0, 150 * B, B)), i  # every block, in order
        assert all(np.array_equal(f.samples()[3], np.arange(f.position, f.position + B, dtype=np.float32))
                   for f in got[i])
    assert sorted(returns) == list(range(n))
    assert all(sorted(v) == list(range(0, 150 * B, B)) for v in returns.values())
    # half of them leave, others join: the count follows, nobody else notices
    for l in ls[: n // 2]:
        l.peer.unsubscribe()
        l.service()
    until(lambda: b.peer.listeners == n - n // 2, poll=ls + [b])
    assert handle_info(server, "fan")["listeners"] == n - n // 2
    for l in ls[: n // 2]:
        l.peer.subscribe("fan")
    until(lambda: b.peer.listeners == n, poll=ls + [b])
    assert sorted(handle_info(server, "fan")["slots"]) == list(range(n))
    for s in ls + [b]:
        s.close()


def test_tcp_carrier(server):
    s = socket.create_connection(("127.0.0.1", server["tcp"]), timeout=3)
    try:
        dec = StreamDecoder()

        def recv_until(cls):
            end = time.monotonic() + 3
            while time.monotonic() < end:
                for m in dec.feed(s.recv(65536)):
                    msg = wire.decode(m)
                    if isinstance(msg, cls):
                        return msg
            raise AssertionError(f"no {cls.__name__}")

        s.sendall(frame(wire.encode(wire.Hello(7, 48000, 64, "tcp-peer"))))
        assert recv_until(wire.Welcome).nonce == 7
        s.sendall(frame(wire.encode(wire.Register(1, "over-tcp", b"t", ("tcp",)))))
        assert recv_until(wire.Result).code == wire.ErrorCode.NONE
        s.sendall(frame(wire.encode(wire.ListStreams(2, "tcp"))))
        listing = recv_until(wire.Listing)
        assert listing.request == 2 and [e[0] for e in listing.entries] == ["over-tcp"]
        until(lambda: handle_info(server, "over-tcp"))
        s.sendall(frame(wire.encode(wire.Bye())))
    finally:
        s.close()
    until(lambda: handle_info(server, "over-tcp") is None)


def test_garbage_datagrams_do_not_hurt_the_process(server):
    b = broadcaster(server, "sturdy")
    rng = random.Random(5)
    g = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for k in range(5000):
            d = rng.randbytes(rng.randint(0, 1400)) if k % 3 else b"MX\x01" + bytes([rng.randrange(256)]) + rng.randbytes(rng.randint(0, 40))
            g.sendto(d, ("127.0.0.1", server["port"]))
            if k % 500 == 0:
                b.poll(0.0)
        # a TCP connection that sends garbage is closed, nothing else
        t = socket.create_connection(("127.0.0.1", server["tcp"]), timeout=3)
        t.sendall(rng.randbytes(3000))
        t.close()
        until(lambda: http(server, "/api/stats")["rejected_total"] >= 4000, poll=[b])
        assert server["proc"].poll() is None
        assert b.peer.registered and b.peer.reconnects == 0
        assert {e.handle for e in list_streams(server["addr"])} >= {"sturdy"}
        assert http(server, "/api/stats")["internal_errors"] == 0
    finally:
        g.close()
        b.close()
