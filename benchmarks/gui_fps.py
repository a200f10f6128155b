"""GUI frame rate with a 40-module patch while the engine runs in real time.

The rack draws every frame as ``modular gui`` does (capped at 60 fps), headless
(SDL's dummy video driver), with the mouse moving and a knob being turned, while the
engine runs on the software clock in its own thread. Prints one JSON line:

    {"bench": "gui_fps", "modules": 40, "fps": ..., "audio_rtf": ..., ...}

``fps`` is frames drawn per second (goal: at least 30); ``audio_rtf`` is seconds of
audio the engine made per second of wall time (1.0: it kept real time); ``frame_ms``
is the mean time to handle events and draw one frame (what the cap leaves idle);
``late_blocks`` counts blocks the clock started more than a block late.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from modular.gui.app import App  # noqa: E402

VOICES = 16


def forty_module_patch() -> dict:
    """16 voices (VCO -> VCA), two modulating VCOs, four sub-mixers, a master mixer and
    the audio output: 40 modules, 39 cables, laid out in three rows."""
    mods, cables = [], []
    for i in range(VOICES):
        mods.append({"id": f"vco{i}", "model": "core.VCO", "params": {"freq": -2 + i * 0.25}})
        mods.append({"id": f"vca{i}", "model": "core.VCA", "params": {"level": 0.5}})
        cables.append({"from": f"vco{i}.saw", "to": f"vca{i}.in"})
    mods += [{"id": "lfo1", "model": "core.VCO", "params": {"freq": -5}},
             {"id": "lfo2", "model": "core.VCO", "params": {"freq": -4.5}}]
    for k in range(4):
        mods.append({"id": f"mix{k}", "model": "core.Mixer"})
        for j in range(4):
            cables.append({"from": f"vca{4 * k + j}.out", "to": f"mix{k}.in{j + 1}"})
        cables.append({"from": f"mix{k}.out", "to": f"master.in{k + 1}"})
    mods += [{"id": "master", "model": "core.Mixer", "params": {"master": 0.25}},
             {"id": "out", "model": "core.AudioOut"}]
    cables += [{"from": "master.out", "to": "out.left"}, {"from": "lfo1.sin", "to": "vco0.fm"},
               {"from": "lfo2.tri", "to": "vco1.pw"}]
    from modular import plugins
    models = plugins.models()
    col, row = 0, 0
    for m in mods:
        hp = models[m["model"]].hp
        if col + hp > 124:
            col, row = 0, row + 1
        m["pos"] = [col, row]
        col += hp
    palette = ("#f3374b", "#ffb437", "#00b56e", "#3695ef", "#8b4ade")
    for i, c in enumerate(cables):
        c["color"] = palette[i % len(palette)]
    return {"format": "modular-patch", "version": 1, "sample_rate": 48000, "block_size": 64,
            "modules": mods, "cables": cables}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--size", type=int, nargs=2, default=[1920, 1200])
    ap.add_argument("--cap", type=int, default=60, help="frame cap, as the app (0: none)")
    args = ap.parse_args(argv)

    doc = forty_module_patch()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "forty.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        app = App(path, size=tuple(args.size), live=True, use_card=False)
    assert len(app.doc.patch.modules) == 40
    app.meter_on = False
    live, engine = app.live, app.live.engine
    # Warm up: the engine starts (compiles, if it must) and the panel caches fill.
    t_end = time.monotonic() + 30
    while engine.frame < engine.sample_rate // 2 and time.monotonic() < t_end:
        app.step()
    knob = app.widget_screen("vco3", "param", "freq")
    clock = pygame.time.Clock()
    frames, busy = 0, 0.0
    t0, f0 = time.monotonic(), engine.frame
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=knob, button=1, mod=0))
    while time.monotonic() - t0 < args.seconds:
        ph = frames / 30.0
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(knob[0], int(knob[1] - 40 * math.sin(ph))),
                                             rel=(0, 0), buttons=(1, 0, 0), mod=0))
        t = time.perf_counter()
        app.step()
        busy += time.perf_counter() - t
        frames += 1
        if args.cap:
            clock.tick(args.cap)
    wall = time.monotonic() - t0
    audio = (engine.frame - f0) / engine.sample_rate
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=knob, button=1, mod=0))
    app.step()
    report = live.stop()
    app.close()
    pygame.quit()
    print(json.dumps({"bench": "gui_fps", "modules": 40, "fps": round(frames / wall, 1),
                      "audio_rtf": round(audio / wall, 3), "frame_ms": round(1e3 * busy / frames, 2),
                      "late_blocks": report.late_blocks if report else None,
                      "worst_block_ms": round(report.worst_block_ms, 3) if report else None,
                      "cables": len(doc["cables"]), "size": args.size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
