"""How large a DATAGRAM may be on the path to one peer, sans-I/O (path MTU probing).

Every path carries 1200 bytes of UDP payload (``BASE_MTU``, what KCP is set to), but most
carry 1452 or more, and a block's CV segment and audio frame together (a broadcast of 16
CV and 2 audio channels at frames of 256) need about 1360: below that a peer sends two
datagrams a block where one would do, and a server relaying to a hundred listeners pays a
seal, a system call and a wakeup at each listener for the second one.

So a sender tries larger DATAGRAMs with PROBEs (a PROBE alone in a DATAGRAM padded to the
size tried; the receiver answers PROBE_ACK) and packs its unreliable messages up to the
largest size that came back. Only DATAGRAMs use it: KCP keeps BASE_MTU, so reliable data
never depends on a size the path may stop carrying (a CV segment that rode in a lost large
DATAGRAM is resent by KCP in a SEALED datagram of its own). The search:

- try ``SIZES`` from the largest down, ``TRIES`` probes each, ``PROBE_WAIT`` apart (at 5 %
  loss, three lost probes in a row happen once in 8000 searches);
- once a size is acknowledged, use it, and probe it again every ``CONFIRM_EVERY``: when
  ``TRIES`` re-probes in a row go unanswered, the path has changed, so fall back to
  BASE_MTU and search again;
- a peer reporting that it lost most of our audio (REPORT, pathloss.py) while we send
  large DATAGRAMs is a black hole in the making: fall back at once, search again after
  ``SEARCH_AGAIN``;
- when no size came back, stay at BASE_MTU and search again after ``SEARCH_AGAIN``.

The socket should set the don't-fragment bit without fragmenting locally (udpsock.py),
or a probe that passes in fragments would raise the size for datagrams that then travel
in fragments, each fragment's loss losing the datagram.
"""

from __future__ import annotations

BASE_MTU = 1200  # bytes of UDP payload every path is assumed to carry (QUIC's minimum)
SIZES = (1452, 1392, 1280)  # 1452: IPv6 (and IPv4) over a 1500-byte link; then tunnels, PPPoE
TRIES = 3
PROBE_WAIT = 1.0  # seconds an unanswered probe is given
CONFIRM_EVERY = 30.0  # seconds between re-probes of the size in use
SEARCH_AGAIN = 60.0  # seconds before searching again after a failed search or a black hole
BLACK_HOLE_LOSS = 0.5  # reported loss of our audio beyond which large datagrams are given up


class PathMtu:
    """The DATAGRAM size to use towards one peer (``mtu``) and the probes that find it.

    ``probe(now)`` gives ``(probe_id, size)`` when a probe is due (send PROBE padded so
    the DATAGRAM is ``size`` bytes), ``acked(probe_id, now)`` takes a PROBE_ACK,
    ``reported_loss(fraction, now)`` the peer's REPORT, ``next_deadline`` when to call
    ``probe`` again.
    """

    def __init__(self, now: float, sizes=SIZES, *, start_after: float = 0.0):
        self.sizes = tuple(sorted((s for s in sizes if s > BASE_MTU), reverse=True))
        self.mtu = BASE_MTU
        self.probes_sent = 0
        self.fallbacks = 0  # times a size in use was given up (path changed, black hole)
        self._index = 0  # the size being searched for
        self._misses = 0  # unanswered probes in a row, of the size tried now
        self._id = 0
        self._waiting: tuple[int, int] | None = None  # (probe id, size) unanswered
        # when to call probe() again: an attribute, read for every session on each tick scan
        self.next_deadline = now + start_after if self.sizes else float("inf")

    def probe(self, now: float):
        if now < self.next_deadline:
            return None
        if self._waiting is not None:  # the last probe went unanswered
            self._missed(now)
            if now < self.next_deadline:
                return None
        size = self.mtu if self.mtu > BASE_MTU else self.sizes[self._index]
        self._id = (self._id + 1) & 0xFFFFFFFF
        self._waiting = (self._id, size)
        self.probes_sent += 1
        self.next_deadline = now + PROBE_WAIT
        return self._id, size

    def _missed(self, now: float):
        self._waiting = None
        self._misses += 1
        if self._misses < TRIES:
            return
        self._misses = 0
        if self.mtu > BASE_MTU:  # the size in use stopped passing
            self.mtu = BASE_MTU
            self.fallbacks += 1
            self._index = 0
            return  # search again now
        self._index += 1
        if self._index >= len(self.sizes):  # nothing larger passes: BASE_MTU for a while
            self._index = 0
            self.next_deadline = now + SEARCH_AGAIN

    def acked(self, probe_id: int, now: float):
        if self._waiting is None or self._waiting[0] != probe_id:
            return  # a late answer to a probe already counted as lost, or a duplicate
        self.mtu = self._waiting[1]
        self._waiting = None
        self._misses = 0
        self.next_deadline = now + CONFIRM_EVERY

    def reported_loss(self, fraction: float, now: float):
        if self.mtu > BASE_MTU and fraction > BLACK_HOLE_LOSS:
            self.mtu = BASE_MTU
            self.fallbacks += 1
            self._waiting = None
            self._misses = 0
            self._index = 0
            self.next_deadline = now + SEARCH_AGAIN

    def stats(self) -> dict:
        return {"mtu": self.mtu, "probes": self.probes_sent, "fallbacks": self.fallbacks}
