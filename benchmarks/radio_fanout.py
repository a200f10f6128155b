"""Radio fan-out through the server on loopback (issue 5's acceptance benchmark).

One broadcaster (16 CV channels, float32, and 2 audio channels, int16, block by block in
real time) registers a handle on a `modular server` process; N lightweight protocol
listeners (no engine; over UDP by default the lean listener of lean_listener.py, with
--transport udp-peer the full RadioPeer client) subscribe, and each answers every CV
block with a 2-channel int16 return stamped with the position it answers. The
broadcaster runs in this process, the listeners in worker processes (--per-worker each,
one selector loop apiece), the server in its own.

--block is the samples per network frame: the `frame` of a RadioBroadcast, which gathers
its engine blocks into frames of that many samples (256 unless the patch says otherwise;
--block 64 is a broadcast that sends every block of 64 as it is).

Per N, one JSON line:
    {"bench": "radio_fanout", "listeners": N, "server_cpu_cores": ..., "underruns": ...,
     "p99_ms": ..., ...}

- server_cpu_cores: the server process's user+system CPU seconds per wall second.
- p99_ms: one-way latency broadcaster -> listener of the CV blocks (send to arrival,
  one clock: CLOCK_MONOTONIC is the same in every process), 99th percentile over all
  listeners. A lean listener's arrival is when the datagram completing the block
  reached its socket (the kernel's receive timestamp; --arrival read: when the
  listener read it).
- underruns: CV blocks that reached a listener later than their playout time (send time
  + --buffer-ms) or never, summed over listeners; return_underruns: returns that reached
  the broadcaster later than send time + 2 x --buffer-ms, or never, over the slots the
  broadcaster takes (--return-slots, 16 by default as RadioReturn plays 16: the server
  tells the listeners beyond them that they are not heard, and they send no return).
- late_spells: when the late blocks were, [start s, length ms] from the start of the
  measurement (the first five spells).
- bench_cpu_cores: the broadcaster's process and the listeners' workers together.
- machine_busy_cores, steal_cores: the whole machine's busy CPU, and the time its
  virtual cores were ready but their host ran something else (/proc/stat), per wall
  second: what the run had to share the two cores with.

The listeners stand in for a hundred other machines, but here they share the two cores
with the server, so their workers run at niceness 10 (--listener-nice): when the
server and a worker are both ready to run, the server runs, as it would on a host of its
own. At equal priority the server waits its turn behind them, falls behind, and then
spends turns of 15-25 ms working off a backlog of the listeners' datagrams, with every
listener's copy of the frame waiting (measured: 2-1600 late blocks per 10 s at frames of
256, where niceness 10 gives 0-3); and with arrivals taken when a listener reads, the
listeners' own scheduling would count as the server's lateness.

    python benchmarks/radio_fanout.py [--listeners 1 10 50 100] [--seconds 5] [--block 256]
                                      [--transport udp|udp-peer|tcp] [--buffer-ms 30] [--per-worker 25]
                                      [--return-slots 16] [--listener-nice 10] [--arrival kernel|read]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import selectors
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from modular.net import wire  # noqa: E402
from modular.net.framing import StreamDecoder, frame  # noqa: E402
from modular.server.client import BroadcastFrame, RadioSocket, ReturnFrame, StreamSpec  # noqa: E402
from modules.radio.broadcast import DEFAULT_FRAME  # noqa: E402

from lean_listener import LeanListener  # noqa: E402

SR = 48000
CV = StreamSpec(1, 16, cv=True)
AUDIO = StreamSpec(2, 2, cv=False, encoding=wire.Encoding.INT16)
RETURN = StreamSpec(1, 2, cv=False, encoding=wire.Encoding.INT16, answers=1)
_FRAME = struct.Struct(">HBBIqBBH")
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_seconds() -> tuple[float, float]:
    """(CPU seconds the machine's cores were busy, seconds the hypervisor took from them),
    all cores, since boot: /proc/stat's steal is time a virtual core was ready to run
    but its host ran something else."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq
    return busy / _TICKS, v[7] / _TICKS


def start_server():
    exe = Path(sys.executable).parent / "modular"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "modular.cli"]
    # the server of this tree (another checkout's editable install would be found otherwise)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen(cmd + ["server", "--port", "0", "--http-port", "-1", "--host", "127.0.0.1",
                                   "--max-sessions", "2048"], stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline().split()
    return proc, int(line[3]), int(line[5])


