"""The impairment relay on loopback loses about the fraction asked, delays, answers back,
and stops by itself."""

import socket
import subprocess
import sys
import time

import pytest

from modular.net.impair import ImpairRelay, main
from modular.net.simlink import Impairment


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1.0)
    return s


def test_relay_loses_the_configured_fraction_both_ways():
    server = udp()
    relay = ImpairRelay(0, server.getsockname(), Impairment(loss=0.2, delay=0.005, seed=3)).start(duration=20)
    client = udp()
    n = 2000
    got = []
    back = 0

    def drain(deadline):
        nonlocal back
        while time.monotonic() < deadline:
            try:
                data, addr = server.recvfrom(100)
                got.append((data, time.monotonic()))
                server.sendto(data, addr)  # echo back through the relay
            except BlockingIOError:
                pass
            try:
                client.recvfrom(100)
                back += 1
            except BlockingIOError:
                time.sleep(0.0005)

    server.setblocking(False)
    client.setblocking(False)
    try:
        sent_at = {}
        for i in range(n):
            sent_at[i] = time.monotonic()
            client.sendto(i.to_bytes(4, "big"), ("127.0.0.1", relay.port))
            if i % 50 == 49:  # small batches: socket buffers stay far from full
                drain(time.monotonic() + 0.01)
        drain(time.monotonic() + 0.3)
        delays = [t - sent_at[int.from_bytes(d, "big")] for d, t in got]
        assert min(delays) >= 0.0045  # held ~5 ms
    finally:
        relay.stop()
        client.close()
        server.close()
    assert len(got) / n == pytest.approx(0.8, abs=0.04)
    assert back / len(got) == pytest.approx(0.8, abs=0.05)
    assert relay.up.lost == n - len(got)  # everything not lost got through


def test_main_stops_by_itself_with_duration():
    t0 = time.monotonic()
    rc = main(["--listen", "0", "--to", "127.0.0.1:9", "--loss", "5", "--delay", "10",
               "--jitter", "2", "--seed", "1", "--duration", "0.3"])
    assert rc == 0
    assert time.monotonic() - t0 < 2.0


def test_bad_arguments_exit_2():
    with pytest.raises(SystemExit) as e:
        main(["--listen", "0", "--to", "nowhere"])
    assert e.value.code == 2
    assert main(["--listen", "0", "--to", "127.0.0.1:9", "--loss", "150"]) == 2
