"""A radio.Client streaming on JACK's dummy driver for 10 minutes (--seconds), with an
echoing radio.Server in another process: missed audio callbacks. One JSON line.

``starved`` counts callbacks that found the card ring short: the engine thread fell
behind, a block was not ready (ours to fix). ``jack_xruns`` counts callbacks PortAudio
flagged because JACK's graph missed a cycle. On these virtual machines a real-time
thread is now and then not scheduled for longer than a period (1.3 ms) whatever it
runs, so a baseline phase follows: the same echo server and the same client, but on the
software clock, and beside them on JACK a client whose compiled callback does nothing
(``baseline_xruns``). JACK xruns at the baseline's rate are the machine's.
``client_wall_s`` is how long the client took: its seconds are counted in callbacks,
so start-up and every cycle JACK missed come on top.

    .venv/bin/python benchmarks/jack_soak.py [--seconds 600] [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.radio.linkrun import free_udp_ports, stats_line  # noqa: E402
from tests.radio.test_radio_jack import echo_server, streaming_client  # noqa: E402


def idle_client_xruns(seconds: float) -> dict:
    """A JACK client with a compiled callback that plays silence: its xrun count is the
    machine's. Runs in this process, with no other thread busy."""
    from modular.io.cardring import CALLS, END, UNDERFLOWS, CardRing, open_stream

    ring = CardRing(4096, 2, 0)
    ring.ctl[END] = 0  # silence is what it should play: only PortAudio's flags count
    stream = open_stream(ring, 48000, 64)
    stream.start()
    time.sleep(seconds)
    stream.stop()
    stream.close()
    return {"callbacks": int(ring.ctl[CALLS]), "xruns": int(ring.ctl[UNDERFLOWS])}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--no-baseline", action="store_true", help="skip the idle-client phase")
    ap.add_argument("--idle-client", type=float, metavar="S", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.idle_client:
        print(json.dumps(idle_client_xruns(a.idle_client)))
        return 0
    if shutil.which("jackd") is None:
        print(json.dumps({"bench": "jack_soak", "skipped": "jackd is not installed"}))
        return 0
    exe = Path(sys.executable).parent / "modular"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "modular.cli"]
    name = f"modular-soak-{time.monotonic_ns()}"
    row = {"bench": "jack_soak", "seconds": a.seconds}
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        jack = subprocess.Popen(["jackd", "-n", name, "-d", "dummy", "-r", "48000", "-p", "64"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            for phase in ("card", "baseline"):
                if phase == "baseline" and a.no_baseline:
                    break
                port, = free_udp_ports(1)
                (tmp / "server.json").write_text(json.dumps(echo_server(port)))
                (tmp / "client.json").write_text(json.dumps(streaming_client(port)))
                # No --duration: it serves until the client is done. A client on JACK plays
                # its seconds in callbacks, and every cycle JACK misses adds a period of wall
                # time, so a server with a fixed duration could leave before the client ends.
                server = subprocess.Popen(cmd + ["run", "server.json", "--no-audio"],
                                          cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    time.sleep(1.5)
                    run = cmd + ["run", "client.json", "--duration", str(a.seconds), "--stats"]
                    if phase == "card":
                        started = time.monotonic()
                        r = subprocess.run(run, cwd=tmp, env=env, capture_output=True, text=True,
                                           timeout=2 * a.seconds + 120)
                        row["client_wall_s"] = round(time.monotonic() - started, 1)
                        row.update(parse(r))
                    else:
                        client = subprocess.Popen(run + ["--no-audio"], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL)
                        time.sleep(1.0)
                        # in a process of its own: PortAudio must let go of JACK before jackd stops
                        b = subprocess.run([sys.executable, __file__, "--idle-client", str(a.seconds)], env=env,
                                           capture_output=True, text=True, timeout=a.seconds + 60)
                        base = json.loads(b.stdout)
                        client.wait(a.seconds + 60)
                        row.update({"baseline_callbacks": base["callbacks"], "baseline_xruns": base["xruns"]})
                finally:
                    server.terminate()
                    server.wait(10)
        finally:
            jack.terminate()
            jack.wait(10)
    print(json.dumps(row))
    return 0


def parse(r) -> dict:
    out = r.stdout
    m = re.search(r"backend: (\S+ ?\S*)  blocks: (\d+)  late blocks: \d+  underflows: (\d+)  worst block: ([\d.]+)", out)
    card = re.search(r"card: callbacks: (\d+)  starved: (\d+)  card underflows: (\d+)  ahead: ([\d.]+) ms", out)
    frames = [int(f) for f in out.split("underflows at frames: ")[1].split("\n")[0].split()] \
        if "underflows at frames: " in out else []
    st = stats_line(out) if m else {}
    return {"backend": m.group(1) if m else None, "blocks": int(m.group(2)) if m else None,
            "callbacks": int(card.group(1)) if card else None,
            "starved": int(card.group(2)) if card else None,
            "jack_xruns": int(card.group(3)) if card else None,
            "ahead_ms": float(card.group(4)) if card else None,
            "missed_at_s": [round(f / 48000, 2) for f in frames[:20]],
            "worst_block_ms": float(m.group(4)) if m else None, "connected": st.get("connected"),
            "underruns": st.get("underruns"), "depth": st.get("depth"),
            "stderr": r.stderr[-300:] if r.returncode else ""}


if __name__ == "__main__":
    sys.exit(main())
