"""Acceptance of the radio's main job, as processes on loopback: a `modular server`, the
broadcaster patch and two listener patches, each listener reaching the server through
`modular impair` (2 % loss, 10 ± 3 ms each way).

- CV bit for bit: the broadcast carries a counter channel (a float32 WAV of 1, 2, 3, ...
  played by core.WavIn), so each sample a listener plays names the broadcaster frame it
  came from; every channel must equal the broadcaster's, bit for bit, with no position
  skipped.
- Musical sync: each listener returns its notes' envelope (ADSR on the broadcast gate);
  the broadcaster runs the same ADSR on its own gate through RadioDelay, delayed by
  RadioReturn's L. Recorded with core.WavOut, once L has settled every returned note
  starts on exactly the sample the local one does (error 0 samples), the
  cross-correlation peak sits at lag 0, and most samples are bit-identical (a listener's
  buffer that holds its playout to wait for a resent datagram stretches that one note).
"""

import json
import time

import numpy as np
import soundfile as sf

from modular.demo import _warm, start_server, status_lines
from tests.helpers import ROOT
from tests.radio.linkrun import finish, free_udp_ports, read_log, start, stop_all

SR = 48000
B_SECONDS, L_SECONDS = 20.0, 13.0  # the broadcaster outlives the listeners


def _broadcaster(tmp, server):
    doc = json.loads((ROOT / "patches/radio-broadcaster.json").read_text())
    ids = {m["id"]: m for m in doc["modules"]}
    ids["broadcast"]["data"].update(server=server, handle="e2e", token="e2e-secret")
    env = json.loads((ROOT / "patches/radio-listener.json").read_text())
    adsr = next(m for m in env["modules"] if m["id"] == "env")
    doc["modules"] += [
        {"id": "counter", "model": "core.WavIn", "data": {"path": str(tmp / "counter.wav"), "units": "volts"}},
        {"id": "local_env", "model": "core.ADSR", "params": adsr["params"]},
        {"id": "local_sync", "model": "radio.RadioDelay"},
        {"id": "rec_in", "model": "core.WavOut", "data": {"path": "b-in.wav"}},
        {"id": "rec_local", "model": "core.WavOut", "data": {"path": "b-local.wav"}},
        {"id": "rec_returns", "model": "core.WavOut", "data": {"path": "b-returns.wav"}},
        {"id": "rec_lat", "model": "core.WavOut", "data": {"path": "b-lat.wav"}},
        {"id": "rec_delay", "model": "core.WavOut", "data": {"path": "b-delay.wav"}},
    ]
    doc["cables"] += [
        {"from": "counter.out", "to": "merge.in4"},
        {"from": "merge.out", "to": "rec_in.in"},
        {"from": "seq.gate", "to": "local_env.gate"},
        {"from": "local_env.env", "to": "local_sync.in"},
        {"from": "returns.latency", "to": "local_sync.latency"},
        {"from": "local_sync.out", "to": "rec_local.in"},
        {"from": "returns.returns", "to": "rec_returns.in"},
        {"from": "returns.latency", "to": "rec_lat.in"},
        {"from": "local_sync.delay", "to": "rec_delay.in"},
    ]
    path = tmp / "broadcaster.json"
    path.write_text(json.dumps(doc))
    return path


def _listener(tmp, server, k):
    doc = json.loads((ROOT / "patches/radio-listener.json").read_text())
    ids = {m["id"]: m for m in doc["modules"]}
    ids["radio"]["data"].update(server=server, handle="e2e", channels=4, name=f"listener{k}")
    doc["cables"] = [c for c in doc["cables"] if c["to"] != "radio.return"]
    doc["modules"].append({"id": "rec", "model": "core.WavOut", "data": {"path": f"l{k}-out.wav"}})
    doc["cables"] += [{"from": "env.env", "to": "radio.return"}, {"from": "radio.out", "to": "rec.in"}]
    path = tmp / f"listener{k}.json"
    path.write_text(json.dumps(doc))
    return path


def wait_for_handle(server, handle, timeout):
    from modular.server.client import list_streams

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(e.handle == handle for e in list_streams(server, timeout=2.0)):
            return
        time.sleep(0.2)
    raise AssertionError(f"{handle!r} never registered")


def _read(path):
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    return data


def check_cv(sent, got):
    """Every fresh sample a listener played is the broadcaster's at the frame its
    counter names, all channels bit for bit; positions never skip. Returns samples checked."""
    counter = got[:, 3]
    fresh = np.flatnonzero((counter > 0) & (np.diff(counter, prepend=0) != 0))
    frames = counter[fresh].astype(np.int64) - 1
    assert np.all(np.diff(frames) == 1), f"positions skip: {np.unique(np.diff(frames))[:10]}"
    assert frames[-1] < len(sent)
    bad = np.flatnonzero(np.any(got[fresh].view(np.uint32) != sent[frames].view(np.uint32), axis=1))
    assert len(bad) == 0, f"{len(bad)} samples differ (first at broadcaster frame {frames[bad[0]]})"
    return len(fresh)


