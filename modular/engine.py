"""Runs a graph block by block: param changes in, audio, meters and status out.

The engine is driven by one thread at a time (the sound-card callback, the software
clock or the offline renderer). Other threads talk to it only through ``set_param``
(a store into the params' target row, picked up at the next block), ``update`` (a new
graph handed over at a block boundary) and by reading ``meter()`` and module
``status()``; the audio thread never waits on them.
"""

from __future__ import annotations

import numpy as np

import threading

from . import dispatch
from .cycles import cycles_per_second
from .graph import OP_PORTS, Graph, build
from .module import CTX_FRAME
from .patch import Patch, PatchError
from .swap import apply_transfer, transfer_maps


class Engine:
    def __init__(self, patch: Patch, sample_rate: int | None = None, block: int | None = None):
        self.patch = patch
        self.graph: Graph = build(patch, sample_rate, block)
        g = self.graph
        self.sample_rate = int(g.sample_rate)
        self.block = g.block
        self._run = self._compile(g)
        self._host = [m for m in g.modules if m.has_host_io]
        self._meter_cycles = np.zeros(len(g.modules), np.int64)
        self._meter_blocks = 0
        self.metering = False
        self.frame = 0  # sample position of the next block
        self.started = False
        self._pending = None  # (graph, runner, maps) waiting for the next block boundary
        self._swapped = threading.Event()
        self._swap_lock = threading.Lock()
        self._update_lock = threading.Lock()  # one edit at a time (the GUI, a module asking for a rebuild)
        self._retired: list = []  # (module, frame) an edit removed, to stop off the audio thread
        # True while a real-time runner's thread calls process(); edits then wait for it.
        self.live = False

    @staticmethod
    def _compile(g: Graph):
        run = dispatch.runner(g.classes)
        # Compile (or load from the cache) now, not in the first real-time block.
        run(0, g.ops, g.pool, g.state, g.mem, g.params, g.ctx, g.delays, np.zeros(len(g.modules), np.int64), False,
            g.scratch)
        return run

    # --- live edits ------------------------------------------------------------------

    def update(self, patch: Patch, timeout: float = 2.0) -> None:
        """Move to an edited patch without stopping: build and compile here, hand over at
        the next block boundary with every surviving module's state intact. Params the
        edit did not touch keep their live values (knob turns made with ``set_param``)."""
        with self._update_lock:
            self._update(patch, timeout)

    def rebuild(self) -> None:
        """Build the same patch again, so modules whose channel counts depend on what they
        learned while running (a radio listener hearing how many channels a broadcast
        has) get them; everything keeps its state. Not from the audio thread."""
        with self._update_lock:
            self._update(self.patch, 2.0)

    def _update(self, patch: Patch, timeout: float) -> None:
        if patch.sample_rate != self.patch.sample_rate or patch.block_size != self.patch.block_size:
            raise PatchError("a live edit cannot change the sample rate or block size")
        old = self.graph
        new = build(patch, self.sample_rate, self.block, reuse={m.id: m for m in old.modules})
        run = self._compile(new)
        old_specs = {m.id: m for m in self.patch.modules}
        for spec in patch.modules:
            prev = old_specs.get(spec.id)
            if prev is None or prev.model != spec.model or spec.id not in old.param_offset:
                continue
            m = new.module(spec.id)
            for i, p in enumerate(m.params):
                if spec.params.get(p.name, p.default) == prev.params.get(p.name, p.default):
                    new.params[2, new.param_offset[spec.id] + i] = old.params[2, old.param_offset[spec.id] + i]
        kept = {id(m) for m in new.modules}
        removed = [m for m in old.modules if id(m) not in kept]
        if self.started:
            for m in new.modules:
                if not any(m is o for o in old.modules):
                    m.start(self)
        self._swapped.clear()
        self._pending = (new, run, transfer_maps(old, new), removed)
        self.patch = patch
        if not self.live or not self._swapped.wait(timeout):
            # Nobody is running blocks (offline, or stalled): hand over here.
            self._swap(blocking=True)

    def _swap(self, blocking: bool = False) -> None:
        # The audio thread only tries the lock: it never waits for an editor.
        if not self._swap_lock.acquire(blocking):
            return
        try:
            self._swap_locked()
        finally:
            self._swap_lock.release()

    def _swap_locked(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        new, run, (smap, mmap, pmap, bmap), removed = pending
        old = self.graph
        apply_transfer(old.state, new.state, smap, old.mem, new.mem, mmap, old.params, new.params, pmap,
                       old.pool, new.pool, bmap, old.ctx, new.ctx)
        self._meter_cycles = np.zeros(len(new.modules), np.int64)
        self._meter_blocks = 0
        self._host = [m for m in new.modules if m.has_host_io]
        self.graph, self._run = new, run
        self._retired.extend((m, self.frame) for m in removed)
        self._swapped.set()

    # --- control ---------------------------------------------------------------------

    def module(self, id: str):
        return self.graph.module(id)

    def set_param(self, module_id: str, name: str, value: float) -> float:
        """Set a param's target; the next block ramps to it. Returns the clamped value."""
        try:
            m = self.graph.module(module_id)
        except KeyError:
            raise PatchError(f"no module {module_id!r}") from None
        try:
            i = m.param_index(name)
        except KeyError:
            raise PatchError(f"module {module_id!r}: unknown param {name!r}; valid params: "
                             f"{', '.join(p.name for p in m.params) or 'none'}") from None
        v = m.params[i].clamp(value)
        self.graph.params[2, self.graph.param_offset[module_id] + i] = v
        return v

    def get_param(self, module_id: str, name: str) -> float:
        m = self.graph.module(module_id)
        return float(self.graph.params[2, self.graph.param_offset[module_id] + m.param_index(name)])

    def start(self) -> None:
        if not self.started:
            for m in self.graph.modules:
                m.start(self)
            self.started = True

    def service(self) -> None:
        """Let modules do their host work up to the current frame (not the audio thread)."""
        frame = self.frame
        for m in self.graph.modules:
            m.service(frame)
        while self._retired:
            m, last = self._retired.pop()
            m.service(last)
            m.stop()

    def stop(self) -> None:
        if self.started:
            self.service()
            for m in self.graph.modules:
                m.stop()
            self.started = False

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- running ---------------------------------------------------------------------

    def process(self, nblocks: int = 1) -> None:
        """Run ``nblocks`` blocks. Modules with host I/O get their hooks around each
        block; without any, all blocks run in one compiled call."""
        if self._pending is not None:
            self._swap()
        g = self.graph
        if not self._host:
            self._run(nblocks, g.ops, g.pool, g.state, g.mem, g.params, g.ctx, g.delays,
                      self._meter_cycles, self.metering, g.scratch)
            self.frame += nblocks * self.block
        else:
            for _ in range(nblocks):
                for m in self._host:
                    m.before_block(self.frame)
                self._run(1, g.ops, g.pool, g.state, g.mem, g.params, g.ctx, g.delays,
                          self._meter_cycles, self.metering, g.scratch)
                for m in self._host:
                    m.after_block(self.frame)
                self.frame += self.block
        if self.metering:
            self._meter_blocks += nblocks
        assert int(g.ctx[CTX_FRAME]) == self.frame

    def output(self, module_id: str, port: str) -> np.ndarray:
        """The last block of an output, shape (channels, block); zero channels for an
        output its module skips because no cable reads it. A view: copy to keep."""
        g = self.graph
        m = g.module(module_id)
        names = [o.name for o in m.outputs]
        if port not in names:
            raise PatchError(f"module {module_id!r}: no output {port!r}; valid outputs: {', '.join(names)}")
        k = g.modules.index(m)
        rows = g.ops[k, OP_PORTS + 2 * (len(m.inputs) + names.index(port)) + 1]
        return g.pool[g.output_buffer[(module_id, port)], :rows]

    # --- meters ----------------------------------------------------------------------

    def meter(self) -> list[dict]:
        """Per-module CPU time per block (as VCV's meter shows), while ``metering``."""
        g = self.graph
        if not self._meter_blocks:
            return []
        sec_per_cycle = 1.0 / cycles_per_second()
        block_seconds = self.block / self.sample_rate
        rows = []
        for k, m in enumerate(g.modules):
            us = self._meter_cycles[k] * sec_per_cycle / self._meter_blocks * 1e6
            rows.append({"id": m.id, "model": m.full_model(), "channels": m.channels,
                         "us_per_block": us, "percent": 100.0 * us * 1e-6 / block_seconds})
        return rows

    def reset_meter(self) -> None:
        self._meter_cycles[:] = 0
        self._meter_blocks = 0

    def status(self) -> dict[str, dict]:
        return {m.id: s for m in self.graph.modules if (s := m.status())}