class TcpListener:
    """A protocol listener over the TCP carrier, parsing only frame headers."""

    def __init__(self, port, index, block):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.dec = StreamDecoder()
        self.sock.sendall(frame(wire.encode(wire.Hello(index + 1, SR, block, f"l{index}"))))
        self.sock.sendall(frame(wire.encode(wire.Subscribe(1, "fanout"))) + frame(wire.encode(RETURN.info())))
        self.sock.setblocking(False)
        self.payload = bytes(2 * block * 2)
        self.block = block
        self.seq = 0
        self.out = bytearray()

    def fileno(self):
        return self.sock.fileno()

    def read(self, now, on_cv):
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                break
            for m in self.dec.feed(data):
                if m[3] == wire.MsgType.FRAME:
                    stream, flags, enc, seq, pos, ch, _r, n = _FRAME.unpack_from(m, 4)
                    if stream == 1:
                        on_cv(pos, now)
                        self.out += frame(wire.header(wire.MsgType.FRAME) + _FRAME.pack(
                            1, wire.FLAG_RESPONSE, wire.Encoding.INT16, self.seq, pos, 2, 0, self.block) + self.payload)
                        self.seq += 1
        if self.out:
            try:
                k = self.sock.send(self.out)
                del self.out[:k]
            except (BlockingIOError, InterruptedError):
                pass

    def service(self, now):
        pass

    @property
    def ready(self):
        return True  # (this listener does not parse RESULT; the worker gives it a moment)

    def close(self):
        self.sock.close()


class LeanUdpListener(LeanListener):
    """The lean protocol listener over UDP/KCP (lean_listener.py)."""

    def __init__(self, port, index, block):
        super().__init__(("127.0.0.1", port), index, block, "fanout", RETURN.info())


class UdpListener:
    """The full client as a listener over UDP/KCP (RadioPeer on its own socket)."""

    def __init__(self, port, index, block):
        self.rs = RadioSocket(("127.0.0.1", port), name=f"l{index}", block=block)
        self.rs.peer.subscribe("fanout", returns=(RETURN,))
        self.ret = np.zeros((2, block), np.float32)

    def fileno(self):
        return self.rs.fileno()

    def read(self, now, on_cv):
        self.rs.read()
        for e in self.rs.peer.events():
            if type(e) is BroadcastFrame and e.frame.stream == 1:
                on_cv(e.frame.position, e.arrival)
                self.rs.peer.send_return(1, e.frame.position, self.ret, now)
        self.rs.flush()

    def service(self, now):
        if now >= self.rs.peer.next_deadline:
            self.rs.service()

    @property
    def ready(self):
        return self.rs.peer.subscribed

    def close(self):
        self.rs.close()


