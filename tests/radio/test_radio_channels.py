"""A listener whose patch does not fix `channels` plays as many as the broadcast has:
once it hears the broadcast's announcement, its `out` cable is rebuilt to that count."""

import threading
import time

import numpy as np

from modular.engine import Engine
from modular.patch import from_dict
from tests.helpers import make_patch
from tests.radio.linkrun import free_udp_ports

VALUES = [0.5, -1.0, 2.0, 3.5, -4.25]


def test_listener_out_follows_the_broadcast_channel_count():
    (port,) = free_udp_ports(1)
    b = Engine(from_dict(make_patch(
        [("v", "core.Const", {f"v{i + 1}": v for i, v in enumerate(VALUES)} | {"channels": len(VALUES)}),
         ("bc", "radio.RadioBroadcast", {}, {"handle": "five", "listen": port, "token": "t"})],
        [("v.out", "bc.in")])))
    lis = Engine(from_dict(make_patch(
        [("radio", "radio.RadioClient", {}, {"handle": "five", "server": f"127.0.0.1:{port}"})])))
    assert lis.graph.module("radio").channels == 16  # before it has heard anything
    stop = threading.Event()

    def play(e):
        e.live = True
        period = e.block / e.sample_rate
        t = time.monotonic()
        while not stop.is_set():
            e.process(1)
            t += period
            time.sleep(max(0.0, t - time.monotonic()))

    with b, lis:
        threads = [threading.Thread(target=play, args=(e,)) for e in (b, lis)]
        for th in threads:
            th.start()
        try:
            end = time.monotonic() + 10
            while time.monotonic() < end and lis.graph.module("radio").channels != len(VALUES):
                lis.service()  # the housekeeping a real-time runner does
                time.sleep(0.02)
            time.sleep(0.5)
            out = lis.output("radio", "out").copy()
        finally:
            stop.set()
            for th in threads:
                th.join()
    assert lis.graph.module("radio").channels == len(VALUES)
    assert out.shape == (len(VALUES), lis.block)
    assert np.array_equal(out[:, -1], np.array(VALUES, np.float32)), out[:, -1]
