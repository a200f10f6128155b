"""The reference workload of DESIGN.md, built from core modules through the patch path.

Per voice i of N: a band-limited saw at 55 * 2**(i/40) Hz -> a 2-pole resonant low-pass,
Q = 2, cutoff 1200 + 1000 * LFO Hz modulated at audio rate -> a VCA with gain
0.5 + 0.5 * LFO; the LFO is a sine at 0.2 + 0.013 * i Hz; voices are panned with
constant power at i / (N - 1) and summed with master gain 1 / sqrt(N).

How the patch is made of modules (what a VCV user would patch):

- ``--poly 16``: voices travel 16 to a cable. Per group of up to 16 voices: Const
  (pitches) -> VCO; Const (LFO rates) -> LFO (unipolar sine, 0..10 V = 5 + 5 * sin);
  VCF with base 200 Hz and linear FM 200 Hz/V from the LFO (= 1200 + 1000 * sin);
  VCA with the LFO as CV (gain = LFO / 10 = 0.5 + 0.5 * sin); Pan with a Const of pan
  positions; an AudioOut at level 1 / sqrt(N) (AudioOuts are summed).
- ``--poly 1``: one module per voice and function: VCO, LFO, VCF, VCA with their own
  params (4 N modules); Merge gathers 16 voices at a time into the same Pan and AudioOut.

Rendered offline (modular.io.render, as ``modular render`` does). Prints one JSON
object per line: ms_per_voice_s is wall milliseconds per voice per second of audio
(median of --runs), rtf is wall seconds per second of audio, build_s is patch load to
first block in a fresh process with a warm numba cache (imports included),
build_in_process_s the same once everything is imported, build_cold_s (--cold) with
empty caches.

    python benchmarks/reference_patch.py --voices 1 10 50 100 200 --poly 16 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

C4 = 261.6256


def voice_values(n: int):
    for i in range(n):
        pitch = math.log2(55.0 * 2 ** (i / 40) / C4)
        rate = math.log2((0.2 + 0.013 * i) / 2.0)
        pos = i / (n - 1) if n > 1 else 0.5
        yield i, pitch, rate, -5.0 + 10.0 * pos


def reference_patch(n: int, poly: int) -> dict:
    mods, cables = [], []
    voices = list(voice_values(n))
    base = math.log2(200.0 / C4)
    master = 1.0 / math.sqrt(n)

    def add(id, model, params=None):
        d = {"id": id, "model": model}
        if params:
            d["params"] = params
        mods.append(d)

    def cable(a, b):
        cables.append({"from": a, "to": b})

    def const(id, values):
        p = {"channels": len(values)}
        p.update({f"v{k + 1}": v for k, v in enumerate(values)})
        add(id, "core.Const", p)

    for g in range(0, n, 16):
        group = voices[g:g + 16]
        tag = f"g{g // 16}"
        const(f"{tag}_pan", [v[3] for v in group])
        add(f"{tag}_pan_mod", "core.Pan")
        add(f"{tag}_out", "core.AudioOut", {"level": master})
        cable(f"{tag}_pan.out", f"{tag}_pan_mod.pos")
        cable(f"{tag}_pan_mod.left", f"{tag}_out.left")
        cable(f"{tag}_pan_mod.right", f"{tag}_out.right")
        if poly == 16:
            const(f"{tag}_pitch", [v[1] for v in group])
            const(f"{tag}_rate", [v[2] for v in group])
            voice_chain(add, cable, tag, base, f"{tag}_pitch.out", f"{tag}_rate.out")
            cable(f"{tag}_vca.out", f"{tag}_pan_mod.in")
        else:
            add(f"{tag}_merge", "core.Merge")
            cable(f"{tag}_merge.out", f"{tag}_pan_mod.in")
            for k, (i, pitch, rate, _) in enumerate(group):
                voice_chain(add, cable, f"v{i}", base, None, None, pitch, rate)
                cable(f"v{i}_vca.out", f"{tag}_merge.in{k + 1}")
    return {"format": "modular-patch", "version": 1, "sample_rate": 48000, "block_size": 64,
            "modules": mods, "cables": cables}


def voice_chain(add, cable, tag, base, pitch_src, rate_src, pitch=0.0, rate=0.0):
    add(f"{tag}_vco", "core.VCO", {"freq": pitch})
    add(f"{tag}_lfo", "core.LFO", {"freq": rate, "unipolar": 1})
    add(f"{tag}_vcf", "core.VCF", {"freq": base, "q": 2.0, "lin": 200.0})
    add(f"{tag}_vca", "core.VCA")
    if pitch_src:
        cable(pitch_src, f"{tag}_vco.pitch")
    if rate_src:
        cable(rate_src, f"{tag}_lfo.freq")
    cable(f"{tag}_vco.saw", f"{tag}_vcf.in")
    cable(f"{tag}_lfo.sin", f"{tag}_vcf.fm")
    cable(f"{tag}_vcf.lp", f"{tag}_vca.in")
    cable(f"{tag}_lfo.sin", f"{tag}_vca.cv")


def build_seconds(doc: dict) -> float:
    from modular.engine import Engine
    from modular.patch import loads

    t0 = time.perf_counter()
    e = Engine(loads(json.dumps(doc)))
    e.process(1)
    return time.perf_counter() - t0, e


def build_in_fresh_process(voices: int, poly: int, cache_dir: str | None = None) -> float:
    """Patch load to first block in a new process, imports included: what a user waits
    for. With ``cache_dir``, numba and the runners start from that (empty) directory."""
    env = dict(os.environ)
    if cache_dir is not None:
        env.update(NUMBA_CACHE_DIR=cache_dir, MODULAR_CACHE_DIR=cache_dir)
    code = ("import time; t0 = time.perf_counter(); import sys; sys.path.insert(0, %r); "
            "import reference_patch as r; r.build_seconds(r.reference_patch(%d, %d)); "
            "print(time.perf_counter() - t0)") % (os.path.dirname(os.path.abspath(__file__)), voices, poly)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--voices", type=int, nargs="+", default=[1, 10, 50, 100, 200])
    ap.add_argument("--poly", type=int, choices=(1, 16), nargs="+", default=[16, 1])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cold", action="store_true", help="also measure build time with empty caches")
    a = ap.parse_args(argv)
    from modular.io.render import render

    for poly in a.poly:
        for n in a.voices:
            doc = reference_patch(n, poly)
            build_seconds(doc)  # fill the caches
            warm, engine = build_seconds(doc)
            walls = []
            with tempfile.TemporaryDirectory() as d:
                for _ in range(a.runs):
                    _, engine = build_seconds(doc)
                    t0 = time.perf_counter()
                    render(engine, a.seconds, os.path.join(d, "ref.wav"), progress=False)
                    walls.append(time.perf_counter() - t0)
            wall = statistics.median(walls)
            line = {"bench": "reference_patch", "voices": n, "poly": poly, "modules": len(doc["modules"]),
                    "ms_per_voice_s": round(wall * 1e3 / n / a.seconds, 4), "rtf": round(wall / a.seconds, 5),
                    "build_s": round(build_in_fresh_process(n, poly), 3), "build_in_process_s": round(warm, 4)}
            if a.cold:
                with tempfile.TemporaryDirectory() as d:
                    line["build_cold_s"] = round(build_in_fresh_process(n, poly, d), 2)
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
