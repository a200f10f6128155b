"""The radio server's own CPU per listener, sans-I/O: no sockets, no other processes.

radio_fanout.py measures the server as a process on loopback, but on a 2-core machine
its listeners and the server share the cores, so beyond a few dozen listeners it
measures the machine. This runs the same workload (a broadcaster with 16 CV channels
and 2 int16 audio channels, N listeners each answering every CV block with a 2-channel
int16 return; the listeners beyond --return-slots are told they are not heard and
send none) through RadioServerCore and RadioPeers wired to each other in memory,
and times only the server's calls (the thread's CPU time: on a shared machine the
wall clock would count the neighbours' load too). What it leaves out is the system calls (one
sendto/recvfrom per datagram; the datagram counts are printed) and the event loop.

Per N, one JSON line:
    {"bench": "relay_cost", "listeners": N, "block": B, "us_per_listener_block": ...,
     "server_cores": ..., "datagrams_out_per_listener_block": ..., "datagrams_in_per_listener_block": ...}

server_cores is the server's CPU seconds per second of audio (without system calls).

    python benchmarks/relay_cost.py [--listeners 10 50 100] [--block 256] [--seconds 2] [--return-slots 16]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modular.net import wire  # noqa: E402
from modular.net.udp import deterministic_rng  # noqa: E402
from modular.server.client import BroadcastFrame, RadioPeer, StreamSpec  # noqa: E402
from modular.server.core import RadioServerCore, ServerConfig  # noqa: E402

SR = 48000
CV = StreamSpec(1, 16, cv=True)
AUDIO = StreamSpec(2, 2, cv=False, encoding=wire.Encoding.INT16)
RETURN = StreamSpec(1, 2, cv=False, encoding=wire.Encoding.INT16, answers=1)


def run(n: int, block: int, seconds: float, warmup: float = 3.0, return_slots: int = 16) -> dict:
    server = RadioServerCore(ServerConfig(max_sessions=4096), rng=deterministic_rng(1))
    now = 0.0
    b = RadioPeer(now, name="broadcaster", block=block, rng=deterministic_rng(2))
    b.register("fanout", b"bench-token", ("bench",), (CV, AUDIO), return_slots=return_slots)
    listeners = [RadioPeer(now, name=f"l{i}", block=block, rng=deterministic_rng(10 + i)) for i in range(n)]
    for lp in listeners:
        lp.subscribe("fanout", returns=(RETURN,))
    peers = [b] + listeners
    addr = {id(p): (f"10.{i >> 8 & 255}.{i & 255}.1", 1000 + i) for i, p in enumerate(peers)}
    by_addr = {addr[id(p)]: p for p in peers}
    spent = [0.0]

    def exchange(t):
        inbound = [(d, addr[id(p)]) for p in peers for d in p.take_datagrams()]
        t0 = time.thread_time()
        for d, a in inbound:
            server.datagram_received(d, a, t)
        server.tick(t)
        server.pump(t)
        out = server.take_datagrams()
        spent[0] += time.thread_time() - t0
        for d, a in out:
            by_addr[a].datagram_received(d, t)
        for p in peers:
            if t >= p.next_deadline:
                p.tick(t)

    cv_block = np.zeros((16, block), np.float32)
    audio = np.zeros((2, block), np.float32)
    ret = np.zeros((2, block), np.float32)
    period = block / SR
    position = 0

    def play(duration):
        nonlocal now, position
        end = now + duration
        while now < end:
            now += period
            if b.registered:
                cv_block[:, 0] = position
                b.send_broadcast(1, position, cv_block, now)
                b.send_broadcast(2, position, audio, now)
                position += block
            exchange(now)
            for lp in listeners:
                for e in lp.events():
                    if type(e) is BroadcastFrame and e.frame.stream == 1:
                        lp.send_return(1, e.frame.position, ret, now)
            b.events()
            exchange(now + period / 2)

    play(warmup)
    spent[0] = 0.0
    first, out0, in0 = position, server.datagrams_out, server.datagrams_in
    play(seconds)
    blocks = (position - first) // block
    lb = blocks * n
    return {"bench": "relay_cost", "listeners": n, "block": block,
            "us_per_listener_block": round(1e6 * spent[0] / lb, 1),
            "server_cores": round(spent[0] / seconds, 3),
            "datagrams_out_per_listener_block": round((server.datagrams_out - out0) / lb, 2),
            "datagrams_in_per_listener_block": round((server.datagrams_in - in0) / lb, 2),
            "return_slots": return_slots, "relayed_returns": server.hub.return_frames,
            "returns_unheard": server.hub.returns_unheard}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listeners", type=int, nargs="+", default=[10, 50, 100])
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--return-slots", type=int, default=16, help="listeners whose returns the broadcaster takes")
    a = ap.parse_args(argv)
    for n in a.listeners:
        print(json.dumps(run(n, a.block, a.seconds, return_slots=a.return_slots)), flush=True)


if __name__ == "__main__":
    main()
