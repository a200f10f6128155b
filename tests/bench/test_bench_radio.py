"""The radio benchmarks still run and still load the server the way a radio's listeners
do: a short radio_fanout with lean listeners (subscribed, answered, heard, none late) and
relay_cost's sans-I/O figures. Benchmarks are not run by CI otherwise."""

import json
import subprocess
import sys

from tests.helpers import ROOT


def _run(cli_env, script, *args):
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], env=cli_env,
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def test_radio_fanout_with_lean_listeners(cli_env):
    (r,) = _run(cli_env, "radio_fanout.py", "--listeners", "3", "--seconds", "1.5", "--block", "256")
    assert r["bench"] == "radio_fanout" and r["listeners"] == 3 and r["subscribed"] == 3
    assert r["returns_heard_from"] == 3 and r["return_underruns"] == 0, r  # every return reached the broadcaster
    assert r["blocks"] > 200 and r["underruns"] == 0 and r["p99_ms"] < 30, r
    assert 0 < r["server_cpu_cores"] < 1.0


def test_relay_cost_tells_unheard_listeners_and_sizes_the_parity(cli_env):
    (r,) = _run(cli_env, "relay_cost.py", "--listeners", "4", "--seconds", "1", "--return-slots", "2")
    assert r["bench"] == "relay_cost" and r["us_per_listener_block"] > 0
    assert r["relayed_returns"] > 0 and r["returns_unheard"] == 0  # the two beyond the slots sent none
    (r,) = _run(cli_env, "relay_cost.py", "--listeners", "4", "--seconds", "1", "--return-slots", "0")
    # after the warm-up the clean paths ask for one parity piece of four: at block 256 a
    # listener-block is CV, audio and a quarter piece (plus the broadcaster's acks shared
    # four ways), where all four pieces would make it 3.25 and more
    assert r["relayed_returns"] == 0 and r["datagrams_out_per_listener_block"] < 2.8, r
