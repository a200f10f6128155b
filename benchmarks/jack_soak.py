"""A radio.Client streaming on JACK's dummy driver for 10 minutes (--seconds): missed
audio callbacks, with an echoing radio.Server in another process. One JSON line.

    .venv/bin/python benchmarks/jack_soak.py [--seconds 600]
"""

from __future__ import annotations

import argparse
import json
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


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=600.0)
    a = ap.parse_args(argv)
    if shutil.which("jackd") is None:
        print(json.dumps({"bench": "jack_soak", "skipped": "jackd is not installed"}))
        return 0
    exe = Path(sys.executable).parent / "modular"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "modular.cli"]
    port, = free_udp_ports(1)
    name = f"modular-soak-{time.monotonic_ns()}"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "server.json").write_text(json.dumps(echo_server(port)))
        (tmp / "client.json").write_text(json.dumps(streaming_client(port)))
        jack = subprocess.Popen(["jackd", "-n", name, "-d", "dummy", "-r", "48000", "-p", "64"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = subprocess.Popen(cmd + ["run", "server.json", "--no-audio", "--duration", str(a.seconds + 30)],
                                  cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            env = dict(__import__("os").environ, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1",
                       PYTHONPATH=str(ROOT))
            r = subprocess.run(cmd + ["run", "client.json", "--duration", str(a.seconds), "--stats"], cwd=tmp,
                               env=env, capture_output=True, text=True, timeout=a.seconds + 120)
        finally:
            server.terminate()
            server.wait(10)
            jack.terminate()
            jack.wait(10)
    out = r.stdout
    m = re.search(r"backend: (\S+ ?\S*)  blocks: (\d+)  late blocks: \d+  underflows: (\d+)  worst block: ([\d.]+)", out)
    frames = [int(f) for f in out.split("underflows at frames: ")[1].split("\n")[0].split()] \
        if "underflows at frames: " in out else []
    st = stats_line(out) if m else {}
    print(json.dumps({"bench": "jack_soak", "seconds": a.seconds, "backend": m.group(1) if m else None,
                      "blocks": int(m.group(2)) if m else None, "missed_callbacks": int(m.group(3)) if m else None,
                      "missed_in_first_second": sum(f < 48000 for f in frames),
                      "worst_block_ms": float(m.group(4)) if m else None, "connected": st.get("connected"),
                      "underruns": st.get("underruns"), "depth": st.get("depth"), "stderr": r.stderr[-300:] if r.returncode else ""}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
