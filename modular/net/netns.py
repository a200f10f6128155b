"""A real IP path with loss, delay and jitter, for TCP as well as UDP: two network
namespaces joined by TUN devices through a user-space relay (the machines here have no
``tc netem``, and ``modular impair`` relays UDP only).

    netns A: tun 10.x.0.1  <-- IP packets -->  relay (own process)  <-- IP packets -->  netns B: tun 10.x.0.2

The relay reads every IP packet from one TUN device and writes it to the other after the
same seeded ``Impairment`` the UDP relay uses (simlink.py), one per direction: TCP
segments, ACKs, UDP datagrams alike. The kernel's own TCP (retransmission timers, SACK,
RACK) then meets the loss as it would on a real path.

    with NetnsPath(loss=0.05, delay=0.02, jitter=0.005, seed=1) as path:
        with path.enter("b"):                   # this thread's sockets are made in netns B
            srv = transport.server(ep, 0, host=path.addr["b"])
        with path.enter("a"):                   # threads started here live in netns A
            net = NetThread().start()
        net.add(transport.client(ep2, path.addr["b"], srv.port))

Needs root (CAP_NET_ADMIN), ``ip`` from iproute2 and /dev/net/tun; ``available()`` says
why not. Everything made is removed on exit, also after an error.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import heapq
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

from .simlink import Impairment

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def available() -> str | None:
    """None if namespaces and TUN devices can be made here, else the reason."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root (CAP_NET_ADMIN) for network namespaces and TUN devices"
    if shutil.which("ip") is None:
        return "needs `ip` (iproute2)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    return None


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def setns(path: str):
    """Move the calling thread into the network namespace at ``path``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class NetnsPath:
    """Two namespaces ``a`` and ``b`` and the relay process between them."""

    def __init__(self, loss=0.0, delay=0.0, jitter=0.0, burst=1.0, reorder=0.0, dup=0.0, seed=0, subnet=None):
        self.impairment = dict(loss=loss, delay=delay, jitter=jitter, burst=burst, reorder=reorder, dup=dup,
                               seed=seed)
        tag = f"{os.getpid() % 100000}{int(time.monotonic() * 1000) % 1000:03d}"
        self.ns = {"a": f"mxa{tag}", "b": f"mxb{tag}"}
        self.dev = {"a": f"mxta{tag}"[:15], "b": f"mxtb{tag}"[:15]}
        n = subnet if subnet is not None else 16 + (os.getpid() + int(time.monotonic() * 1000)) % 200
        self.addr = {"a": f"10.{n}.77.1", "b": f"10.{n}.77.2"}
        self.proc: subprocess.Popen | None = None
        self._made: list[str] = []

    def __enter__(self) -> NetnsPath:
        reason = available()
        if reason:
            raise OSError(reason)
        try:
            for side in "ab":
                _ip("netns", "add", self.ns[side])
                self._made.append(self.ns[side])
                _ip("-n", self.ns[side], "link", "set", "lo", "up")
            imp = self.impairment
            cmd = [sys.executable, "-m", "modular.net.netns", "--dev-a", self.dev["a"], "--dev-b", self.dev["b"],
                   "--loss", str(imp["loss"]), "--delay", str(imp["delay"]), "--jitter", str(imp["jitter"]),
                   "--burst", str(imp["burst"]), "--reorder", str(imp["reorder"]), "--dup", str(imp["dup"]),
                   "--seed", str(imp["seed"])]
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_root(), os.environ.get("PYTHONPATH")])))
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            line = self.proc.stdout.readline()  # "ready" once both devices exist
            if line.strip() != "ready":
                raise OSError(f"netns relay did not start: {line} {self.proc.stderr.read()[-500:]}")
            for side, peer in (("a", "b"), ("b", "a")):
                _ip("link", "set", self.dev[side], "netns", self.ns[side])
                _ip("-n", self.ns[side], "addr", "add", self.addr[side], "peer", self.addr[peer], "dev",
                    self.dev[side])
                _ip("-n", self.ns[side], "link", "set", self.dev[side], "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        while self._made:
            ns = self._made.pop()
            try:
                _ip("netns", "delete", ns)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                pass

    def counts(self) -> dict:
        """What the relay did, once it has stopped (close())."""
        if self.proc is None or self.proc.poll() is None:
            return {}
        out = self.proc.stdout.read().split()
        return dict(zip(("a_in", "a_out", "b_in", "b_out"), map(int, out[-4:]))) if len(out) >= 4 else {}

    @contextlib.contextmanager
    def enter(self, side: str):
        """Run the calling thread in namespace ``side`` for the block: sockets made and
        threads started inside belong to that namespace for good."""
        home = f"/proc/self/task/{threading.get_native_id()}/ns/net"
        fd = os.open(home, os.O_RDONLY)
        try:
            setns(f"/var/run/netns/{self.ns[side]}")
            try:
                yield self
            finally:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back to the home namespace")
        finally:
            os.close(fd)


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def relay(fd_a: int, fd_b: int, up: Impairment, down: Impairment, stop: threading.Event | None = None) -> list[int]:
    """Move IP packets between two TUN devices, each direction through its impairment,
    until ``stop`` (or SIGTERM). Returns [a_in, a_out, b_in, b_out]: packets read from A,
    written to B (a_out), read from B, written to A."""
    counts = [0, 0, 0, 0]
    heap: list = []
    n = 0
    sel = selectors.DefaultSelector()
    sel.register(fd_a, selectors.EVENT_READ, (up, fd_b, 0))
    sel.register(fd_b, selectors.EVENT_READ, (down, fd_a, 2))
    os.set_blocking(fd_a, False)
    os.set_blocking(fd_b, False)
    while stop is None or not stop.is_set():
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, data, dest, k = heapq.heappop(heap)
            try:
                os.write(dest, data)
                counts[k + 1] += 1
            except OSError:
                pass
        wait = min(heap[0][0] - now if heap else 0.05, 0.05)
        for key, _ in sel.select(max(0.0, wait)):
            imp, dest, k = key.data
            for _ in range(64):
                try:
                    data = os.read(key.fd, 65536)
                except (BlockingIOError, InterruptedError):
                    break
                counts[k] += 1
                t_in = time.monotonic()
                for t in imp.fate(t_in):
                    heapq.heappush(heap, (t, n, data, dest, k))
                    n += 1
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="the relay process of NetnsPath (not for direct use)")
    p.add_argument("--dev-a", required=True)
    p.add_argument("--dev-b", required=True)
    for name in ("loss", "delay", "jitter", "reorder", "dup"):
        p.add_argument(f"--{name}", type=float, default=0.0)  # fractions and seconds
    p.add_argument("--burst", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    try:
        # the path: real time, so it keeps its timing, but below every thread of the two ends:
        # a network thread preempted by it while holding its GIL would stall its audio thread
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (AttributeError, OSError):
        pass
    up = Impairment(a.loss, a.delay, a.jitter, a.burst, a.reorder, a.dup, a.seed)
    down = Impairment(a.loss, a.delay, a.jitter, a.burst, a.reorder, a.dup, a.seed + 1)
    fd_a, fd_b = open_tun(a.dev_a), open_tun(a.dev_b)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    counts = relay(fd_a, fd_b, up, down, stop)
    print(*counts, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