def listen_worker(conn, port: int, indices, block: int, transport: str, nice: int = 0, arrival: str = "kernel"):
    """A worker process: the listeners ``indices``, answering until told to stop; sends
    back the arrival time of every CV block at each, and its CPU seconds while measured."""
    if nice:
        os.nice(nice)
    cls = {"tcp": TcpListener, "udp": LeanUdpListener, "udp-peer": UdpListener}[transport]
    listeners = [cls(port, i, block) for i in indices]
    if arrival == "read":
        for l in listeners:
            if isinstance(l, LeanListener):
                l.kernel_arrival = False
    sel = selectors.DefaultSelector()
    for j, l in enumerate(listeners):
        sel.register(l, selectors.EVENT_READ, j)
    arrivals = [dict() for _ in listeners]
    handlers = [(lambda arr: (lambda pos, now: arr.setdefault(pos, now)))(a) for a in arrivals]

    def serve(until):
        while True:
            now = time.monotonic()
            if now >= until:
                return
            for key, _ in sel.select(min(0.002, until - now)):
                listeners[key.data].read(time.monotonic(), handlers[key.data])
            now = time.monotonic()
            for l in listeners:
                l.service(now)

    end = time.monotonic() + 10
    while time.monotonic() < end and not all(l.ready for l in listeners):
        serve(time.monotonic() + 0.01)
    serve(time.monotonic() + 0.2)
    conn.send(sum(1 for l in listeners if l.ready))
    start, stop, drain = conn.recv()
    serve(start)
    cpu0 = time.process_time()
    serve(stop)
    cpu = time.process_time() - cpu0
    serve(drain)
    conn.send((arrivals, cpu))
    for l in listeners:
        try:
            l.close()
        except OSError:
            pass


