"""Acceptance: a patch with a radio.Client streaming runs on JACK's dummy driver (a real
audio callback, paced by the card's clock) for 30 s with zero missed callbacks, while
the network thread and an echoing Server in another process keep the link busy."""

import json
import shutil
import time

import pytest

from tests.helpers import make_patch
from tests.radio.linkrun import card_line, finish, free_udp_ports, read_log, report_value, start, stats_line

pytestmark = pytest.mark.skipif(shutil.which("jackd") is None, reason="jackd2 is not installed")

SECONDS = 30


def echo_server(port):
    return make_patch([("link", "radio.Server", {}, {"port": port, "host": "127.0.0.1"})],
                      [("link.out1", "link.in1"), ("link.out2", "link.in2")])


def streaming_client(port):
    return make_patch([("vco", "core.VCO"), ("lfo", "core.LFO"),
                       ("link", "radio.Client", {}, {"host": "127.0.0.1", "port": port}),
                       ("out", "core.AudioOut")],
                      [("vco.sin", "link.in1"), ("lfo.sin", "link.in2"),
                       ("link.out1", "out.left"), ("link.out2", "out.right")])


def _stream_on_jack(jack_dummy, tmp_path, modular_cmd, cli_env):
    """Runs the streaming client on JACK for SECONDS; returns its log."""
    port, = free_udp_ports(1)
    (tmp_path / "server.json").write_text(json.dumps(echo_server(port)))
    (tmp_path / "client.json").write_text(json.dumps(streaming_client(port)))
    # no --duration: it serves until the client is done, which on JACK takes SECONDS of
    # callbacks plus start-up plus every cycle JACK misses (a run here once took 2.8 times)
    server = start(modular_cmd + ["run", "server.json", "--no-audio", "--stats"], tmp_path, cli_env, "server")
    try:
        time.sleep(1.0)
        env = dict(cli_env, JACK_DEFAULT_SERVER=jack_dummy, JACK_NO_START_SERVER="1")
        client = start(modular_cmd + ["run", "client.json", "--duration", str(SECONDS), "--stats"],
                       tmp_path, env, "client")
        assert finish(client, SECONDS + 90) == 0, read_log(tmp_path, "client")
    finally:
        server.terminate()
        finish(server, 10)
    return read_log(tmp_path, "client")


# JACK xruns per callback above which the run shared the machine with something that
# kept real-time threads off the CPU (a quiet run here has ~1 in 5000)
NOISY = 1 / 1000


def test_client_on_jack_misses_no_callback(jack_dummy, tmp_path, modular_cmd, cli_env):
    for attempt in (1, 2):
        out = _stream_on_jack(jack_dummy, tmp_path, modular_cmd, cli_env)
        card = card_line(out)
        print(f"callbacks: {card['callbacks']}  starved: {card['starved']}  "
              f"JACK xruns: {card['card underflows']}")
        # a run during which the machine itself starved JACK (its xruns show it) is
        # measured again, once: the figure that counts is the engine's, not the host's
        clean = card["starved"] == 0 and card["card underflows"] <= card["callbacks"] // 100
        if clean or card["card underflows"] <= NOISY * card["callbacks"] or attempt == 2:
            break
    assert "backend: soundcard" in out, out
    st = stats_line(out)
    assert st["connected"] == "True" and st["late"] == "0", st
    assert report_value(out, "blocks") >= SECONDS * 48000 // 64
    # Zero missed callbacks: the card's callback is compiled code playing from a ring the
    # engine thread keeps 10 ms ahead, so it never waits for the GIL; "starved" counts
    # callbacks that found the ring short (the engine thread fell behind).
    assert card["callbacks"] >= SECONDS * 48000 // 64
    assert card["starved"] == 0, out
    # JACK flags an xrun whenever its graph misses a cycle: on these virtual machines a
    # real-time thread is sometimes not scheduled for over a period, whatever it runs
    # (benchmarks/jack_soak.py measures a client with an empty callback beside). Those
    # are the machine's, not ours. With a third of the CPU taken by the host (steal),
    # runs here saw 1.2-2.2 % of cycles missed, starved 0; more than 3 % would be a fault.
    assert card["card underflows"] <= 3 * card["callbacks"] // 100, out
