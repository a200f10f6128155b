"""The network matrix of DESIGN.md, through an impaired path: one JSON line per cell.

Per cell, two processes play the two ends, as two patches with radio.Server and
radio.Client would: the server end and the client end each hold two duplex links (a
LinkEndpoint per link, on the process's one network thread), and a stand-in audio
thread in each runs every endpoint block by block in real time from the same start
instant, with the real-time runner's settings (SCHED_FIFO when allowed, the GIL switch
interval, a frozen garbage collector, the jitter buffer's kernels loaded first).

- an audio link (auto buffer) carrying the sender's timeline position as its samples:
  one-way latency server -> client, capture -> playout (p50/p99 over every block played
  after a warm-up, the block being played included), glitches (runs of blocks with
  missing samples) per minute (and how many of them came within 100 ms of a stall of
  the whole machine: both ends' audio threads woken over 4 ms late), and kbps: what the server end's audio link sent while
  measured (UDP payloads with the parity the path asked for, or TCP stream bytes);
- a CV link (auto buffer) carrying a ramp and a sine: CV bit errors = CV samples played
  that differ from the sent value at their position, or positions skipped.

Both audio threads tick on the same schedule, so a block sent at tick k reaches the
other end's jitter buffer just after that end read tick k: the latency figures are those
of the least favourable phase between two sound cards.

Paths (--path): ``netns`` (the default where root, iproute2 and /dev/net/tun exist) puts
the two processes in two network namespaces joined through TUN devices by a relay
process that applies the cell's seeded loss/delay/jitter to every IP packet
(modular/net/netns.py), so KCP and TCP meet exactly the same impairment. ``relay`` uses
`modular impair` on loopback (UDP only: impaired TCP cells are then skipped). A clean
cell (no loss, delay or jitter) runs over plain loopback with nothing in between
(``"path": "direct"``), which is what "clean loopback" means: the relays are processes
that forward every packet, and their scheduling would be measured as the path's jitter.
``--clean-path same`` sends clean cells through ``--path`` too.

To look into a cell, NET_MATRIX_KEEP=DIR keeps both ends' recordings there
(``{kind}-{loss}-{delay}-{jitter}-{block}-{server|client}.npz``): the server's send time
of every block (``sent_t``: how late its audio thread was), and per block played at the
client whether samples were missing (``under``) and the audio buffer after the read
(``buffer_trace``: playout offset, base, samples received ahead, late frames and stalls
so far), which tells a glitch of a frame that never came from one that came too late.

    .venv/bin/python benchmarks/net_matrix.py                 # the goal cells, ~5 s each
    .venv/bin/python benchmarks/net_matrix.py --seconds 60 --full
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from modular.net import netns  # noqa: E402

SR = 48000
WARMUP = 1.5  # seconds not measured: connection, the auto buffer's first statistics
STALL_MS = 4.0  # an audio thread woken this late (3 blocks at 64) was stalled
LINKS = ("audio", "cv")
SPIN = float(os.environ.get("NET_MATRIX_SPIN", "0"))


def _tree_env():
    """The environment for the processes a cell starts: this tree's modular first."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def _modular():
    exe = Path(sys.executable).parent / "modular"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "modular.cli"]


