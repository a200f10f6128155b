"""Engine overhead per module per block, on top of the kernels.

A chain of N trivial modules (core.VCA, mono, unity gain) runs through the normal patch
path. The same kernels are then called directly, in one numba loop over the same
buffers; the difference is what the engine itself costs per module per block (order,
param ramps, NaN guard, dispatch). Prints one JSON object per line.

    python benchmarks/engine_overhead.py [--modules 500] [--blocks 4000] [--runs 5]
"""

import argparse
import json
import statistics
import time

import numpy as np
from numba import njit

from modular.engine import Engine
from modular.patch import from_dict
from modules.core.vca import vca_kernel


def chain(n: int) -> dict:
    mods = [{"id": f"m{i}", "model": "core.VCA"} for i in range(n)]
    cables = [{"from": f"m{i}.out", "to": f"m{i + 1}.in"} for i in range(n - 1)]
    return {"format": "modular-patch", "version": 1, "modules": mods, "cables": cables}


@njit(cache=True, nogil=True)
def kernels_only(nblocks, ops, pool, params, state, mem, ctx):
    # What the engine would cost if it were free: the same kernel calls on the same views.
    for _ in range(nblocks):
        for k in range(ops.shape[0]):
            o = ops[k]
            vca_kernel(pool[o[10], :o[11]], pool[o[12], :o[13]], pool[o[14], :o[15]],
                       params[0, o[6]:o[6] + 1], params[1, o[6]:o[6] + 1], state[0:0], mem[0:0], 1, ctx)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modules", type=int, default=500)
    ap.add_argument("--blocks", type=int, default=4000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    t0 = time.perf_counter()
    e = Engine(from_dict(chain(a.modules)))
    build_s = time.perf_counter() - t0
    g = e.graph
    kernels_only(1, g.ops, g.pool, g.params, g.state, g.mem, g.ctx)
    e.process(1)
    full, bare = [], []
    for _ in range(a.runs):
        t = time.perf_counter()
        e.process(a.blocks)
        full.append(time.perf_counter() - t)
        t = time.perf_counter()
        kernels_only(a.blocks, g.ops, g.pool, g.params, g.state, g.mem, g.ctx)
        bare.append(time.perf_counter() - t)
    per = a.modules * a.blocks
    full_us = statistics.median(full) / per * 1e6
    bare_us = statistics.median(bare) / per * 1e6
    print(json.dumps({"bench": "engine_overhead", "modules": a.modules, "block": e.block,
                      "us_per_module_block": round(full_us - bare_us, 4),
                      "engine_us_per_module_block": round(full_us, 4),
                      "kernel_us_per_module_block": round(bare_us, 4), "build_s": round(build_s, 3)}))


if __name__ == "__main__":
    main()
