"""The CPU's cycle counter, readable from numba code, for the per-module CPU meter.

Reading it costs a few nanoseconds, so the compiled runner can time every module of
every block. The engine converts cycles to seconds by timing whole runs.
"""

import time

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def read_cycles(typingctx):
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return types.int64(), codegen


@njit(cache=True, nogil=True)
def now_cycles():
    return read_cycles()


_rate: list[float] = []


def cycles_per_second() -> float:
    """The counter's rate, measured once against the wall clock over 20 ms."""
    if not _rate:
        now_cycles()
        t0, c0 = time.perf_counter(), now_cycles()
        time.sleep(0.02)
        t1, c1 = time.perf_counter(), now_cycles()
        _rate.append((c1 - c0) / (t1 - t0))
    return _rate[0]