def relay(to_port, loss, delay, jitter, seconds, seed):
    port = free_port()
    p = subprocess.Popen(_modular() + ["impair", "--listen", str(port), "--to", f"127.0.0.1:{to_port}",
                                       "--loss", str(loss), "--delay", str(delay), "--jitter", str(jitter),
                                       "--seed", str(seed), "--duration", str(seconds + 20)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=_tree_env())
    return p, port


# ---------------------------------------------------------------- one end (a process of its own)


def worker(role, kind, block, seconds, host, ports, out_path):
    """The server end (role "server": binds, prints its ports) or the client end; then
    waits for the start instant on stdin, runs the audio thread, saves what it saw."""
    from modular.io.realtime import GIL_SWITCH_INTERVAL
    from modular.net import transport
    from modular.net.endpoint import LinkEndpoint
    from modular.net.netthread import NetThread
    from modular.net.spsc import touched
    from modules.radio.link import _warm_up

    for cv in (True, False):
        _warm_up(block, SR, cv)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    net = NetThread().start()
    eps = {}
    bound = {}
    transports = {}
    for k, name in enumerate(LINKS):
        ep = eps[name] = LinkEndpoint(2, 2, block, SR, cv=name == "cv", max_depth=128,
                                      stale_blocks=int(os.environ["NET_MATRIX_STALE"]) if os.environ.get("NET_MATRIX_STALE") else None)
        if role == "server":
            t = transport.server(ep, 0, transport=kind, host=host)
            bound[name] = t.port
            net.add(t)
        else:
            t = net.add(transport.client(ep, host, ports[k], transport=kind))
        transports[name] = t
    print(json.dumps({"ports": [bound[n] for n in LINKS]} if role == "server" else {"started": True}), flush=True)
    deadline = time.monotonic() + 15
    while not all(ep.status.get("connected") for ep in eps.values()):
        if time.monotonic() > deadline:
            print(json.dumps({"error": f"{role}: links did not come up"}), flush=True)
            return 1
        time.sleep(0.02)
    print(json.dumps({"connected": True}), flush=True)
    t0 = float(sys.stdin.readline())
    gc.collect()
    gc.freeze()
    n_blocks = int(seconds * SR / block)
    # The recordings are written now, every page: the audio thread fills them block by
    # block, and a first write to a page (here: a virtual machine's memory the host has
    # not backed yet) can stall it for milliseconds, a few times a second.
    sent_t = touched(n_blocks, np.float64)
    played_pos = np.full(n_blocks, -1.0)  # np.full writes every page too
    played_t = touched(n_blocks, np.float64)
    under = touched(n_blocks, bool)
    buffer_trace = touched((n_blocks, 5), np.int64)  # the audio buffer after each read: offset, base, fill, late, stalls
    cv_out = touched((2, n_blocks * block), np.float32)
    out = {name: np.zeros((2, block), np.float32) for name in LINKS}
    blk = np.zeros((2, block), np.float32)
    idx = np.arange(block)

    def audio_thread():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
        except OSError:
            pass
        a, c = eps["audio"], eps["cv"]
        trace = os.environ.get("NET_MATRIX_TRACE")  # dump every thread's stack when a block stalls
        if trace:
            import faulthandler
        for k in range(n_blocks):
            if trace:
                faulthandler.dump_traceback_later(float(trace), exit=False)
            due = t0 + k * block / SR
            now = time.monotonic()
            if now < due - SPIN:
                time.sleep(due - SPIN - now)
            while time.monotonic() < due:  # the last SPIN seconds: no timer wake-up to wait for
                pass
            pos = k * block
            sent_t[k] = time.monotonic()
            blk[0] = (pos + idx).astype(np.float32)  # the position, exact below 2^24
            blk[1] = np.sin((pos + idx) * 0.001).astype(np.float32)
            a.send(pos, blk)
            c.send(pos, blk)
            a.receive(out["audio"])
            played_t[k] = time.monotonic()
            under[k] = a.rx.underrun_now
            rx = a.rx
            buffer_trace[k] = (rx.clock - rx.playout, rx._base, rx._newest_end - rx.playout, rx.late, rx.stalls)
            played_pos[k] = -1.0 if under[k] else out["audio"][0, 0]
            c.receive(out["cv"])
            cv_out[:, pos:pos + block] = out["cv"]

    th = threading.Thread(target=audio_thread)
    wire0 = transports["audio"].bytes_sent
    th.start()
    th.join()
    wire_bytes = transports["audio"].bytes_sent - wire0
    gc.unfreeze()
    st = eps["audio"].status
    rx = eps["audio"].rx
    nz = np.nonzero(rx._hist)[0]
    hist = np.array([(rx._hist_origin + i * rx._bin, rx._hist[i]) for i in nz]).reshape(-1, 2)
    np.savez(out_path, sent_t=sent_t, played_pos=played_pos, played_t=played_t, under=under, cv=cv_out, hist=hist, buffer_trace=buffer_trace,
             drift_ppm=rx._slope * 1e6, adjustments=rx.adjustments, stalls=rx.stalls, late=rx.late, lost=rx.lost,
             fec=_fec_counts(transports["audio"]),
             frames=st.get("frames", 0), wire_bytes=wire_bytes, dropped_stale=eps["audio"].dropped_stale, depth=st.get("depth", 0.0), rtt=st.get("rtt_ms", float("nan")))
    print(json.dumps({"done": True}), flush=True)
    time.sleep(0.3)
    net.stop()
    return 0


def _fec_counts(t):
    """[recovered, unrecoverable] frames of the audio link's FEC decoder, if it has one."""
    core = getattr(t, "core", None)
    peer = getattr(core, "peer", None) or (getattr(t, "current", None))
    dec = getattr(peer, "fec_rx", None)
    return [dec.recovered, dec.unrecoverable] if dec is not None else [0, 0]


# ---------------------------------------------------------------- the parent


class _End:
    def __init__(self, cmd, env):
        err = open(os.environ["NET_MATRIX_STDERR"] + f".{len(cmd)}", "w") if os.environ.get("NET_MATRIX_STDERR") \
            else subprocess.PIPE
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                     text=True, env=env)

    def expect(self, key, timeout=30.0):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker ended: {self.proc.stderr.read()[-800:]}")
        msg = json.loads(line)
        if key not in msg:
            raise RuntimeError(f"worker said {msg}")
        return msg[key]

    def start_at(self, t0):
        self.proc.stdin.write(f"{t0!r}\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_cell(kind, loss, delay, jitter, block, seconds, seed=1, path="relay"):
    env = _tree_env()
    ns = None
    ends = []
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            me = [sys.executable, str(Path(__file__).resolve()), "--worker"]
            common = ["--kind", kind, "--block", str(block), "--seconds", str(seconds)]
            if path == "netns":
                ns = netns.NetnsPath(loss / 100, delay / 1000, jitter / 1000, seed=seed).__enter__()
                in_b = ["ip", "netns", "exec", ns.ns["b"]]
                in_a = ["ip", "netns", "exec", ns.ns["a"]]
                host = ns.addr["b"]
            else:
                in_a = in_b = []
                host = "127.0.0.1"
            server = _End(in_b + me + ["server", "--host", host, "--out", f"{tmp}/server.npz"] + common, env)
            ends.append(server)
            ports = server.expect("ports")
            if path == "relay":
                if kind == "udp":
                    relayed = []
                    for p in ports:
                        proc, rp = relay(p, loss, delay, jitter, seconds, seed)
                        procs.append(proc)
                        relayed.append(rp)
                    ports = relayed
                    time.sleep(0.3)
            client = _End(in_a + me + ["client", "--host", host, "--ports", ",".join(map(str, ports)),
                                       "--out", f"{tmp}/client.npz"] + common, env)
            ends.append(client)
            client.expect("started")
            server.expect("connected")
            client.expect("connected")
            t0 = time.monotonic() + 0.5
            for e in ends:
                e.start_at(t0)
            for e in ends:
                e.expect("done", timeout=seconds + 30)
            cli = np.load(f"{tmp}/client.npz")
            keep = os.environ.get("NET_MATRIX_KEEP")  # a directory: keep both ends' recordings there
            if keep:
                import shutil
                for end in ("server", "client"):
                    shutil.copy(f"{tmp}/{end}.npz", Path(keep) / f"{kind}-{loss}-{delay}-{jitter}-{block}-{end}.npz")
            if os.environ.get("NET_MATRIX_HIST"):  # the client's lateness above the drift line
                h = cli["hist"]
                print("lateness histogram (samples above the trend: share):",
                      " ".join(f"{int(v)}:{w / h[:, 1].sum():.1e}" for v, w in h), file=sys.stderr)
            return measure(np.load(f"{tmp}/server.npz"), cli, block, seconds)
        finally:
            for e in ends:
                e.close()
            for p in procs:
                p.terminate()
                p.wait(5)
            if ns is not None:
                ns.close()


def measure(srv, cli, block, seconds):
    """Server -> client: the client played position p at played_t; the server captured
    the block holding p at sent_t[p // block]."""
    sent_t, played_pos, played_t, under = srv["sent_t"], cli["played_pos"], cli["played_t"], cli["under"]
    n_blocks = len(played_pos)
    warm = int(WARMUP * SR / block)
    ok = (played_pos >= 0) & (np.arange(n_blocks) >= warm)
    p = played_pos[ok].astype(np.int64)
    src = p // block
    frac = (p % block) / SR
    lat = (played_t[ok] - (sent_t[src] + frac)) * 1e3 + block / SR * 1e3  # + the block being played
    starts = np.flatnonzero(np.diff(under[warm:].astype(int)) == 1) + 1
    glitches = len(starts)
    # glitches within 100 ms of a stall of the whole machine: both ends' stand-in audio
    # threads (two processes, SCHED_FIFO) woken more than STALL_MS late. With sound cards
    # such a stall is a missed callback at both ends, whatever the network did.
    period = block / SR
    k = np.arange(n_blocks)
    stalled_srv = sent_t - (sent_t[0] + k * period) > STALL_MS / 1e3
    stalled_cli = played_t - (played_t[0] + k * period) > STALL_MS / 1e3
    window = int(0.1 / period)
    machine = sum(1 for g in starts if stalled_srv[max(0, warm + g - window):warm + g + 1].any()
                  and stalled_cli[max(0, warm + g - window):warm + g + 1].any())
    # CV: every played sample is the sent value at its position; none skipped
    y = cli["cv"][:, warm * block:]
    fresh = np.concatenate([[True], np.diff(y[0]) != 0])
    pos = y[0, fresh].astype(np.int64)
    pos_ok = pos[pos > 0]
    sine = y[1, fresh][pos > 0]
    bit_errors = int(np.count_nonzero(sine.view(np.uint32) != np.sin(pos_ok * 0.001).astype(np.float32).view(np.uint32)))
    bit_errors += int(np.count_nonzero(np.diff(pos_ok) != 1))
    minutes = (n_blocks - warm) * block / SR / 60
    # what the server end's audio link handed its socket while measured: the stream, its
    # parity, and the pings and acks that ride along (UDP payloads or TCP stream bytes)
    kbps = 8 * float(srv["wire_bytes"]) / (n_blocks * block / SR) / 1000
    late = sent_t - (sent_t[0] + np.arange(len(sent_t)) * block / SR)
    return {"p50_ms": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
            "p99_ms": round(float(np.percentile(lat, 99)), 2) if len(lat) else None,
            "glitches_per_min": round(glitches / minutes, 2), "cv_bit_errors": bit_errors,
            "glitches_at_machine_stalls": machine,
            "glitches_per_min_otherwise": round((glitches - machine) / minutes, 2),
            "kbps": round(kbps, 1), "depth_blocks": round(float(cli["depth"]), 2),
            "rtt_ms": round(float(cli["rtt"]), 2), "drift_ppm": round(float(cli["drift_ppm"]), 1),
            "adjustments": int(cli["adjustments"]), "stalls": int(cli["stalls"]), "late_frames": int(cli["late"]),
            "lost_samples": int(cli["lost"]), "fec_recovered": int(cli["fec"][0]),
            "fec_unrecoverable": int(cli["fec"][1]),
            "glitch_at_s": [round(float(warm + g) * block / SR, 2) for g in starts[:10]],
            # the server's stand-in audio thread's worst lateness (a real card would miss callbacks)
            "audio_thread_late_ms": round(float(np.max(late)) * 1e3, 2),
            "dropped_stale": int(srv["dropped_stale"]),  # audio the server end's network thread sent too late to bother
            "audio_thread_late_at_s": round(float(np.argmax(late)) * block / SR, 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=4.0, help="measured seconds per cell (plus a warm-up)")
    ap.add_argument("--full", action="store_true", help="every cell of DESIGN.md's matrix (default: the goal cells)")
    ap.add_argument("--transport", choices=["udp", "tcp", "both"], default="both")
    ap.add_argument("--path", choices=["netns", "relay"], default=None,
                    help="impaired cells: netns: both ends in namespaces joined by an impairing IP relay "
                         "(default when possible); relay: `modular impair`, UDP only")
    ap.add_argument("--clean-path", choices=["direct", "same"], default="direct",
                    help="cells without impairment: direct: plain loopback, nothing in between (default); "
                         "same: through --path like the others")
    ap.add_argument("--cells", default=None, help="only these cells, e.g. '0,0,0,64;5,20,5,64' (loss,delay,jitter,block)")
    ap.add_argument("--worker", choices=["server", "client"], help=argparse.SUPPRESS)
    ap.add_argument("--kind", default="udp", help=argparse.SUPPRESS)
    ap.add_argument("--block", type=int, default=64, help=argparse.SUPPRESS)
    ap.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    ap.add_argument("--ports", default="", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        ports = [int(p) for p in a.ports.split(",")] if a.ports else []
        return worker(a.worker, a.kind, a.block, a.seconds, a.host, ports, a.out)
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
            clean = not (loss or delay or jit)
            cell_path = "direct" if clean and a.clean_path == "direct" else path
            row = {"bench": "net_matrix", "transport": "kcp" if kind == "udp" else "tcp", "loss": loss,
                   "delay_ms": delay, "jitter_ms": jit, "block": block, "path": cell_path}
            if kind == "tcp" and not clean and path == "relay":
                row["skipped"] = "modular impair relays UDP only: use --path netns (root) to impair TCP"
            else:
                row.update(run_cell(kind, loss, delay, jit, block, a.seconds + WARMUP, path=cell_path))
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
