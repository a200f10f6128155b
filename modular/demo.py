"""``modular demo``: the main job on loopback, no sound card needed.

A radio server, the broadcaster (patches/radio-broadcaster.json) and two listeners
(patches/radio-listener.json, the second an octave up) run as separate processes for
about ``--seconds``; the broadcaster records its mix (the listeners' returns at t + L and
its own drums through RadioDelay) to ``demo.wav``, which is played when a sound card
exists. Then a short report: listeners, round trips, L, underruns.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROADCASTER = ROOT / "patches" / "radio-broadcaster.json"
LISTENER = ROOT / "patches" / "radio-listener.json"


def add_arguments(sp):
    sp.add_argument("--seconds", type=float, default=10.0, metavar="S", help="how long the listeners play (default 10)")
    sp.add_argument("-o", "--output", default="demo.wav", metavar="OUT.wav", help="the broadcaster's mix (default demo.wav)")
    sp.add_argument("--no-play", action="store_true", help="do not play the mix even if a sound card exists")
    sp.add_argument("--keep", metavar="DIR", help="keep the patches and process logs in DIR")


def status_lines(text: str) -> dict[str, dict]:
    """``id: k=v  k=v`` lines of ``modular run --stats``, values parsed where they are literals."""
    out = {}
    for line in text.splitlines():
        head, sep, rest = line.partition(": ")
        if not sep or " " in head or "=" not in rest:
            continue
        d = {}
        for kv in rest.split("  "):
            k, eq, v = kv.partition("=")
            if not eq:
                continue
            try:
                d[k] = ast.literal_eval(v)
            except (ValueError, SyntaxError):
                d[k] = v
        out[head] = d
    return out


def _patch(src: Path, dst: Path, server: str) -> Path:
    doc = json.loads(src.read_text())
    for m in doc["modules"]:
        if m["model"] in ("radio.RadioBroadcast", "radio.RadioClient"):
            m["data"]["server"] = server
    dst.write_text(json.dumps(doc, indent=1))
    return dst


def _warm(paths):
    """Compile (or load from the cache) both patches' runners once, here, so the four
    processes start at once instead of each compiling at the same time."""
    from .engine import Engine
    from .patch import load

    for p in paths:
        Engine(load(p))


def start_server(cmd, cwd, env, host="127.0.0.1"):
    """A ``modular server`` on a free port; returns (process, port)."""
    log = open(Path(cwd) / "server.log", "w+")
    proc = subprocess.Popen(cmd + ["server", "--port", "0", "--http-port", "-1", "--host", host, "--no-tcp"],
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        log.seek(0)
        for line in log.read().splitlines():
            if line.startswith("modular server: udp "):
                return proc, int(line.split()[3])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the radio server did not start: " + (Path(cwd) / "server.log").read_text())


def _stop(proc, timeout):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return -9


def run(args) -> int:
    cmd = [sys.executable, "-m", "modular.cli"]
    env = dict(os.environ)
    out_wav = Path(args.output).resolve()
    tmp = tempfile.TemporaryDirectory(prefix="modular-demo-") if not args.keep else None
    work = Path(args.keep or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    procs = []
    try:
        print("modular demo: compiling the patches (cached after the first time) ...", flush=True)
        _warm([BROADCASTER, LISTENER])
        server, port = start_server(cmd, work, env)
        procs.append(server)
        address = f"127.0.0.1:{port}"
        bpatch = _patch(BROADCASTER, work / "broadcaster.json", address)
        lpatch = _patch(LISTENER, work / "listener.json", address)
        print(f"modular demo: server on udp {port}; broadcaster and two listeners for {args.seconds:g} s ...",
              flush=True)
        logs = {}

        def spawn(name, argv):
            logs[name] = work / f"{name}.log"
            p = subprocess.Popen(cmd + argv, cwd=work, env=env, stdout=open(logs[name], "w"), stderr=subprocess.STDOUT)
            procs.append(p)
            return p

        b = spawn("broadcaster", ["run", str(bpatch), "--no-audio", "--duration", f"{args.seconds + 2.5:g}",
                                  "--record", str(out_wav), "--stats"])
        time.sleep(1.0)
        l1 = spawn("listener1", ["run", str(lpatch), "--no-audio", "--duration", f"{args.seconds:g}", "--stats"])
        l2 = spawn("listener2", ["run", str(lpatch), "--no-audio", "--duration", f"{args.seconds:g}", "--stats",
                                 "--set", "vco.freq=1", "--set", "sub.freq=0"])
        codes = {name: _stop(p, args.seconds + 60) for name, p in (("listener1", l1), ("listener2", l2), ("broadcaster", b))}
        failed = [n for n, c in codes.items() if c != 0]
        if failed:
            for n in failed:
                print(f"modular demo: {n} failed:\n{logs[n].read_text()}", file=sys.stderr)
            return 1
        report = report_from(logs)
        print(report)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                _stop(p, 10)
        if tmp is not None:
            tmp.cleanup()
    print(f"modular demo: wrote {out_wav}")
    if not args.no_play:
        from .io import soundcard

        try:
            print(f"modular demo: {soundcard.play(str(out_wav))}")
        except Exception as exc:  # the file is the result
            print(f"modular demo: not played ({exc})")
    return 0


def report_from(logs: dict) -> str:
    b = status_lines(logs["broadcaster"].read_text())
    ret, bc = b.get("returns", {}), b.get("broadcast", {})
    lines = [f"broadcast {bc.get('handle')!r}: {bc.get('channels')} channels {bc.get('encoding')} in frames of "
             f"{bc.get('frame')} samples, listeners {bc.get('listeners_peak')} (now {bc.get('listeners')}), "
             f"rtt to server {bc.get('rtt_ms')} ms",
             f"return latency L = {ret.get('latency_ms')} ms ({ret.get('latency_samples')} samples, "
             f"{ret.get('mode')}, raised {ret.get('raises')} times); late returns {ret.get('late')}, "
             f"return underruns {ret.get('underruns')}"]
    for s in ret.get("slots", []):
        lines.append(f"  slot {s['slot']} {s['name'] or '?'}: round trip {s['min_round_trip_ms']}..{s['round_trip_ms']} ms "
                     f"(broadcast -> listener buffer -> return), frames {s['frames']}, late {s['late']}, "
                     f"underruns {s['underruns']}")
    for name in ("listener1", "listener2"):
        r = status_lines(logs[name].read_text()).get("radio", {})
        lines.append(f"{name}: rtt {r.get('rtt_ms')} ms, buffer {r.get('depth_ms')} ms ({r.get('mode')}), "
                     f"underruns {r.get('underruns')}, late {r.get('late')}, returns sent {r.get('returns_sent')}")
    return "\n".join(lines)
