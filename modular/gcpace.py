"""Keeps Python's cyclic garbage collector from stalling a process that serves real time.

A full (generation 2) collection walks every object the collector tracks while holding
the GIL. In a radio server with a hundred listeners that is about 120 000 objects and
20-50 ms, during which no datagram moves: every listener's stream arrives late at once.
Objects that have lived a while (sessions, their links and buffers, modules) are almost
never garbage, so every second the pacer moves the survivors out of the collector's way
(``gc.freeze()``). The automatic collections go on as before, but walk only what is
younger than that, which takes well under a millisecond.

Frozen objects are still freed by reference counting as soon as nothing refers to them;
only garbage held in reference cycles waits, until ``reclaim``: a full collection of
everything, made when the caller says nobody is being served (the server has no
sessions), and otherwise at most every ``reclaim_every`` seconds so that such garbage
stays bounded (a pause then, once in that many seconds).
"""

from __future__ import annotations

import gc
import time


class GcPacer:
    def __init__(self, freeze_every: float = 1.0, reclaim_every: float | None = 600.0, clock=time.monotonic):
        self.freeze_every, self.reclaim_every, self.clock = freeze_every, reclaim_every, clock
        self._frozen = self._reclaimed = clock()
        self.freezes = self.reclaims = 0
        self._idle_reclaimed = False  # once for each spell of idleness
        gc.freeze()

    def tick(self, idle: bool = False):
        """Call every so often (a few times a second) from any thread. ``idle``: nobody
        is served right now, so a full collection costs nobody anything."""
        now = self.clock()
        due = self.reclaim_every is not None and now - self._reclaimed >= self.reclaim_every
        if not idle:
            self._idle_reclaimed = False
        if (idle and not self._idle_reclaimed) or due:
            self.reclaim()
            self._idle_reclaimed = idle
        elif now - self._frozen >= self.freeze_every:
            gc.freeze()
            self._frozen = now
            self.freezes += 1

    def reclaim(self):
        """Collect everything, cycles among the frozen objects included; then freeze the
        survivors again."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._frozen = self._reclaimed = self.clock()
        self.reclaims += 1

    def close(self):
        """Hand every object back to the collector."""
        gc.unfreeze()
