"""Drives a UdpClient and a UdpServer through a SimLink under a virtual clock.

Time advances in fixed steps; at each step datagrams due are delivered, deadlines that
passed are ticked, and the test's per-block callback runs on block boundaries. Everything
is seeded, so a run is the same every time.
"""

from __future__ import annotations

from modular.net.session import SessionConfig
from modular.net.simlink import Impairment, SimLink
from modular.net.udp import UdpClient, UdpServer, deterministic_rng

CLIENT_ADDR = ("10.0.0.2", 40000)


class Net:
    def __init__(self, impairment: Impairment, *, seed: int = 1, step: float = 0.0005,
                 config: SessionConfig | None = None, server_config: SessionConfig | None = None,
                 b_to_a: Impairment | None = None):
        self.now = 0.0
        self.step = step
        self.link = SimLink(impairment, b_to_a)  # a = client, b = server
        self.server = UdpServer(server_config, rng=deterministic_rng(seed))
        self.client = UdpClient(self.now, config, rng=deterministic_rng(seed + 1000))
        self.client_events: list = []
        self.server_events: list = []
        self.client_addr = CLIENT_ADDR
        self.inject_to_server: list = []  # extra datagrams (fuzz) delivered at the next step

    def _flush(self):
        for d in self.client.take_datagrams():
            self.link.ab.send(d, self.now)
        for d, addr in self.server.take_datagrams():
            if addr == self.client_addr:  # answers to forged addresses go nowhere
                self.link.ba.send(d, self.now)

    def run(self, seconds: float, on_step=None):
        end = self.now + seconds
        while self.now < end:
            self.now += self.step
            now = self.now
            for d in self.link.ab.receive(now):
                self.server.datagram_received(d, self.client_addr, now)
            for d, addr in self.inject_to_server:
                self.server.datagram_received(d, addr, now)
            self.inject_to_server.clear()
            for d in self.link.ba.receive(now):
                self.client.datagram_received(d, now)
            if now >= self.client.next_deadline:
                self.client.tick(now)
            if now >= self.server.next_deadline:
                self.server.tick(now)
            self.client_events += self.client.events()
            self.server_events += self.server.events()
            if on_step is not None:
                on_step(now)
                self.client.pump(now)
                self.server.pump(now)
                self.client_events += self.client.events()
                self.server_events += self.server.events()
            self._flush()

    def server_peer(self):
        return next(iter(self.server.peers.values()))


class BlockSender:
    """A step callback that sends a block every ``block / sample_rate`` seconds of virtual
    time once the client's session is open: subclasses say what in ``send_block``."""

    def __init__(self, net: Net, block: int, sample_rate: int = 48000):
        self.net, self.block, self.period = net, block, block / sample_rate
        self.position, self.next = 0, None

    def __call__(self, now):
        s = self.net.client.session
        if not s.is_open:
            return
        if self.next is None:
            self.next = now
        while now >= self.next:
            self.send_block(s, now)
            self.position += self.block
            self.next += self.period

    def send_block(self, session, now):
        raise NotImplementedError
