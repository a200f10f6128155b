"""The network matrix still runs: a short clean cell over plain loopback (both ends as
processes, the audio and CV links up, CV whole) and, where network namespaces can be
made, a lossy cell through the impairing relay. Benchmarks are not run by CI otherwise."""

import json
import subprocess
import sys

import pytest

from modular.net import netns
from tests.helpers import ROOT


def _cells(cli_env, cells, *args):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "net_matrix.py"), "--seconds", "2",
                        "--transport", "udp", "--cells", cells, *args],
                       env=cli_env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def test_clean_cell_runs_over_plain_loopback(cli_env):
    (r,) = _cells(cli_env, "0,0,0,64")
    assert r["path"] == "direct" and r["transport"] == "kcp" and r["cv_bit_errors"] == 0, r
    assert r["rtt_ms"] < 20 and r["p50_ms"] < 100 and r["kbps"] > 1000, r  # the stream flowed


def test_lossy_cell_goes_through_the_impairment(cli_env):
    why = netns.available()
    if why is not None:
        pytest.skip(f"no network namespaces here ({why})")
    (r,) = _cells(cli_env, "5,20,5,64")
    assert r["path"] == "netns" and r["cv_bit_errors"] == 0, r
    assert r["rtt_ms"] > 35 and r["fec_recovered"] > 0, r  # 2 x 20 ms of delay; losses were repaired
