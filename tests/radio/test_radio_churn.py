"""Acceptance, as processes on loopback: listeners come and go, one vanishes, the server
restarts; the broadcaster and a steady listener (both patches with the engine) play on.

- 20 listeners join and leave one after another (protocol clients answering each CV
  block with 1 V, half of them saying goodbye, half just vanishing): the steady
  listener's CV (a counter naming each broadcaster sample) stays whole, and its return
  (2 V) keeps its slot at the broadcaster without a gap;
- a vanished listener's slot is silent within 1 s of its last return;
- the server is killed and started again on the same port: broadcaster and steady
  listener are back, the returns playing again, within 3 s of the new server's start.
"""

import json
import subprocess
import time

import numpy as np
import soundfile as sf

from modular.demo import _warm, status_lines
from modular.net import wire
from modular.server.client import BroadcastFrame, RadioSocket, StreamSpec
from tests.helpers import ROOT
from tests.radio.linkrun import finish, free_udp_ports, read_log, start, stop_all
from tests.radio.test_radio_broadcast import check_cv, wait_for_handle

SR = 48000
B_SECONDS, L_SECONDS = 36.0, 32.0
RETURN = StreamSpec(1, 1, cv=False, answers=1)


def _server(cmd, cwd, env, port, name):
    return subprocess.Popen(cmd + ["server", "--port", str(port), "--http-port", "-1", "--host", "127.0.0.1",
                                   "--no-tcp"], cwd=cwd, env=env, stdout=open(cwd / f"{name}.log", "w"),
                            stderr=subprocess.STDOUT)


def _broadcaster(tmp, server):
    doc = json.loads((ROOT / "patches/radio-broadcaster.json").read_text())
    ids = {m["id"]: m for m in doc["modules"]}
    ids["broadcast"]["data"].update(server=server, handle="churn", token="churn-secret")
    # 24 peers share two cores here: the auto L gets 100 ms on top of what the steady
    # listener needed while it was alone, for the scheduling hiccups the load brings
    # (with 50 ms, one full-suite run saw a return 40 ms later than that)
    ids["returns"].setdefault("params", {})["margin"] = 100.0
    doc["modules"] += [
        {"id": "counter", "model": "core.WavIn", "data": {"path": str(tmp / "counter.wav"), "units": "volts"}},
        {"id": "rec_in", "model": "core.WavOut", "data": {"path": "b-in.wav"}},
        {"id": "rec_returns", "model": "core.WavOut", "data": {"path": "b-returns.wav"}},
        {"id": "rec_lat", "model": "core.WavOut", "data": {"path": "b-lat.wav"}},
    ]
    doc["cables"] += [{"from": "counter.out", "to": "merge.in4"}, {"from": "merge.out", "to": "rec_in.in"},
                      {"from": "returns.returns", "to": "rec_returns.in"},
                      {"from": "returns.latency", "to": "rec_lat.in"}]
    path = tmp / "broadcaster.json"
    path.write_text(json.dumps(doc))
    return path


def _steady_listener(tmp, server):
    doc = json.loads((ROOT / "patches/radio-listener.json").read_text())
    ids = {m["id"]: m for m in doc["modules"]}
    ids["radio"]["data"].update(server=server, handle="churn", channels=4, name="steady")
    doc["cables"] = [c for c in doc["cables"] if c["to"] != "radio.return"]
    doc["modules"] += [{"id": "two", "model": "core.Const", "params": {"v1": 2.0}},
                       {"id": "rec", "model": "core.WavOut", "data": {"path": "steady-out.wav"}}]
    doc["cables"] += [{"from": "two.out", "to": "radio.return"}, {"from": "radio.out", "to": "rec.in"}]
    path = tmp / "steady.json"
    path.write_text(json.dumps(doc))
    return path


