"""RadioBroadcast with data `listen` (peer to peer, no separate server): a listener types
in the broadcaster's address, plays its stream and its return comes back to RadioReturn."""

import json

from modular.demo import _warm, status_lines
from tests.helpers import ROOT
from tests.radio.linkrun import finish, free_udp_ports, read_log, start


def test_direct_listen_without_a_server(tmp_path, modular_cmd, cli_env):
    (port,) = free_udp_ports(1)
    b = json.loads((ROOT / "patches/radio-broadcaster.json").read_text())
    spec = next(m for m in b["modules"] if m["id"] == "broadcast")
    spec["data"] = {"handle": "direct", "listen": port, "token": "t"}
    (tmp_path / "b.json").write_text(json.dumps(b))
    li = json.loads((ROOT / "patches/radio-listener.json").read_text())
    spec = next(m for m in li["modules"] if m["id"] == "radio")
    spec["data"].update(handle="direct", server=f"127.0.0.1:{port}")
    (tmp_path / "l.json").write_text(json.dumps(li))
    _warm([tmp_path / "b.json", tmp_path / "l.json"])
    procs = [start(modular_cmd + ["run", str(tmp_path / "b.json"), "--no-audio", "--duration", "6", "--stats"],
                   tmp_path, cli_env, "b")]
    procs.append(start(modular_cmd + ["run", str(tmp_path / "l.json"), "--no-audio", "--duration", "4", "--stats"],
                       tmp_path, cli_env, "l"))
    try:
        assert finish(procs[1], 60) == 0, read_log(tmp_path, "l")
        assert finish(procs[0], 60) == 0, read_log(tmp_path, "b")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                finish(p, 10)
    bs, ls = status_lines(read_log(tmp_path, "b")), status_lines(read_log(tmp_path, "l"))
    assert bs["broadcast"]["port"] == port and bs["broadcast"]["registered"] is True
    # the listener ran 4 s: at least 1.3 s of them heard, and answered, in frames of the default length
    assert bs["broadcast"]["frame"] == 256 and ls["radio"]["return_frame"] == 256, (bs["broadcast"], ls["radio"])
    assert ls["radio"]["subscribed"] is True and ls["radio"]["channels"] == 3
    assert ls["radio"]["frames"] * 256 > 64000, ls["radio"]
    slot = bs["returns"]["slots"][0]
    assert slot["frames"] * 256 > 64000 and bs["returns"]["latency_samples"] > 0, bs["returns"]
