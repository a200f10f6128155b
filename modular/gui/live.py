"""The engine beside the GUI: it runs in its own threads, and the GUI talks to it only
through ``set_param`` (knob turns), ``sync`` (the edited patch, handed to
``Engine.update`` by a worker thread so a compile never freezes the window) and
lock-free reads of output blocks, meters and status.
"""

from __future__ import annotations

import copy
import sys
import threading
import time

import numpy as np

from ..engine import Engine
from ..patch import Patch, PatchError, from_dict

SWITCH_INTERVAL = 0.0002


def _structure(doc: dict) -> tuple:
    """What needs a graph rebuild: modules (id, model, data) and cables."""
    mods = tuple((m["id"], m["model"], repr(sorted(m.get("data", {}).items()))) for m in doc["modules"])
    cables = tuple((c["from"], c["to"]) for c in doc["cables"])
    return mods, cables


def _params(doc: dict) -> dict:
    return {m["id"]: dict(m.get("params", {})) for m in doc["modules"]}


class Live:
    """An engine for the patch being edited, optionally running in real time."""

    def __init__(self, patch: Patch, run: bool = True, use_card: bool = True, threaded: bool = True):
        self.use_card = use_card
        self.threaded = threaded
        self.error: str | None = None
        self.backend = "stopped"
        self.runner = None
        self._run_thread = None
        self._report = None
        self._t0 = 0.0
        self._frame0 = 0
        self._lock = threading.Lock()
        self._pending: dict | None = None
        self._wake = threading.Event()
        self._swapped = threading.Event()
        self._closing = False
        self._worker = None
        self._levels: dict = {}
        self._indexed = None
        self._by_id: dict = {}
        self._start_engine(patch, run)

    # --- lifecycle ------------------------------------------------------------------

    def _start_engine(self, patch: Patch, run: bool) -> None:
        doc = patch.to_dict()
        self.sent = copy.deepcopy(doc)
        self.engine = Engine(from_dict(copy.deepcopy(doc)))
        if run:
            self.start()

    def start(self) -> None:
        from ..io import soundcard
        from ..io.realtime import Runner

        e = self.engine
        # The GUI thread runs Python most of the time; hand the GIL over often so the
        # audio thread starts each 1.3 ms block on time (the default is every 5 ms).
        sys.setswitchinterval(SWITCH_INTERVAL)
        use_card = self.use_card and soundcard.unavailable_reason() is None
        self.backend = "sound card" if use_card else "software clock"
        self.runner = Runner(e, use_card=use_card)

        def run():
            self._report = self.runner.run()

        self._t0, self._frame0 = time.monotonic(), e.frame
        self._run_thread = threading.Thread(target=run, name="modular-gui-engine", daemon=True)
        self._run_thread.start()
        # Runner.run sets ``live`` in its thread; edits made before it does must wait too.
        e.live = True
        if self.threaded and self._worker is None:
            self._worker = threading.Thread(target=self._work, name="modular-gui-update", daemon=True)
            self._worker.start()

    @property
    def running(self) -> bool:
        return self._run_thread is not None and self._run_thread.is_alive()

    def stop(self):
        """Stop the real-time run; returns the runner's report (or None)."""
        if self.runner is not None:
            self.runner.stop()
            self._run_thread.join(timeout=5)
            self.runner = None
        self.backend = "stopped"
        return self._report

    def close(self) -> None:
        self.stop()
        self._closing = True
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None

    def replace(self, patch: Patch) -> None:
        """A different patch altogether (new, open): a fresh engine."""
        was_running = self.running
        self.stop()
        with self._lock:
            self._pending = None
        self._levels.clear()
        try:
            self._start_engine(patch, was_running)
            self.error = None
        except PatchError as e:
            self.error = str(e)

    def rtf(self, window: float = 2.0) -> float:
        """Audio seconds the engine made per wall second over the last ``window``
        seconds or so (1.0: real time); 0 when it is not running."""
        now, frame = time.monotonic(), self.engine.frame
        if not self.running or frame <= self._frame0:
            self._t0, self._frame0 = now, frame  # not started yet (compiling): no window
            return 0.0
        dt = now - self._t0
        r = (frame - self._frame0) / self.engine.sample_rate / dt if dt > 0 else 0.0
        if dt > window:
            self._t0, self._frame0 = now - window / 2, frame - int(r * window / 2 * self.engine.sample_rate)
        return r

    # --- edits ----------------------------------------------------------------------

    def sync(self, patch: Patch) -> None:
        """Bring the engine to ``patch``: a graph update when modules or cables changed,
        otherwise just the params that moved."""
        doc = copy.deepcopy(patch.to_dict())
        if _structure(doc) != _structure(self.sent) or doc["sample_rate"] != self.sent["sample_rate"]:
            self.sent = doc
            if self.threaded and self._worker is not None:
                with self._lock:
                    self._pending = doc
                self._wake.set()
            else:
                self._update(doc)
            return
        old = _params(self.sent)
        self.sent = doc
        for mid, params in _params(doc).items():
            m = self.module(mid)
            if m is None:
                continue
            for p in m.params:
                v = params.get(p.name, p.default)
                if v != old.get(mid, {}).get(p.name, p.default):
                    self.set_param(mid, p.name, v)

    def _update(self, doc: dict) -> None:
        try:
            self.engine.update(from_dict(copy.deepcopy(doc)))
            self.error = None
        except (PatchError, ValueError) as e:
            self.error = str(e)
        self._swapped.set()

    def _work(self) -> None:
        while not self._closing:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                doc, self._pending = self._pending, None
            if doc is not None and not self._closing:
                self._update(doc)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every requested update has been handed to the engine (tests)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                idle = self._pending is None
            if idle and not self._wake.is_set():
                cur = self.engine.patch.to_dict()
                if _structure(cur) == _structure(self.sent):
                    self.resync()
                    return
            time.sleep(0.005)
        raise TimeoutError("engine update did not finish")

    def poll(self) -> None:
        """Called every frame by the GUI thread: after a graph swap, push the params the
        GUI holds (a knob turned while the new graph was being built)."""
        if self._swapped.is_set():
            self._swapped.clear()
            self.resync()

    def resync(self) -> None:
        for mid, params in _params(self.sent).items():
            m = self.module(mid)
            if m is None:
                continue
            for p in m.params:
                self.set_param(mid, p.name, params.get(p.name, p.default))

    def set_param(self, module_id: str, name: str, value: float) -> None:
        try:
            self.engine.set_param(module_id, name, value)
        except (PatchError, KeyError):
            pass  # not in the running graph yet: resync sets it after the swap
        for m in self.sent["modules"]:
            if m["id"] == module_id:
                m.setdefault("params", {})[name] = value

    # --- reads ----------------------------------------------------------------------

    def _index(self) -> dict:
        g = self.engine.graph
        if self._indexed is not g:
            self._by_id = {m.id: m for m in g.modules}
            self._indexed = g
        return self._by_id

    def level(self, module_id: str, port: str) -> tuple[float, float]:
        """(most positive, most negative) volts of an output's last block, or zeros.
        A lock-free read: the block may be mid-write, which a light does not mind."""
        g = self.engine.graph
        m = self._index().get(module_id)
        buf = g.output_buffer.get((module_id, port))
        if m is None or buf is None:
            return 0.0, 0.0
        block = g.pool[buf, :max(1, m.channels)]
        return float(block.max()), float(block.min())

    def module(self, module_id: str):
        return self._index().get(module_id)

    def step_offline(self, blocks: int) -> None:
        """Run blocks now, in this thread (screenshots, tests without a clock)."""
        if not self.running:
            self.engine.process(blocks)