def longest_run(mask):
    """(start, end) of the longest run of True in mask; (0, 0) when there is none."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    starts, ends = edges[0::2], edges[1::2]
    if len(starts) == 0:
        return 0, 0
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k])


def sync_error(ret, local, lat, delay, min_seconds=4.0):
    """Returns (lag of the best match, samples differing at lag 0, samples compared) over
    the longest stretch where the slot plays, L holds one value and RadioDelay's fade to
    it is over; less the first second the listener played (its envelope started mid-note,
    in another state) and the last half second (it is leaving). On a loaded machine a
    listener can stall long enough for L to be raised once more while it plays; the
    sync must hold at every L, so the longest steady stretch is as good as the last."""
    live = np.flatnonzero(np.abs(ret) > 1e-6)
    steady = (np.diff(lat, prepend=lat[0]) == 0) & (np.abs(delay - lat) < 1e-4) & (lat > 0)
    steady[: live[0] + SR] = False
    steady[live[-1] - SR // 2:] = False
    start, end = longest_run(steady)
    assert end - start >= min_seconds * SR, f"only {(end - start) / SR:.2f} s with a steady L"
    a, b = ret[start:end].astype(np.float64), local[start:end].astype(np.float64)
    m = 480
    lags = list(range(-m, m + 1))
    err = [np.mean(np.abs(a[m:-m] - b[m + k: len(b) - m + k])) for k in lags]
    best = lags[int(np.argmin(err))]
    differ = int(np.count_nonzero(ret[start:end].view(np.uint32) != local[start:end].view(np.uint32)))
    on_ret, on_local = onsets(ret[start:end]), onsets(local[start:end])
    return best, on_ret, on_local, differ, end - start


def onsets(env):
    """Sample indexes where a note's attack begins: the envelope starts to rise."""
    rising = np.diff(env) > 0
    return np.flatnonzero(rising[1:] & ~rising[:-1]) + 1


def test_listeners_return_in_musical_sync_through_loss(tmp_path, modular_cmd, cli_env):
    n = int((B_SECONDS + 2) * SR)
    sf.write(tmp_path / "counter.wav", np.arange(1, n + 1, dtype=np.float32), SR, subtype="FLOAT")
    procs = []
    try:
        server, port = start_server(modular_cmd, tmp_path, cli_env)
        procs.append(server)
        relays = free_udp_ports(2)
        for k, rp in enumerate(relays):
            procs.append(start(modular_cmd + ["impair", "--listen", str(rp), "--to", f"127.0.0.1:{port}",
                                              "--loss", "2", "--delay", "10", "--jitter", "3", "--seed", str(11 + k),
                                              "--duration", "90"], tmp_path, cli_env, f"impair{k}"))
        bpatch = _broadcaster(tmp_path, f"127.0.0.1:{port}")
        lpatches = [_listener(tmp_path, f"127.0.0.1:{rp}", k) for k, rp in enumerate(relays)]
        _warm([bpatch, lpatches[0]])  # compile here once (cached), not in three processes at once
        b = start(modular_cmd + ["run", str(bpatch), "--no-audio", "--duration", str(B_SECONDS), "--stats"],
                  tmp_path, cli_env, "broadcaster")
        procs.append(b)
        wait_for_handle(f"127.0.0.1:{port}", "e2e", 60)
        ls = []
        for k, lpatch in enumerate(lpatches):
            ls.append(start(modular_cmd + ["run", str(lpatch), "--no-audio", "--duration", str(L_SECONDS), "--stats"],
                            tmp_path, cli_env, f"listener{k}"))
        procs += ls
        for k, p in enumerate(ls):
            assert finish(p, 90) == 0, read_log(tmp_path, f"listener{k}")
        assert finish(b, 90) == 0, read_log(tmp_path, "broadcaster")
    finally:
        stop_all(procs)
    blog = read_log(tmp_path, "broadcaster")
    st = status_lines(blog)
    ret = st["returns"]
    assert st["broadcast"]["registered"] is True and ret["listeners"] == 2, blog
    assert st["broadcast"]["mtu"] == 1452, blog
    sent = _read(tmp_path / "b-in.wav")
    for k in range(2):
        got = _read(tmp_path / f"l{k}-out.wav")
        assert check_cv(sent, got) >= 5 * SR
        lst = status_lines(read_log(tmp_path, f"listener{k}"))["radio"]
        assert lst["rtt_ms"] > 18, "the relay's 2 x 10 ms shows in the round trip"
        assert lst["mtu"] == 1452, "a block's CV and audio share a datagram through the relay"
    returns, local = _read(tmp_path / "b-returns.wav"), _read(tmp_path / "b-local.wav")[:, 0]
    lat, delay = _read(tmp_path / "b-lat.wav")[:, 0], _read(tmp_path / "b-delay.wav")[:, 0]
    assert lat[-1] > 2.0, "L covers at least the 20 ms the relays add"
    for slot in (0, 1):
        best, on_ret, on_local, differ, compared = sync_error(returns[:, slot], local, lat, delay)
        print(f"slot {slot}: L {ret['latency_ms']} ms; {len(on_ret)} returned notes, {len(on_local)} local; "
              f"cross-correlation lag {best} samples; {compared - differ} of {compared} samples bit-identical")
        assert len(on_local) >= 12
        assert best == 0
        # every returned note starts on the very sample the local one does: error 0 samples
        assert len(on_ret) == len(on_local) and np.array_equal(on_ret, on_local), (on_ret, on_local)
        # where the listener's buffer did not stall (it holds the playout to wait for a
        # resent datagram, which stretches that one note), the envelopes are bit for bit the same
        assert compared - differ > 0.5 * compared
