"""Live edits: moving a running patch onto a new graph at a block boundary, seamlessly.

The new graph is built beside the running one (off the audio thread); at the next block
boundary the audio thread copies, for every module that survives the edit, its state,
memory, params and last output blocks into the new pools, then runs the new graph. A
VCO keeps its phase, a delay keeps its tail, a feedback cable keeps its last block:
the edit is heard without a click.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .graph import Graph


def transfer_maps(old: Graph, new: Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Copy lists (old offset, new offset, length) for state, mem and params, and
    (old buffer, new buffer) pairs for outputs and delay buffers."""
    state, mem, params, bufs = [], [], [], []
    old_ids = {m.id: m for m in old.modules}
    for m in new.modules:
        prev = old_ids.get(m.id)
        if prev is None or type(prev) is not type(m):
            continue
        so0, ns0, mo0, nm0, po0 = old.slices[m.id]
        so1, ns1, mo1, nm1, po1 = new.slices[m.id]
        state.append((so0, so1, min(ns0, ns1)))
        mem.append((mo0, mo1, min(nm0, nm1)))
        params.append((po0, po1, len(m.params)))
        for o in m.outputs:
            key = (m.id, o.name)
            bufs.append((old.output_buffer[key], new.output_buffer[key]))
    for key, b in new.delay_buffer.items():
        if key in old.delay_buffer:
            bufs.append((old.delay_buffer[key], b))
        elif key in old.output_buffer:
            # A cable that now closes a cycle starts from the source's last block.
            bufs.append((old.output_buffer[key], b))

    def arr(rows, width):
        return np.array(rows, np.int64).reshape(-1, width)

    return arr(state, 3), arr(mem, 3), arr(params, 3), arr(bufs, 2)


@njit(cache=True, nogil=True)
def apply_transfer(old_state, new_state, smap, old_mem, new_mem, mmap, old_params, new_params, pmap,
                   old_pool, new_pool, bmap, old_ctx, new_ctx):
    for k in range(smap.shape[0]):
        a, b, n = smap[k, 0], smap[k, 1], smap[k, 2]
        new_state[b:b + n] = old_state[a:a + n]
    for k in range(mmap.shape[0]):
        a, b, n = mmap[k, 0], mmap[k, 1], mmap[k, 2]
        new_mem[b:b + n] = old_mem[a:a + n]
    for k in range(pmap.shape[0]):
        a, b, n = pmap[k, 0], pmap[k, 1], pmap[k, 2]
        # The edit may set new targets (row 2); start and end carry on from where they were.
        new_params[0, b:b + n] = old_params[0, a:a + n]
        new_params[1, b:b + n] = old_params[1, a:a + n]
    for k in range(bmap.shape[0]):
        new_pool[bmap[k, 1]] = old_pool[bmap[k, 0]]
    new_ctx[:] = old_ctx[:]
