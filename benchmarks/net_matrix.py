"""The network matrix of DESIGN.md, through `modular impair`: one JSON line per cell.

Per cell, two links run side by side from a server to a client (LinkEndpoints on two
network threads, as radio.Server/radio.Client hold them), each through its own
`modular impair` process with the cell's loss, delay and jitter:

- an audio link (auto buffer) carrying the sender's timeline position as its samples:
  one-way latency capture -> playout (p50/p99 over every block played, after a warm-up),
  glitches (runs of blocks with missing samples) per minute, kbps on the wire;
- a CV link (auto buffer) carrying a ramp and a sine: CV bit errors = CV samples played
  that differ from the sent value at their position, or positions skipped.

A stand-in audio thread (SCHED_FIFO when allowed) runs every endpoint block by block in
real time, with the real-time runner's settings (GIL switch interval, frozen garbage
collector) and the jitter buffer's kernels loaded first, as radio.Server/Client do.

Paths (--path): ``netns`` (the default where root, iproute2 and /dev/net/tun exist) puts
the two ends in two network namespaces joined through TUN devices by a relay process
that applies the cell's seeded loss/delay/jitter to every IP packet
(modular/net/netns.py), so KCP and TCP meet exactly the same impairment, one path shared
by both links of a cell. ``relay`` uses `modular impair` (UDP only: impaired TCP cells
are then skipped).

    .venv/bin/python benchmarks/net_matrix.py                 # the goal cells, ~4 s each
    .venv/bin/python benchmarks/net_matrix.py --seconds 60 --full
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gc  # noqa: E402

from modular.io.realtime import GIL_SWITCH_INTERVAL  # noqa: E402
from modular.net import netns, transport  # noqa: E402
from modular.net.endpoint import LinkEndpoint  # noqa: E402
from modular.net.netthread import NetThread  # noqa: E402

SR = 48000
WARMUP = 1.5  # seconds not measured: connection, the auto buffer's first statistics


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def relay(to_port, loss, delay, jitter, seconds, seed):
    port = free_port()
    exe = Path(sys.executable).parent / "modular"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "modular.cli"]
    p = subprocess.Popen(cmd + ["impair", "--listen", str(port), "--to", f"127.0.0.1:{to_port}", "--loss", str(loss),
                                "--delay", str(delay), "--jitter", str(jitter), "--seed", str(seed),
                                "--duration", str(seconds + 10)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p, port


def warm_up(block):
    """What radio.Server/Client and the real-time runner do before the first block."""
    from modules.radio.link import _warm_up

    for cv in (True, False):
        _warm_up(block, SR, cv)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def run_cell(kind, loss, delay, jitter, block, seconds, seed=1, path="relay"):
    warm_up(block)
    eps = {}
    procs = []
    nets = []
    ns = None
    try:
        if path == "netns":
            ns = netns.NetnsPath(loss / 100, delay / 1000, jitter / 1000, seed=seed).__enter__()
            nets.append(NetThread().start())  # server side: its sockets are made in netns b below
            with ns.enter("a"):
                nets.append(NetThread().start())  # the client's sockets are made in its thread
        else:
            nets += [NetThread().start(), NetThread().start()]
        for name, cv in (("audio", False), ("cv", True)):
            a = LinkEndpoint(2, 2, block, SR, cv=cv, max_depth=128)
            b = LinkEndpoint(2, 2, block, SR, cv=cv, max_depth=128)
            if ns is not None:
                with ns.enter("b"):
                    srv = transport.server(a, 0, transport=kind, host=ns.addr["b"])
                nets[0].add(srv)
                host, port = ns.addr["b"], srv.port
            else:
                srv = nets[0].add(transport.server(a, 0, transport=kind, host="127.0.0.1"))
                host, port = "127.0.0.1", srv.port
                if kind == transport.UDP:
                    p, port = relay(srv.port, loss, delay, jitter, seconds, seed)
                    procs.append(p)
                    time.sleep(0.3)
            nets[1].add(transport.client(b, host, port, transport=kind))
            eps[name] = (a, b)
        deadline = time.monotonic() + 10
        while not all(b.status.get("connected") and a.status.get("connected") for a, b in eps.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("links did not come up")
            time.sleep(0.05)
        gc.collect()
        gc.freeze()
        return measure(eps, block, seconds)
    finally:
        gc.unfreeze()
        for n in nets:
            n.stop()
        for p in procs:
            p.terminate()
            p.wait(5)
        if ns is not None:
            ns.close()


def measure(eps, block, seconds):
    n_blocks = int(seconds * SR / block)
    warm = int(WARMUP * SR / block)
    sent_t = np.zeros(n_blocks + 1)
    played_pos = np.full(n_blocks, -1.0)
    played_t = np.zeros(n_blocks)
    audio_under = np.zeros(n_blocks, bool)
    cv_rows = []
    (aa, ab), (ca, cb) = eps["audio"], eps["cv"]
    out_a = np.zeros((2, block), np.float32)
    out_c = np.zeros((2, block), np.float32)
    blk = np.zeros((2, block), np.float32)
    idx = np.arange(block)
    bytes0 = None

    def audio_thread():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
        except OSError:
            pass
        t0 = time.monotonic()
        for k in range(n_blocks):
            due = t0 + k * block / SR
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            pos = k * block
            t = time.monotonic()
            sent_t[k] = t
            blk[0] = (pos + idx).astype(np.float32)  # the position, exact below 2^24
            blk[1] = np.sin((pos + idx) * 0.001).astype(np.float32)
            aa.send(pos, blk)
            ca.send(pos, blk)
            ab.send(pos, blk)
            cb.send(pos, blk)
            ab.receive(out_a)
            played_t[k] = time.monotonic()
            played_pos[k] = out_a[0, 0] if not ab.rx.underrun_now else -1.0
            audio_under[k] = ab.rx.underrun_now
            cb.receive(out_c)
            if k >= warm:
                cv_rows.append(out_c.copy())
            aa.receive(out_a)
            ca.receive(out_c)

    th = threading.Thread(target=audio_thread)
    th.start()
    th.join()
    # latency: the block played at played_t[k] starts with position p, captured at sent_t[p // block]
    ok = (played_pos >= 0) & (np.arange(n_blocks) >= warm)
    p = played_pos[ok].astype(np.int64)
    src = p // block
    frac = (p % block) / SR
    lat = (played_t[ok] - (sent_t[src] + frac)) * 1e3 + block / SR * 1e3  # + the block being played
    glitches = int(np.count_nonzero(np.diff(audio_under[warm:].astype(int)) == 1))
    # CV: every played sample is the sent value at its position; none skipped
    y = np.concatenate(cv_rows, axis=1)
    fresh = np.concatenate([[True], np.diff(y[0]) != 0])
    pos = y[0, fresh].astype(np.int64)
    pos_ok = pos[pos > 0]
    sine = y[1, fresh][pos > 0]
    bit_errors = int(np.count_nonzero(sine.view(np.uint32) != np.sin(pos_ok * 0.001).astype(np.float32).view(np.uint32)))
    bit_errors += int(np.count_nonzero(np.diff(pos_ok) != 1))
    minutes = (n_blocks - warm) * block / SR / 60
    st = ab.status
    frames = st.get("frames", 0)
    kbps = 8 * (24 + 4 + 2 * block * 4 + 12) * frames / (n_blocks * block / SR) / 1000  # payload + headers
    return {"p50_ms": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
            "p99_ms": round(float(np.percentile(lat, 99)), 2) if len(lat) else None,
            "glitches_per_min": round(glitches / minutes, 2), "cv_bit_errors": bit_errors,
            "kbps": round(kbps, 1), "depth_blocks": round(st.get("depth", 0.0), 2),
            "rtt_ms": round(st.get("rtt_ms", float("nan")), 2),
            # the stand-in audio thread's worst lateness (a real card would miss callbacks)
            "audio_thread_late_ms": round(float(np.max(sent_t[:n_blocks] - (sent_t[0] + np.arange(n_blocks) * block / SR))) * 1e3, 2),
            "audio_thread_late_at_s": round(float(np.argmax(sent_t[:n_blocks] - (sent_t[0] + np.arange(n_blocks) * block / SR))) * block / SR, 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=4.0, help="measured seconds per cell (plus a warm-up)")
    ap.add_argument("--full", action="store_true", help="every cell of DESIGN.md's matrix (default: the goal cells)")
    ap.add_argument("--transport", choices=["udp", "tcp", "both"], default="both")
    ap.add_argument("--path", choices=["netns", "relay"], default=None,
                    help="netns: both ends in namespaces joined by an impairing IP relay (default when "
                         "possible); relay: `modular impair`, UDP only")
    ap.add_argument("--cells", default=None, help="only these cells, e.g. '0,0,0,64;5,20,5,64' (loss,delay,jitter,block)")
    a = ap.parse_args(argv)
    path = a.path or ("netns" if netns.available() is None else "relay")
    if path == "netns" and netns.available():
        ap.error(netns.available())
    if a.full:
        cells = [(loss, delay, jit, block) for block in (64, 128) for delay in (0, 25)
                 for jit in (0, 5, 20) for loss in (0, 1, 5, 10)]
    else:
        cells = [(0, 0, 0, 64), (0, 0, 0, 128), (1, 25, 5, 64), (5, 20, 5, 64), (10, 25, 20, 64)]
    if a.cells:
        cells = [tuple(int(v) for v in c.split(",")) for c in a.cells.split(";")]
    kinds = ["udp", "tcp"] if a.transport == "both" else [a.transport]
    for kind in kinds:
        for loss, delay, jit, block in cells:
            row = {"bench": "net_matrix", "transport": "kcp" if kind == "udp" else "tcp", "loss": loss,
                   "delay_ms": delay, "jitter_ms": jit, "block": block, "path": path}
            if kind == "tcp" and (loss or delay or jit) and path == "relay":
                row["skipped"] = "modular impair relays UDP only: use --path netns (root) to impair TCP"
            else:
                row.update(run_cell(kind, loss, delay, jit, block, a.seconds + WARMUP, path=path))
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