def run(n: int, seconds: float, block: int, transport: str, buffer_ms: float, per_worker: int,
        return_slots: int = 16, warmup: float = 1.5, listener_nice: int = 10, arrival: str = "kernel") -> dict:
    proc, port, tcp_port = start_server()
    workers = []
    try:
        b = RadioSocket(("127.0.0.1", port), name="broadcaster", block=block)
        b.peer.register("fanout", b"bench-token", ("bench",), (CV, AUDIO), return_slots=return_slots)
        end = time.monotonic() + 5
        while not b.peer.registered and time.monotonic() < end:
            b.poll(0.01)
        ctx = multiprocessing.get_context("fork")
        lport = tcp_port if transport == "tcp" else port
        for first in range(0, n, per_worker):
            here, there = ctx.Pipe()
            w = ctx.Process(target=listen_worker, args=(there, lport, range(first, min(n, first + per_worker)),
                                                         block, transport, listener_nice, arrival), daemon=True)
            w.start()
            workers.append((w, here))
        # the broadcaster keeps its session alive while the listeners subscribe
        pending = list(workers)
        ready = 0
        end = time.monotonic() + 30
        while pending and time.monotonic() < end:
            b.poll(0.01)
            for w in list(pending):
                if w[1].poll():
                    ready += w[1].recv()
                    pending.remove(w)

        period = block / SR
        sent_at: dict[int, float] = {}
        returns: dict[tuple, float] = {}
        cv_block = np.zeros((16, block), np.float32)
        audio_block = np.zeros((2, block), np.float32)
        t0 = time.monotonic()
        start_measure = t0 + warmup
        stop = start_measure + seconds
        drain_until = stop + 0.5
        for _w, c in workers:
            c.send((start_measure, stop, drain_until))
        sel = selectors.DefaultSelector()
        sel.register(b.sock, selectors.EVENT_READ)
        position = 0
        next_block = t0
        cpu0 = cpu1 = None
        first_pos = last_pos = 0
        while True:
            now = time.monotonic()
            if cpu0 is None and now >= start_measure:
                cpu0, bench0, w0, first_pos = cpu_seconds(proc.pid), time.process_time(), now, position
                machine0 = machine_seconds()
            if now >= drain_until:
                break
            while now >= next_block and now < stop:
                cv_block[:, 0] = position
                b.peer.send_broadcast(1, position, cv_block, now)
                b.peer.send_broadcast(2, position, audio_block, now)
                sent_at[position] = now
                position += block
                next_block += period
            if now >= stop and cpu0 is not None and cpu1 is None:
                cpu1, bench1, w1, last_pos = cpu_seconds(proc.pid), time.process_time(), now, position
                machine1 = machine_seconds()
            b.flush()
            timeout = max(0.0, min(next_block - time.monotonic(), 0.002))
            if sel.select(timeout):
                b.read()
                for e in b.peer.events():
                    if type(e) is ReturnFrame:
                        returns.setdefault((e.slot, e.frame.position), e.arrival)
            b.service()
        if cpu1 is None:
            cpu1, bench1, w1, last_pos = cpu_seconds(proc.pid), time.process_time(), time.monotonic(), position
            machine1 = machine_seconds()
        arrivals, worker_cpu = [], 0.0
        for _w, c in workers:
            arr, cpu = c.recv()
            arrivals += arr
            worker_cpu += cpu
        measured = [p for p in range(first_pos, last_pos, block)]
        lat, under, ret_lat, ret_under = [], 0, [], 0
        deadline = buffer_ms / 1000
        late_blocks = set()
        for arr in arrivals:
            for p in measured:
                a = arr.get(p)
                if a is None or a - sent_at[p] > deadline:
                    under += 1
                    late_blocks.add(p)
                if a is not None:
                    lat.append(a - sent_at[p])
        slots = {s for s, _ in returns}
        for s in range(min(n, return_slots)):
            for p in measured:
                a = returns.get((s, p))
                if a is None or a - sent_at[p] > 2 * deadline:
                    ret_under += 1
                if a is not None:
                    ret_lat.append(a - sent_at[p])
        wall = w1 - w0
        return {"bench": "radio_fanout", "listeners": n, "transport": transport, "block": block,
                "seconds": round(wall, 2), "server_cpu_cores": round((cpu1 - cpu0) / wall, 3),
                "underruns": under, "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 2) if lat else None,
                "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 2) if lat else None,
                "return_underruns": ret_under,
                "return_p99_ms": round(float(np.percentile(ret_lat, 99)) * 1e3, 2) if ret_lat else None,
                "return_slots": return_slots, "returns_heard_from": len(slots), "blocks": len(measured), "buffer_ms": buffer_ms,
                "subscribed": ready, "workers": len(workers), "listener_nice": listener_nice,
                "arrival": arrival if transport == "udp" else "read",
                "late_spells": _spells(sorted(late_blocks), block, first_pos),
                "bench_cpu_cores": round((bench1 - bench0 + worker_cpu) / wall, 3),
                "machine_busy_cores": round((machine1[0] - machine0[0]) / wall, 3),
                "steal_cores": round((machine1[1] - machine0[1]) / wall, 3)}
    finally:
        for w, c in workers:
            w.join(timeout=3)
            if w.is_alive():
                w.kill()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _spells(late: list, block: int, first: int, most: int = 5) -> list:
    """The blocks some listener got late, as spells [start s, length ms] (at most
    ``most``): a host stall shows as one spell where every listener is late at once."""
    spells = []
    for p in late:
        if spells and p - spells[-1][1] <= 2 * block:
            spells[-1][1] = p
        else:
            spells.append([p, p])
    return [[round((a - first) / SR, 2), round((b - a + block) / SR * 1e3, 1)] for a, b in spells[:most]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listeners", type=int, nargs="+", default=[1, 10, 50, 100])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--block", type=int, default=DEFAULT_FRAME,
                    help="samples per network frame (RadioBroadcast's default frame)")
    ap.add_argument("--transport", choices=["udp", "udp-peer", "tcp"], default="udp",
                    help="the listeners' carrier: udp (lean listeners), udp-peer (RadioPeer listeners), tcp")
    ap.add_argument("--buffer-ms", type=float, default=30.0)
    ap.add_argument("--per-worker", type=int, default=25, help="listeners per worker process")
    ap.add_argument("--return-slots", type=int, default=16, help="listeners whose returns the broadcaster takes")
    ap.add_argument("--listener-nice", type=int, default=10,
                    help="niceness of the listeners' worker processes (0: the server's own priority)")
    ap.add_argument("--arrival", choices=["kernel", "read"], default="kernel",
                    help="a CV block's arrival at a lean listener: the kernel's receive timestamp, or "
                         "when the listener read it")
    a = ap.parse_args(argv)
    for n in a.listeners:
        print(json.dumps(run(n, a.seconds, a.block, a.transport, a.buffer_ms, a.per_worker, a.return_slots, listener_nice=a.listener_nice, arrival=a.arrival)), flush=True)


if __name__ == "__main__":
    main()
