"""Acceptance: two `modular run` processes linked by radio.Server and radio.Client through
`modular impair` at 5 % loss; the ramp and the sine each sends as CV arrive bit for bit."""

import time

import pytest

from tests.radio.linkrun import (CLIENT_PATCH, SERVER_PATCH, check_arrived, finish, free_udp_ports, patch_with_ports,
                                 port_free, read_log, start, stats_line, stop_all, wav)

SR = 48000


def _ports():
    if port_free(47800) and port_free(47801):
        return 47800, 47801  # the ports written in the example patches
    return tuple(free_udp_ports(2))


def test_duplex_cv_bit_for_bit_through_5_percent_loss(tmp_path, modular_cmd, cli_env):
    server_port, relay_port = _ports()
    server_patch = patch_with_ports(SERVER_PATCH, tmp_path, server_port)
    client_patch = patch_with_ports(CLIENT_PATCH, tmp_path, relay_port)
    relay = start(modular_cmd + ["impair", "--listen", str(relay_port), "--to", f"127.0.0.1:{server_port}",
                                 "--loss", "5", "--delay", "10", "--jitter", "2", "--seed", "7",
                                 "--duration", "60"], tmp_path, cli_env, "impair")
    server = start(modular_cmd + ["run", str(server_patch), "--no-audio", "--duration", "11", "--stats"],
                   tmp_path, cli_env, "server")
    try:
        time.sleep(1.0)
        client = start(modular_cmd + ["run", str(client_patch), "--no-audio", "--duration", "8", "--stats"],
                       tmp_path, cli_env, "client")
        assert finish(client, 90) == 0, read_log(tmp_path, "client")
        assert finish(server, 90) == 0, read_log(tmp_path, "server")
    finally:
        stop_all((server, relay))
    client_out, server_out = read_log(tmp_path, "client"), read_log(tmp_path, "server")
    c, s = stats_line(client_out), stats_line(server_out)
    assert c["connected"] == "True", client_out
    assert c["transport"] == "udp" and s["rejected"] == "0" and c["rejected"] == "0"
    assert float(c["rtt_ms"]) > 15, "the relay's 2 x 10 ms delay shows in the round trip"
    assert float(c["loss_pct"]) == 0.0, "KCP resent every lost datagram"
    # what the relay did: about 5 % of the datagrams each way never came out
    relay_out = read_log(tmp_path, "impair")
    line = relay_out.strip().splitlines()[-1] if relay_out.strip() else ""
    if line.startswith("impair: up"):
        nums = [int(w) for w in line.replace(",", " ").replace(";", " ").split() if w.isdigit()]
        up_in, up_out, down_in, down_out = nums
        assert 0.02 < 1 - up_out / up_in < 0.08 and 0.02 < 1 - down_out / down_in < 0.08, line
    # server -> client and client -> server, aligned by position, bit for bit
    check_arrived(wav(tmp_path / "server-sent-1.wav"), wav(tmp_path / "server-sent-2.wav"),
                  wav(tmp_path / "client-recv-1.wav"), wav(tmp_path / "client-recv-2.wav"), min_samples=5 * SR)
    check_arrived(wav(tmp_path / "client-sent-1.wav"), wav(tmp_path / "client-sent-2.wav"),
                  wav(tmp_path / "server-recv-1.wav"), wav(tmp_path / "server-recv-2.wav"), min_samples=5 * SR)
