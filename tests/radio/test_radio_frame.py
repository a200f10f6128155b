"""RadioBroadcast's data `frame`: blocks gathered into larger network frames, in order and
whole, and a frame that is no multiple of the block refused with a message naming it."""

import json
import subprocess
import time

import numpy as np
import soundfile as sf

from modular.demo import _warm
from modular.server.client import BroadcastFrame, RadioSocket
from tests.helpers import ROOT
from tests.radio.linkrun import finish, free_udp_ports, read_log, start

SR, FRAME = 48000, 256


def _patch(tmp, data):
    doc = json.loads((ROOT / "patches/radio-broadcaster.json").read_text())
    spec = next(m for m in doc["modules"] if m["id"] == "broadcast")
    spec["data"] = data
    doc["modules"].append({"id": "counter", "model": "core.WavIn", "data": {"path": str(tmp / "counter.wav"),
                                                                           "units": "volts"}})
    doc["cables"].append({"from": "counter.out", "to": "merge.in4"})
    path = tmp / "b.json"
    path.write_text(json.dumps(doc))
    return path


def test_blocks_are_gathered_into_network_frames_in_order(tmp_path, modular_cmd, cli_env):
    sf.write(tmp_path / "counter.wav", np.arange(1, 10 * SR, dtype=np.float32), SR, subtype="FLOAT")
    (port,) = free_udp_ports(1)
    bpatch = _patch(tmp_path, {"handle": "big", "listen": port, "token": "t", "frame": FRAME})
    _warm([bpatch])
    b = start(modular_cmd + ["run", str(bpatch), "--no-audio", "--duration", "6", "--stats"], tmp_path, cli_env, "b")
    frames = []
    try:
        time.sleep(1.0)
        rs = RadioSocket(("127.0.0.1", port), name="probe")
        rs.peer.subscribe("big")
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            frames += [e.frame for e in rs.poll(0.01) if type(e) is BroadcastFrame]
        rs.close()
        assert finish(b, 60) == 0, read_log(tmp_path, "b")
    finally:
        if b.poll() is None:
            b.kill()
            finish(b, 10)
    assert len(frames) > 300, len(frames)  # 3 s of 5.3 ms frames
    positions = [f.position for f in frames]
    assert all(f.frames == FRAME and f.position % FRAME == 0 for f in frames)
    assert positions == list(range(positions[0], positions[-1] + FRAME, FRAME))  # none missing, none twice
    counter = np.concatenate([f.samples()[3] for f in frames])
    # the four blocks of each frame sit in their places: the counter runs on, sample by sample
    assert np.array_equal(np.diff(counter), np.ones(len(counter) - 1, np.float32))
    assert counter[0] == positions[0] + 1  # the counter plays engine frame i as i + 1


def test_a_frame_that_is_no_multiple_of_the_block_is_refused(tmp_path, modular_cmd, cli_env):
    sf.write(tmp_path / "counter.wav", np.zeros(SR, np.float32), SR, subtype="FLOAT")
    (port,) = free_udp_ports(1)
    for frame, says in ((100, "multiple of the block size (64)"), (0, "samples per network frame")):
        bpatch = _patch(tmp_path, {"handle": "odd", "listen": port, "frame": frame})
        p = subprocess.run(modular_cmd + ["run", str(bpatch), "--no-audio", "--duration", "1"], cwd=tmp_path,
                           env=cli_env, capture_output=True, text=True, timeout=120)
        assert p.returncode != 0
        assert "'frame'" in p.stderr and says in p.stderr, p.stderr


def test_a_listener_returns_in_frames_as_long_as_the_broadcast(tmp_path, modular_cmd, cli_env):
    """A broadcast in frames of 256 samples (here a protocol client playing broadcaster):
    the listener's patch runs at block 64, and its returns come back in frames of 256 too,
    each stamped with the broadcast position its first block answers, holding its four
    blocks in order (the listener returns the counter it heard, so each return sample is
    the position it answers plus one)."""
    from modular.demo import start_server
    from modular.server.client import ReturnFrame, StreamSpec
    from modular.net import wire

    procs = []
    returns = []
    try:
        server, port = start_server(modular_cmd, tmp_path, cli_env)
        procs.append(server)
        doc = json.loads((ROOT / "patches/radio-listener.json").read_text())
        ids = {m["id"]: m for m in doc["modules"]}
        ids["radio"]["data"].update(server=f"127.0.0.1:{port}", handle="gathered", channels=1, name="l")
        doc["cables"] = [c for c in doc["cables"] if c["to"] != "radio.return"] + \
            [{"from": "radio.out", "to": "radio.return"}]
        lpatch = tmp_path / "l.json"
        lpatch.write_text(json.dumps(doc))
        _warm([lpatch])
        rs = RadioSocket(("127.0.0.1", port), name="b", block=FRAME)
        rs.peer.register("gathered", b"t", (), (StreamSpec(1, 1, cv=True),))
        listener = start(modular_cmd + ["run", str(lpatch), "--no-audio", "--duration", "5", "--stats"],
                         tmp_path, cli_env, "l")
        procs.append(listener)
        t0 = time.monotonic()
        position = 0
        while listener.poll() is None and time.monotonic() < t0 + 60:  # broadcast for as long as it listens
            now = time.monotonic()
            while position < (now - t0) * SR:  # frames of 256 in real time
                block = (position + 1 + np.arange(FRAME, dtype=np.float32))[None, :]
                rs.peer.send_broadcast(1, position, block, now)
                position += FRAME
            returns += [e.frame for e in rs.poll(0.002) if type(e) is ReturnFrame]
            rs.flush()
        assert finish(listener, 60) == 0, read_log(tmp_path, "l")
        rs.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                finish(p, 10)
    log = read_log(tmp_path, "l")
    assert "return_frame=256" in log, log[-2000:]
    assert len(returns) > 300, len(returns)  # ~3.5 s of 5.3 ms frames
    whole = [f for f in returns if f.frames == FRAME]
    assert len(whole) > 0.9 * len(returns), [f.frames for f in returns][:40]
    checked = 0
    for f in returns[10:]:  # (the first blocks play the held value while the buffer fills)
        # each sample answers its own position: the frame's blocks are in order. Where
        # the listener's buffer waited for a late frame or deepened, it held the CV, and
        # a held sample repeats the one before: those are left out
        x = f.samples()[0]
        fresh = np.flatnonzero(np.diff(x) != 0) + 1
        want = f.position + 1 + fresh.astype(np.float32)
        assert np.array_equal(x[fresh], want), (f.position, f.frames, x[fresh][:3], want[:3])
        checked += len(fresh)
    assert checked > 0.9 * sum(f.frames for f in returns[10:]), checked
    assert all(f.encoding == wire.Encoding.FLOAT32 for f in returns)