def _churn_listener(port, k, seconds, vanish):
    """Subscribe, answer every CV block with 1 V for ``seconds``, then leave (or vanish).
    Returns the monotonic time of its last return."""
    rs = RadioSocket(("127.0.0.1", port), name=f"churn{k}", block=64)
    rs.peer.subscribe("churn", returns=(RETURN,))
    one = np.ones((1, wire.MAX_FRAMES), np.float32)
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        for e in rs.poll(0.005):
            if type(e) is BroadcastFrame and e.frame.stream == 1:
                # a return as long as the frame it answers (the broadcaster gathers blocks)
                rs.peer.send_return(1, e.frame.position, one[:, :e.frame.frames], time.monotonic())
                last = time.monotonic()
        rs.flush()
    if vanish:
        rs.sock.close()  # no goodbye: the server only notices by its timeout
    else:
        rs.close()
    return last


def _runs(mask):
    """(start, end) of the runs of True in a boolean array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def test_joins_leaves_a_vanished_listener_and_a_server_restart(tmp_path, modular_cmd, cli_env):
    n = int((B_SECONDS + 2) * SR)
    sf.write(tmp_path / "counter.wav", np.arange(1, n + 1, dtype=np.float32), SR, subtype="FLOAT")
    (port,) = free_udp_ports(1)
    server = f"127.0.0.1:{port}"
    procs = []
    marks = {}
    try:
        srv = _server(modular_cmd, tmp_path, cli_env, port, "server")
        procs.append(srv)
        bpatch, lpatch = _broadcaster(tmp_path, server), _steady_listener(tmp_path, server)
        _warm([bpatch, lpatch])
        b = start(modular_cmd + ["run", str(bpatch), "--no-audio", "--duration", str(B_SECONDS), "--stats"],
                  tmp_path, cli_env, "broadcaster")
        procs.append(b)
        wait_for_handle(server, "churn", 60)
        steady = start(modular_cmd + ["run", str(lpatch), "--no-audio", "--duration", str(L_SECONDS), "--stats"],
                       tmp_path, cli_env, "steady")
        procs.append(steady)
        time.sleep(4.0)
        marks["churn"] = time.monotonic()
        vanished = []
        for k in range(20):
            last = _churn_listener(port, k, 0.5, vanish=k % 2 == 1)
            if k % 2 == 1:
                vanished.append(last)
            time.sleep(0.1)
        marks["churned"] = time.monotonic()
        time.sleep(1.5)
        srv.kill()  # the server dies: no goodbyes
        srv.wait(10)
        marks["killed"] = time.monotonic()
        time.sleep(0.5)
        procs.append(_server(modular_cmd, tmp_path, cli_env, port, "server2"))
        marks["restarted"] = time.monotonic()
        assert finish(steady, 90) == 0, read_log(tmp_path, "steady")
        assert finish(b, 90) == 0, read_log(tmp_path, "broadcaster")
    finally:
        stop_all(procs)
    bst = status_lines(read_log(tmp_path, "broadcaster"))
    lst = status_lines(read_log(tmp_path, "steady"))["radio"]
    assert lst["reconnects"] >= 1 and bst["broadcast"]["reconnects"] >= 1, (lst, bst["broadcast"])

    ret = sf.read(tmp_path / "b-returns.wav", dtype="float32", always_2d=True)[0]
    steady_slot = int(np.argmax([np.count_nonzero(ret[:, s] == 2.0) for s in range(ret.shape[1])]))
    two = ret[:, steady_slot] == 2.0
    # A raise of L (a listener's returns came near the edge: on a loaded machine the steady
    # one may need more) moves every slot's playout back by the raise, through a short
    # concealment fade: that is the one break allowed in a slot's sound; a dropout is not.
    lat = sf.read(tmp_path / "b-lat.wav", dtype="float32", always_2d=True)[0][:, 0]
    raises = np.flatnonzero(np.diff(lat) != 0) + 1
    # L follows what the listeners need. Once the relay's parity of a slot's previous
    # listener, given back as the next listener's frame, raised it to the 2 s maximum
    assert lat.max() * 10 < 1000, [(round(r / SR, 2), round(float(lat[r]) * 10, 1)) for r in raises]
    runs = []
    for a, e in _runs(two):
        # the raise comes with the return that arrived too near the edge: the slot
        # fades for at most a few ms before it and sounds again within a block or two
        if runs and a - runs[-1][1] < SR // 50 and np.any((raises >= a - 256) & (raises <= a + 128)):
            runs[-1] = (runs[-1][0], e)  # the fade of a raise of L, not a gap
        else:
            runs.append((a, e))
    runs = [(a, e) for a, e in runs if e - a > SR // 10]
    # the steady listener's return plays without a gap until the server dies, all through
    # the churn (12 s of it), then again once the new server is up
    assert len(runs) == 2, ([(a / SR, e / SR) for a, e in _runs(two)][:10], raises / SR)
    (a0, e0), (a1, e1) = runs
    assert (e0 - a0) / SR > (marks["killed"] - marks["churn"]) + 1.0, (a0 / SR, e0 / SR, marks)
    back = (a1 - e0) / SR - (marks["restarted"] - marks["killed"])
    print(f"steady return back {back:.2f} s after the server restarted (gap {(a1 - e0) / SR:.2f} s)")
    assert back < 3.0
    # the churners played in their own slots; a vanished one falls silent after its last return
    others = [s for s in range(ret.shape[1]) if s != steady_slot]
    heard = [s for s in others if np.count_nonzero(ret[:, s] == 1.0) > SR // 10]
    # each churner heard: a slot a churner left is the next one's, so count the runs
    # of 1 V in each slot (a listener that answers is heard at once, however short its stay)
    played = {s: [(a / SR, (e - a) / SR) for a, e in _runs(ret[:, s] == 1.0) if e - a > SR // 10] for s in others}
    print("churners heard, by slot:", {s: len(r) for s, r in played.items() if r})
    assert sum(len(r) for r in played.values()) >= 18, played
    # ... each for as long as it answered (0.5 s), never longer: a slot that goes on
    # sounding would pass the silence check below, which looks after its last 1 V only
    assert all(d < 0.8 for r in played.values() for _, d in r), played
    for s in heard:
        last = int(np.flatnonzero(ret[:, s] == 1.0)[-1])
        after = ret[last + SR // 20: last + SR, s]
        assert np.all(np.abs(after) < 1e-3), f"slot {s} still sounds after its last return"
    # the steady listener's CV: every sample the broadcaster's, in order, from its start to
    # the server's death: the churn never made it skip or wait
    sent = sf.read(tmp_path / "b-in.wav", dtype="float32", always_2d=True)[0]
    got = sf.read(tmp_path / "steady-out.wav", dtype="float32", always_2d=True)[0]
    counter = got[:, 3]
    fresh = np.flatnonzero((counter > 0) & (np.diff(counter, prepend=0) != 0))
    frames = counter[fresh].astype(np.int64) - 1
    jumps = np.flatnonzero(np.diff(frames) != 1)
    assert len(jumps) <= 1, f"the CV skipped at {jumps[:5]} (one skip, at the restart, at most)"
    end = fresh[jumps[0]] if len(jumps) else fresh[-1]
    begin = fresh[0] + SR  # its first second: the buffer finds its depth
    assert end - begin > 10 * SR
    assert check_cv(sent, got[:end + 1]) > 10 * SR
    held = np.count_nonzero(np.diff(counter[begin:end]) == 0)
    waits = _runs(np.diff(counter[begin:end]) == 0)
    print(f"steady listener held its CV {held} samples in {len(waits)} waits, at s:",
          [(round((begin + a) / SR, 2), int(e - a)) for a, e in waits][:12])
    # it never skips; it may wait for data a few ms late now and then (24 peers on two
    # cores: 700-1600 samples in all were seen over the 12 s of churn)
    assert held < SR // 20, f"the steady listener held its CV for {held} samples before the restart"
