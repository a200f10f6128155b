"""After a server outage, a listener's return answers only the broadcast it hears anew.

The listener gathers its return into frames as long as the broadcast's (here 256
samples: four blocks). Whatever it had gathered of the old timeline when the server
died must not be sent once it is back: answering a position from before the outage, it
would tell the broadcaster's auto L that this listener needs as much more latency as
the outage was long (that raised L to 1.4 s)."""

import json
import time

import numpy as np

from modular.demo import _warm
from modular.server.client import RadioSocket, ReturnFrame, StreamSpec
from tests.helpers import ROOT
from tests.radio.linkrun import free_udp_ports, start, stop_all
from tests.radio.test_radio_churn import _server

SR, FRAME = 48000, 256


def test_no_return_answers_a_position_from_before_a_server_outage(tmp_path, modular_cmd, cli_env):
    (port,) = free_udp_ports(1)
    li = json.loads((ROOT / "patches/radio-listener.json").read_text())
    spec = next(m for m in li["modules"] if m["id"] == "radio")
    spec["data"].update(handle="outage", server=f"127.0.0.1:{port}")
    (tmp_path / "l.json").write_text(json.dumps(li))
    _warm([tmp_path / "l.json"])
    procs = [_server(modular_cmd, tmp_path, cli_env, port, "server")]
    b = None
    try:
        time.sleep(0.5)
        b = RadioSocket(("127.0.0.1", port), name="lean-broadcaster", block=FRAME)
        b.peer.register("outage", b"outage-token", (), (StreamSpec(1, 3, cv=True),))
        b.wait_for(lambda e: b.peer.registered, 10)
        procs.append(start(modular_cmd + ["run", str(tmp_path / "l.json"), "--no-audio", "--duration", "30"],
                           tmp_path, cli_env, "l"))
        cv = np.zeros((3, FRAME), np.float32)
        cv[0] = 1.0  # a held pitch and gate
        t0 = time.monotonic()
        position = 0
        marks = {}
        returns = []  # (position sent when it came, position it answers)
        while time.monotonic() - t0 < 40.0:
            now = time.monotonic()
            while position < (now - t0) * SR:  # the broadcast's clock: real time, in frames of 256
                b.peer.send_broadcast(1, position, cv, now)
                position += FRAME
            for e in b.poll(0.002):
                if type(e) is ReturnFrame:
                    returns.append((position, e.frame.position))
            if "killed" not in marks and returns and position - returns[0][0] > 2 * SR:
                procs[0].kill()  # the server dies, after 2 s of returns: no goodbyes
                procs[0].wait(10)
                marks["killed"], killed_at = position, now
            if "killed" in marks and "restarted" not in marks and now - killed_at > 0.5:
                procs.append(_server(modular_cmd, tmp_path, cli_env, port, "server2"))
                marks["restarted"] = position
            if "restarted" in marks and returns[-1][0] > marks["restarted"] and \
                    position - min(s for s, _ in returns if s > marks["restarted"]) > 2 * SR:
                break  # 2 s of returns since the restart
    finally:
        if b is not None:
            b.close()
        stop_all(procs)
    assert "restarted" in marks, f"{len(returns)} returns, none for 2 s"
    after = [r for r in returns if r[0] > marks["restarted"]]
    assert after, "no returns came back after the restart"
    lag_before = max((s - p) / SR for s, p in returns if s < marks["killed"])
    lag_after = max((s - p) / SR for s, p in after)
    print(f"returns answer the broadcast up to {lag_before:.3f} s late before the outage, {lag_after:.3f} s after")
    # as promptly after as before: a return kept from before the outage answers a
    # position the outage's length (over 1.5 s) older than the broadcast's
    assert lag_after < lag_before + 0.5, (lag_before, lag_after)
