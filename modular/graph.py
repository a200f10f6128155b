"""A Patch turned into a runnable graph: module order, feedback cables, buffers, op table.

Everything the compiled runner touches lives in a few flat pools, so one numba call can
run any number of blocks of any patch without Python in between:

- ``pool``: float32 ``(buffers, 16, block)``; buffer 0 reads 0 V, then one buffer per
  distinct non-zero input normal, one per output, one per delayed (feedback) source;
- ``state`` (float64) and ``mem`` (float32): every module's slice, back to back;
- ``params``: float64 ``(3, n)``: rows are the value at the start of the block, at its
  end, and the target the host last set.

Modules run in dependency order. A cable that closes a cycle reads its source's output
from the previous block: the runner copies that output into the cable's delay buffer
after each block, so the delay is exactly one block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import plugins
from .module import CTX_BLOCK, CTX_SAMPLE_RATE, CTX_SIZE, MAX_CHANNELS, Module
from .patch import Cable, Patch, PatchError

# Op table columns; ports follow, two columns each (buffer, rows): inputs then outputs.
OP_TYPE, OP_NCH, OP_STATE, OP_NSTATE, OP_MEM, OP_NMEM, OP_PARAM, OP_NPARAM, OP_NIN, OP_NOUT = range(10)
OP_PORTS = 10


@dataclass
class Graph:
    modules: list[Module]  # in run order
    classes: list[type[Module]]  # distinct models; an op's type indexes this list
    feedback: list[Cable]
    ops: np.ndarray
    pool: np.ndarray
    state: np.ndarray
    mem: np.ndarray
    params: np.ndarray
    param_offset: dict[str, int]  # module id -> first column in params
    delays: np.ndarray  # (n, 3): source buffer, delay buffer, rows
    ctx: np.ndarray
    output_buffer: dict[tuple[str, str], int]  # (module id, output) -> pool index
    delay_buffer: dict[tuple[str, str], int]  # (module id, output) -> its one-block-late copy
    channels: dict[str, int]
    slices: dict[str, tuple[int, int, int, int, int]]  # id -> state off, len, mem off, len, param off
    scratch: np.ndarray  # float64, shared by every kernel that asks for scratch

    @property
    def sample_rate(self) -> float:
        return float(self.ctx[CTX_SAMPLE_RATE])

    @property
    def block(self) -> int:
        return int(self.ctx[CTX_BLOCK])

    def module(self, id: str) -> Module:
        for m in self.modules:
            if m.id == id:
                return m
        raise KeyError(id)


def run_order(patch: Patch, instances: dict[str, Module]) -> tuple[list[str], list[Cable]]:
    """Depth-first order over the cables; a cable back into a module still being
    visited closes a cycle and becomes a one-block feedback cable. Deterministic: it
    follows the order of modules and cables in the patch."""
    into: dict[str, list[Cable]] = {m.id: [] for m in patch.modules}
    for c in patch.cables:
        if not instances[c.src_module].outputs_lead_inputs:
            into[c.dst_module].append(c)
    order: list[str] = []
    feedback: list[Cable] = []
    WHITE, GREY, BLACK = 0, 1, 2
    color = {m.id: WHITE for m in patch.modules}
    for root in patch.modules:
        if color[root.id] != WHITE:
            continue
        # Iterative DFS so long chains (thousands of modules) cannot hit the recursion limit.
        color[root.id] = GREY
        stack = [(root.id, iter(into[root.id]))]
        while stack:
            node, it = stack[-1]
            for cable in it:
                src = cable.src_module
                if color[src] == GREY:
                    feedback.append(cable)
                elif color[src] == WHITE:
                    color[src] = GREY
                    stack.append((src, iter(into[src])))
                    break
            else:
                stack.pop()
                color[node] = BLACK
                order.append(node)
    return order, feedback


def build(patch: Patch, sample_rate: int | None = None, block: int | None = None,
          reuse: dict[str, Module] | None = None) -> Graph:
    """Build the graph of ``patch``. Modules in ``reuse`` with the same id, model and data
    are carried over as the same objects (a live edit keeps their files and sockets)."""
    sr = int(sample_rate or patch.sample_rate)
    bs = int(block or patch.block_size)
    installed = plugins.models()
    instances: dict[str, Module] = {}
    for spec in patch.modules:
        cls = installed.get(spec.model)
        if cls is None:
            raise PatchError(f"module {spec.id!r}: unknown model {spec.model!r}")
        old = (reuse or {}).get(spec.id)
        if old is not None and type(old) is cls and old.data == spec.data:
            instances[spec.id] = old
        else:
            instances[spec.id] = cls(spec.id, spec.data, spec.params)

    order, feedback = run_order(patch, instances)
    fb_set = {id(c) for c in feedback}
    listened = {(c.src_module, c.src_port) for c in patch.cables}
    incoming: dict[tuple[str, str], Cable] = {(c.dst_module, c.dst_port): c for c in patch.cables}

    # Channel counts: follow each module's rule in run order; repeat while a feedback
    # cable's channel count is still changing (at most 16 rounds, counts only grow).
    channels = {mid: 1 for mid in order}
    out_ch: dict[tuple[str, str], int] = {}
    for _ in range(MAX_CHANNELS + 1):
        changed = False
        for mid in order:
            m = instances[mid]
            in_ch = []
            for inp in m.inputs:
                c = incoming.get((mid, inp.name))
                if c is None and inp.normal_to:
                    c = incoming.get((mid, inp.normal_to))
                in_ch.append(0 if c is None else out_ch.get((c.src_module, c.src_port), 1))
            n = min(MAX_CHANNELS, max(1, m.channel_count(in_ch)))
            channels[mid] = n
            for i, o in enumerate(m.outputs):
                oc = min(MAX_CHANNELS, max(1, m.output_channels(i, n)))
                if out_ch.get((mid, o.name)) != oc:
                    out_ch[(mid, o.name)] = oc
                    changed = True
        if not changed:
            break

    # Buffers: zeros, normals, outputs, feedback delays.
    normals = sorted({inp.normal for m in instances.values() for inp in m.inputs if inp.normal != 0.0})
    normal_buf = {0.0: 0}
    for v in normals:
        normal_buf[v] = len(normal_buf)
    nbuf = len(normal_buf)
    output_buffer: dict[tuple[str, str], int] = {}
    for mid in order:
        for o in instances[mid].outputs:
            output_buffer[(mid, o.name)] = nbuf
            nbuf += 1
    delay_buf: dict[tuple[str, str], int] = {}
    for c in feedback:
        key = (c.src_module, c.src_port)
        if key not in delay_buf:
            delay_buf[key] = nbuf
            nbuf += 1

    classes: list[type[Module]] = []
    for mid in order:
        cls = type(instances[mid])
        if cls not in classes:
            classes.append(cls)

    width = OP_PORTS + 2 * max((len(c.inputs) + len(c.outputs) for c in classes), default=0)
    ops = np.zeros((len(order), width), np.int64)
    state_len = mem_len = param_len = 0
    slices = []
    for k, mid in enumerate(order):
        m = instances[mid]
        m.channels = channels[mid]
        ns, nm = int(m.state_size(sr, bs)), int(m.memory_size(sr, bs))
        ops[k, :OP_PORTS] = (classes.index(type(m)), m.channels, state_len, ns, mem_len, nm,
                             param_len, len(m.params), len(m.inputs), len(m.outputs))
        slices.append((state_len, ns, mem_len, nm, param_len))
        state_len += ns
        mem_len += nm
        param_len += len(m.params)
        col = OP_PORTS
        for inp in m.inputs:
            c = incoming.get((mid, inp.name))
            if c is None and inp.normal_to:
                c = incoming.get((mid, inp.normal_to))
            if c is None:
                buf, rows = normal_buf[inp.normal], 1
            else:
                key = (c.src_module, c.src_port)
                buf = delay_buf[key] if id(c) in fb_set else output_buffer[key]
                rows = 1 if out_ch[key] == 1 else MAX_CHANNELS
            ops[k, col:col + 2] = (buf, rows)
            col += 2
        for o in m.outputs:
            rows = out_ch[(mid, o.name)]
            if m.skips_unconnected and (mid, o.name) not in listened:
                rows = 0
            ops[k, col:col + 2] = (output_buffer[(mid, o.name)], rows)
            col += 2

    pool = np.zeros((nbuf, MAX_CHANNELS, bs), np.float32)
    for v, b in normal_buf.items():
        pool[b, :, :] = v
    state = np.zeros(state_len, np.float64)
    mem = np.zeros(mem_len, np.float32)
    params = np.zeros((3, param_len), np.float64)
    param_offset = {}
    slice_of = {}
    for mid, (so, ns, mo, nm, po) in zip(order, slices):
        slice_of[mid] = (so, ns, mo, nm, po)
        m = instances[mid]
        m.state = state[so:so + ns]
        m.mem = mem[mo:mo + nm]
        param_offset[mid] = po
        spec_params = patch.module(mid).params
        for i, p in enumerate(m.params):
            params[:, po + i] = p.clamp(spec_params.get(p.name, p.default))
        m.init(sr, bs)

    scratch = np.zeros(max([1] + [int(m.scratch_size(sr, bs)) for m in instances.values()]), np.float64)
    delays = np.array([(output_buffer[k], b, out_ch[k]) for k, b in delay_buf.items()], np.int64).reshape(-1, 3)
    ctx = np.zeros(CTX_SIZE, np.float64)
    ctx[CTX_SAMPLE_RATE] = sr
    ctx[CTX_BLOCK] = bs
    return Graph(
        modules=[instances[mid] for mid in order],
        classes=classes,
        feedback=feedback,
        ops=ops,
        pool=pool,
        state=state,
        mem=mem,
        params=params,
        param_offset=param_offset,
        delays=delays,
        ctx=ctx,
        output_buffer=output_buffer,
        delay_buffer=delay_buf,
        channels=channels,
        slices=slice_of,
        scratch=scratch,
    )
