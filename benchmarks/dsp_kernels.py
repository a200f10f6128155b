"""Micro-benchmark of the dsp block kernels: ns per sample per channel, one JSON per line.

    python benchmarks/dsp_kernels.py [--seconds S] [--block N]

Each kernel runs on (16, block) and (1, block) buffers at 48 kHz, like the engine calls
it. The SVF and the VCO are also compiled with fastmath off and with full fastmath, to
show what the project's safe subset (contract, arcp, afn, nsz) buys.
"""

import argparse
import json
import time

import numpy as np
from numba import njit

from modular.dsp.block import JIT
from modular.dsp.delay import DELAY_STATE_SIZE, delay_block
from modular.dsp.env import ENV_STATE_SIZE, adsr_block
from modular.dsp.filters import (ONEPOLE_STATE_SIZE, SVF_STATE_SIZE, SVF_WORK_ROWS,
                                 onepole_block, svf_block)
from modular.dsp.noise import NOISE_STATE_SIZE, noise_block
from modular.dsp.lfo import LFO_STATE_SIZE, LFO_WORK_ROWS, lfo_block
from modular.dsp.osc import VCO_STATE_SIZE, VCO_WORK_ROWS, vco_block

SR = 48000.0


def timed(fn, args, seconds, block, channels):
    fn(*args)  # compile / warm
    blocks = int(seconds * SR / block)
    t0 = time.perf_counter()
    for _ in range(blocks):
        fn(*args)
    dt = time.perf_counter() - t0
    return dt / (blocks * block * channels) * 1e9


def cases(block, ch):
    rng = np.random.default_rng(0)
    z = np.zeros((1, block), np.float32)
    e = np.zeros((0, 0), np.float32)
    out = [np.zeros((ch, block), np.float32) for _ in range(4)]
    audio = rng.uniform(-5, 5, (ch, block)).astype(np.float32)
    cv = rng.uniform(-1, 1, (ch, block)).astype(np.float32)
    pitch = np.full((ch, block), -1.5, np.float32)
    gate = np.zeros((ch, block), np.float32)
    gate[:, : block // 2] = 10.0
    vst = np.zeros((ch, VCO_STATE_SIZE))
    vwork = np.zeros((VCO_WORK_ROWS, block))
    sst = np.zeros((ch, SVF_STATE_SIZE))
    swork = np.zeros((SVF_WORK_ROWS, 2, block))
    yield "saw", vco_block, (pitch, z, z, z, e, e, out[0], e, vst, vwork, 0.0, 0.0, 0.0, 0.0,
                             0.5, 0.5, 0.0, 0.0, 0, SR)
    yield "vco_all_outputs", vco_block, (pitch, z, z, z, *out, vst, vwork, 0.0, 0.0, 0.0, 0.0,
                                         0.5, 0.5, 0.0, 0.0, 0, SR)
    yield "vco_hard_sync_tzfm", vco_block, (pitch, cv, z, audio, *out, vst, vwork, 0.0, 0.0,
                                            1.0, 1.0, 0.5, 0.5, 0.0, 0.0, 1, SR)
    yield "svf_lp_audio_rate_cutoff", svf_block, (audio, cv, z, out[0], e, sst, swork, 2.2, 2.2,
                                                  2.0, 2.0, 0.0, 0.0, 0.0, 0.0, SR)
    yield "svf_lp_linear_fm_cutoff", svf_block, (audio, z, cv, out[0], e, sst, swork, 2.2, 2.2,
                                                 2.0, 2.0, 1000.0, 1000.0, 0.0, 0.0, SR)
    yield "svf_lp_hp_drive", svf_block, (audio, cv, z, out[0], out[1], sst, swork, 2.2, 2.2,
                                         2.0, 2.0, 0.0, 0.0, 0.5, 0.5, SR)
    yield "onepole", onepole_block, (audio, cv, out[0], out[1], np.zeros((ch, ONEPOLE_STATE_SIZE)),
                                     1.0, 1.0, SR)
    yield "lfo_sine", lfo_block, (z, z, z, out[0], e, e, e, np.zeros(ch), np.zeros((ch, LFO_STATE_SIZE)),
                                  np.zeros((LFO_WORK_ROWS, ch, z.shape[1])), -2.0, -2.0, 0.5, False, SR)
    yield "adsr", adsr_block, (gate, z, out[0], np.zeros((ch, ENV_STATE_SIZE)), 0.01, 0.01,
                               0.1, 0.1, 0.5, 0.5, 0.2, 0.2, SR)
    yield "noise_white_pink", noise_block, (out[0], out[1], np.zeros((ch, NOISE_STATE_SIZE)), 0)
    yield "delay_cubic_fb_tone", delay_block, (audio, z, out[0], np.zeros((ch, DELAY_STATE_SIZE)),
                                               np.zeros((ch, 48000), np.float32), 0.25, 0.25,
                                               0.5, 0.5, 5000.0, 5000.0, 0.5, 0.5, SR)


def variants(fn):
    """The same kernel compiled with other fastmath settings (uncached)."""
    base = {k: v for k, v in JIT.items() if k not in ("cache", "fastmath")}
    yield "none", njit(**base, fastmath=False)(fn.py_func)
    yield "full", njit(**base, fastmath=True)(fn.py_func)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--block", type=int, default=64)
    a = ap.parse_args()
    for ch in (16, 1):
        for name, fn, args in cases(a.block, ch):
            ns = timed(fn, args, a.seconds, a.block, ch)
            print(json.dumps({"bench": "dsp_kernels", "kernel": name, "channels": ch,
                              "block": a.block, "fastmath": "safe",
                              "ns_per_sample_channel": round(ns, 2)}), flush=True)
            if ch == 16 and name in ("saw", "svf_lp_audio_rate_cutoff"):
                for label, v in variants(fn):
                    ns = timed(v, args, a.seconds, a.block, ch)
                    print(json.dumps({"bench": "dsp_kernels", "kernel": name, "channels": ch,
                                      "block": a.block, "fastmath": label,
                                      "ns_per_sample_channel": round(ns, 2)}), flush=True)


if __name__ == "__main__":
    main()
