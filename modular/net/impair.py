"""The UDP impairment relay: ``modular impair`` (the machines here have no ``tc netem``).

    client <-> [listen PORT] relay [own port] <-> server HOST:PORT

Datagrams from the client go to the server, and the server's answers go back to the
most recent client address, each direction through its own seeded ``Impairment`` (loss,
bursts, delay, jitter, reordering, duplication: simlink.py, so a seed behaves the same in
simulation and on loopback). One thread, one selector, a heap of datagrams to release.
"""

from __future__ import annotations

import argparse
import heapq
import selectors
import socket
import sys
import threading
import time

from .simlink import Impairment


def _hostport(text: str):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


class ImpairRelay:
    def __init__(self, listen_port: int, to: tuple, up: Impairment, down: Impairment | None = None,
                 listen_host: str = "127.0.0.1"):
        self.to = to
        self.up = up  # client -> server
        self.down = down or Impairment(up.loss, up.delay, up.jitter, up.burst, up.reorder, up.dup, up.seed + 1,
                                         mtu=up.mtu)
        family = socket.AF_INET6 if ":" in listen_host else socket.AF_INET
        self.front = socket.socket(family, socket.SOCK_DGRAM)
        self.front.bind((listen_host, listen_port))
        self.front.setblocking(False)
        self.back = socket.socket(socket.AF_INET6 if ":" in to[0] else socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(to)
        self.back.setblocking(False)
        self.port = self.front.getsockname()[1]
        self.client = None
        self._heap: list = []
        self._n = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.forwarded = {"up": 0, "down": 0}
        self.received = {"up": 0, "down": 0}

    def _schedule(self, imp, data, sock, addr, now):
        for t in imp.fate(now, len(data)):
            heapq.heappush(self._heap, (t, self._n, data, sock, addr))
            self._n += 1

    def run(self, duration: float | None = None):
        """Relay until ``stop()`` or for ``duration`` seconds."""
        sel = selectors.DefaultSelector()
        sel.register(self.front, selectors.EVENT_READ, "up")
        sel.register(self.back, selectors.EVENT_READ, "down")
        end = time.monotonic() + duration if duration is not None else float("inf")
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= end:
                    break
                while self._heap and self._heap[0][0] <= now:
                    _, _, data, sock, addr = heapq.heappop(self._heap)
                    try:
                        sock.sendto(data, addr) if addr else sock.send(data)
                    except OSError:
                        pass  # nobody listening (yet): as lost as on a real path
                    self.forwarded["up" if sock is self.back else "down"] += 1
                wait = min(end, self._heap[0][0] if self._heap else now + 0.05, now + 0.05) - now
                for key, _ in sel.select(max(0.0, wait)):
                    for _ in range(64):  # drain, but let the timers run
                        try:
                            if key.data == "up":
                                data, addr = self.front.recvfrom(65536)
                                self.client = addr
                                self.received["up"] += 1
                                self._schedule(self.up, data, self.back, None, time.monotonic())
                            else:
                                data = self.back.recv(65536)
                                self.received["down"] += 1
                                if self.client is not None:
                                    self._schedule(self.down, data, self.front, self.client, time.monotonic())
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:
                            break  # e.g. ICMP port unreachable from the server side
        finally:
            sel.close()

    def start(self, duration: float | None = None) -> ImpairRelay:
        self._thread = threading.Thread(target=self.run, args=(duration,), name="impair", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.close()

    def close(self):
        self.front.close()
        self.back.close()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="modular impair", description="UDP relay that loses, delays and "
                                "reorders datagrams, in both directions, reproducibly from a seed.")
    p.add_argument("--listen", type=int, required=True, metavar="PORT", help="UDP port clients send to")
    p.add_argument("--listen-host", default="127.0.0.1")
    p.add_argument("--to", type=_hostport, required=True, metavar="HOST:PORT", help="where to relay")
    p.add_argument("--loss", type=float, default=0.0, metavar="PCT", help="loss, percent each way")
    p.add_argument("--delay", type=float, default=0.0, metavar="MS", help="one-way delay, ms")
    p.add_argument("--jitter", type=float, default=0.0, metavar="MS", help="± uniform jitter, ms")
    p.add_argument("--burst", type=float, default=1.0, metavar="MEANLEN",
                   help="mean length of a loss burst, datagrams (Gilbert-Elliott); 1 = independent")
    p.add_argument("--reorder", type=float, default=0.0, metavar="PCT")
    p.add_argument("--dup", type=float, default=0.0, metavar="PCT")
    p.add_argument("--mtu", type=int, default=0, metavar="BYTES",
                   help="largest datagram (UDP payload) passed each way; larger ones are lost (0: any)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    return p


def main(argv=None) -> int:
    p = parser()
    a = p.parse_args(argv)
    try:
        imp = Impairment(loss=a.loss / 100, delay=a.delay / 1000, jitter=a.jitter / 1000, burst=a.burst,
                         reorder=a.reorder / 100, dup=a.dup / 100, seed=a.seed, mtu=a.mtu)
        relay = ImpairRelay(a.listen, a.to, imp, listen_host=a.listen_host)
    except (ValueError, OSError) as exc:
        print(f"modular impair: {exc}", file=sys.stderr)
        return 2
    print(f"impair: 127.0.0.1:{relay.port} -> {a.to[0]}:{a.to[1]} loss {a.loss}% delay {a.delay} ms "
          f"jitter {a.jitter} ms burst {a.burst} reorder {a.reorder}% dup {a.dup}% seed {a.seed}"
          + (f" mtu {a.mtu}" if a.mtu else ""), flush=True)
    try:
        relay.run(a.duration)
    except KeyboardInterrupt:
        pass
    finally:
        relay.close()
    print(f"impair: up {relay.received['up']} in, {relay.forwarded['up']} out; "
          f"down {relay.received['down']} in, {relay.forwarded['down']} out", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
