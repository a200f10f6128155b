"""The radio server over UDP/KCP as one sans-I/O object: datagrams and a clock in, datagrams out.

    core = RadioServerCore(ServerConfig(timeout=10.0, grace=30.0))
    core.datagram_received(data, addr, now)       # every datagram, whatever it is
    core.tick(now)                                # at core.next_deadline at the latest
    for data, addr in core.take_datagrams(): ...  # send them

It never raises on input: UdpServer counts what it cannot authenticate or decode, the
sessions count malformed messages, the hub counts what makes no sense for the radio.
Other carriers (TCP, sockets.py) feed the same ``hub`` with their own sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

from modular.net.session import SessionConfig
from modular.net.udp import UdpServer

from .directory import Directory
from .relay import RadioHub


@dataclass
class ServerConfig:
    timeout: float = 10.0  # a session silent this long is gone
    keepalive: float = 1.0  # what the server asks of its clients
    grace: float = 30.0  # an abandoned handle waits this long for its broadcaster
    max_sessions: int = 1024
    max_handles: int = 4096
    sample_rate: int = 48000  # announced in WELCOME (informative: streams carry their own)
    name: str = "modular-server"

    def session_config(self) -> SessionConfig:
        return SessionConfig(keepalive_interval=self.keepalive, timeout=self.timeout, name=self.name,
                             sample_rate=self.sample_rate)


class RadioServerCore:
    def __init__(self, config: ServerConfig | None = None, *, rng=None, link_options: dict | None = None):
        self.config = config or ServerConfig()
        self.udp = UdpServer(self.config.session_config(), max_sessions=self.config.max_sessions, rng=rng,
                             link_options=link_options, relay_parity=True)
        self.hub = RadioHub(Directory(self.config.grace, self.config.max_handles))
        self.datagrams_in = 0
        self.datagrams_out = 0
        self.internal_errors = 0
        self.last_internal_error = ""

    def datagram_received(self, data, addr, now: float):
        self.datagrams_in += 1
        self.udp.datagram_received(data, addr, now)
        self._events(now)

    def _events(self, now: float):
        event = self.hub.event
        for peer, ev in self.udp.events():
            try:
                event(peer, ev, now)
            except Exception as exc:  # a bug must cost one message, never the server
                self.internal_errors += 1
                self.last_internal_error = f"{type(exc).__name__}: {exc}"

    def tick(self, now: float):
        if now >= self.udp.next_deadline:
            self.udp.tick(now)
            self._events(now)
        self.hub.tick(now)

    def pump(self, now: float):
        """Put what the hub queued on the sessions onto the wire (call once per loop turn)."""
        self.udp.pump(now)
        self._events(now)

    def take_datagrams(self) -> list:
        out = self.udp.take_datagrams()
        self.datagrams_out += len(out)
        return out

    @property
    def next_deadline(self) -> float:
        return self.udp.next_deadline

    @property
    def rejected(self) -> int:
        """Datagrams and messages rejected by the carrier and the sessions."""
        return self.udp.rejected_total

    def stats(self) -> dict:
        return {"datagrams_in": self.datagrams_in, "datagrams_out": self.datagrams_out,
                "rejected_datagrams": self.udp.rejected, "rejected_total": self.rejected,
                "udp_sessions": len(self.udp.peers),
                "internal_errors": self.internal_errors}
