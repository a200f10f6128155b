"""A radio server core and any number of RadioPeers, each behind its own simulated link,
under a virtual clock: deterministic for a seed."""

from __future__ import annotations

import collections

from modular.net.simlink import Impairment, SimLink
from modular.net.udp import deterministic_rng
from modular.server.client import RadioPeer
from modular.server.core import RadioServerCore, ServerConfig


class SimPeer:
    def __init__(self, net, peer: RadioPeer, addr, link: SimLink):
        self.net, self.peer, self.addr, self.link = net, peer, addr, link
        self.events: list = []
        self.cut = False  # drop everything both ways (a vanished peer)

    def of(self, cls):
        return [e for e in self.events if isinstance(e, cls)]


class RadioNet:
    def __init__(self, config: ServerConfig | None = None, *, seed: int = 1, step: float = 0.0005):
        self.now = 0.0
        self.step = step
        self.seed = seed
        self.server = RadioServerCore(config or ServerConfig(), rng=deterministic_rng(seed))
        self.peers: list[SimPeer] = []
        self.by_addr: dict = {}
        self.inject: list = []  # (datagram, addr) delivered to the server at the next step
        self.server_down = False
        self.captured = collections.deque(maxlen=512)  # recent peer -> server datagrams

    def add(self, name: str, impairment: Impairment | None = None, **options) -> SimPeer:
        i = len(self.peers)
        addr = ("10.0.%d.%d" % (i // 250, i % 250 + 2), 40000 + i)
        imp = impairment or Impairment(seed=self.seed * 1000 + i)
        link = SimLink(imp)
        peer = RadioPeer(self.now, name=name, rng=deterministic_rng(self.seed * 7919 + i), **options)
        sp = SimPeer(self, peer, addr, link)
        self.peers.append(sp)
        self.by_addr[addr] = sp
        return sp

    def restart_server(self, config: ServerConfig | None = None):
        self.server = RadioServerCore(config or self.server.config, rng=deterministic_rng(self.seed + 99))

    def _flush(self):
        now = self.now
        for sp in self.peers:
            for d in sp.peer.take_datagrams():
                if not sp.cut:
                    self.captured.append(d)
                    sp.link.ab.send(d, now)
        for d, addr in self.server.take_datagrams():
            sp = self.by_addr.get(addr)
            if sp is not None and not sp.cut:
                sp.link.ba.send(d, now)

    def run(self, seconds: float, on_step=None):
        end = self.now + seconds
        srv = None
        while self.now < end - 1e-12:
            self.now += self.step
            now = self.now
            srv = self.server
            for sp in self.peers:
                for d in sp.link.ab.receive(now):
                    if not self.server_down:
                        srv.datagram_received(d, sp.addr, now)
            for d, addr in self.inject:
                srv.datagram_received(d, addr, now)
            self.inject.clear()
            for sp in self.peers:
                for d in sp.link.ba.receive(now):
                    sp.peer.datagram_received(d, now)
                if now >= sp.peer.next_deadline:
                    sp.peer.tick(now)
            if not self.server_down:
                srv.tick(now)
            if on_step is not None:
                on_step(now)
            if not self.server_down:
                srv.pump(now)
            for sp in self.peers:
                sp.events += sp.peer.events()
            self._flush()
            if self.server_down:
                self.server.take_datagrams()
