"""Helpers for the radio tests: free ports, bounded subprocesses, reading WAV recordings
and the ``--stats`` lines of ``modular run``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.helpers import ROOT

SERVER_PATCH = ROOT / "patches/duplex-server.json"
CLIENT_PATCH = ROOT / "patches/duplex-client.json"


def free_udp_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def patch_with_ports(path: Path, tmp: Path, port: int, **link) -> Path:
    """The example patch itself when its port is free, else a copy on ``port`` (the
    patch's fixed ports may be taken on a shared machine)."""
    doc = json.loads(path.read_text())
    spec = next(m for m in doc["modules"] if m["model"].startswith("radio."))
    if spec["data"]["port"] == port and not link:
        return path
    spec["data"]["port"] = port
    spec["data"].update(link)
    out = tmp / path.name
    out.write_text(json.dumps(doc))
    return out


def start(cmd, cwd, env, name):
    log = open(Path(cwd) / f"{name}.log", "w")
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def finish(proc, timeout: float) -> int:
    """Wait (bounded) for a process; kill it if it overstays. Returns its exit status."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return -9


def stop_all(procs) -> None:
    """Terminate whichever of these processes still run (a test's cleanup, pass or fail)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
            finish(p, 10)


def read_log(cwd, name) -> str:
    return (Path(cwd) / f"{name}.log").read_text()


def stats_line(text: str, module: str = "link") -> dict:
    """``module: k=v  k=v`` printed by ``modular run --stats``, as a dict of strings."""
    for line in text.splitlines():
        if line.startswith(f"{module}: "):
            return dict(kv.split("=", 1) for kv in line[len(module) + 2:].split("  ") if "=" in kv)
    raise AssertionError(f"no status line for {module!r} in:\n{text}")


def report_value(text: str, key: str) -> int:
    m = re.search(rf"{key}: (\d+)", text)
    assert m, text
    return int(m.group(1))


def card_line(text: str) -> dict:
    """The ``card:`` line of ``modular run --stats`` on a sound card, as numbers."""
    m = re.search(r"card: callbacks: (\d+)  starved: (\d+)  card underflows: (\d+)  ahead: ([\d.]+) ms", text)
    assert m, text
    return {"callbacks": int(m.group(1)), "starved": int(m.group(2)), "card underflows": int(m.group(3)),
            "ahead_ms": float(m.group(4))}


def wav(path) -> np.ndarray:
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    return data[:, 0]


def check_arrived(sent_ramp, sent_sine, recv_ramp, recv_sine, min_samples: int) -> np.ndarray:
    """The received ramp and sine are the sent ones, bit for bit, with nothing skipped.

    The ramp's values are all distinct, so each received sample names its position on
    the sender's timeline; aligned by it, the sine must match exactly. Samples equal to
    the one before are held (before the link is up, while the jitter buffer waits for a
    retransmission, after the stream ends) and are not compared. Returns the positions."""
    keys = sent_ramp.view(np.uint32)
    index = {int(k): i for i, k in enumerate(keys)}
    assert len(index) == len(keys), "the ramp repeats: it cannot name positions"
    fresh = np.flatnonzero(np.diff(recv_ramp.view(np.uint32)) != 0) + 1
    assert len(fresh) >= min_samples, f"only {len(fresh)} samples arrived"
    got = recv_ramp.view(np.uint32)[fresh]
    unknown = [i for i, k in zip(fresh, got) if int(k) not in index]
    assert not unknown, f"{len(unknown)} received ramp values were never sent (first at {unknown[0]})"
    pos = np.array([index[int(k)] for k in got])
    steps = np.diff(pos)
    assert np.all(steps == 1), f"positions skip or repeat: steps {np.unique(steps)[:10]}"
    assert recv_sine[fresh].tobytes() == sent_sine[pos].tobytes(), "the sine differs"
    return pos
