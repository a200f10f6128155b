"""Runs a graph block by block: param changes in, audio, meters and status out.

The engine is driven by one thread at a time (the sound-card callback, the software
clock or the offline renderer). Other threads talk to it only through ``set_param``
(a store into the params' target row, picked up at the next block) and by reading
``meter()`` and module ``status()``; nothing here waits on them.
"""

from __future__ import annotations

import numpy as np

from . import dispatch
from .cycles import cycles_per_second
from .graph import Graph, build
from .module import CTX_FRAME
from .patch import Patch, PatchError


class Engine:
    def __init__(self, patch: Patch, sample_rate: int | None = None, block: int | None = None):
        self.patch = patch
        self.graph: Graph = build(patch, sample_rate, block)
        g = self.graph
        self.sample_rate = int(g.sample_rate)
        self.block = g.block
        self._run = dispatch.runner(g.classes)
        self._host = [m for m in g.modules if m.has_host_io]
        self._meter_cycles = np.zeros(len(g.modules), np.int64)
        self._meter_blocks = 0
        self.metering = False
        self.frame = 0  # sample position of the next block
        self.started = False
        # Compile (or load from the cache) now, not in the first real-time block.
        self._run(0, g.ops, g.pool, g.state, g.mem, g.params, g.ctx, g.delays, self._meter_cycles, False)

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
        g = self.graph
        if not self._host:
            self._run(nblocks, g.ops, g.pool, g.state, g.mem, g.params, g.ctx, g.delays,
                      self._meter_cycles, self.metering)
            self.frame += nblocks * self.block
        else:
            for _ in range(nblocks):
                for m in self._host:
                    m.before_block(self.frame)
                self._run(1, g.ops, g.pool, g.state, g.mem, g.params, g.ctx, g.delays,
                          self._meter_cycles, self.metering)
                for m in self._host:
                    m.after_block(self.frame)
                self.frame += self.block
        if self.metering:
            self._meter_blocks += nblocks
        assert int(g.ctx[CTX_FRAME]) == self.frame

    def output(self, module_id: str, port: str) -> np.ndarray:
        """The last block of an output, shape (channels, block). A view: copy to keep."""
        g = self.graph
        m = g.module(module_id)
        names = [o.name for o in m.outputs]
        if port not in names:
            raise PatchError(f"module {module_id!r}: no output {port!r}; valid outputs: {', '.join(names)}")
        i = names.index(port)
        rows = m.output_channels(i, m.channels)
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
