"""TCP (and KCP) through a real impaired IP path: two network namespaces joined by TUN
devices through the relay of modular/net/netns.py. Needs root; skipped without."""

import subprocess

import numpy as np
import pytest

from modular.net import netns, transport
from modular.net.endpoint import LinkEndpoint
from modular.net.netthread import NetThread
from tests.net.test_net_transport import B, SR, check_cv, run_audio

pytestmark = pytest.mark.skipif(netns.available() is not None, reason=str(netns.available()))


@pytest.mark.parametrize("kind", [transport.TCP, transport.UDP])
def test_cv_bit_for_bit_through_a_lossy_ip_path(kind):
    with netns.NetnsPath(loss=0.05, delay=0.01, jitter=0.002, seed=3) as path:
        server_net = NetThread().start()
        with path.enter("a"):
            client_net = NetThread().start()  # the client's sockets are made in its thread, in netns a
        try:
            a = LinkEndpoint(2, 2, B, SR, cv=True, max_depth=128)
            b = LinkEndpoint(2, 2, B, SR, cv=True, max_depth=128)
            with path.enter("b"):
                srv = transport.server(a, 0, transport=kind, host=path.addr["b"])
            server_net.add(srv)
            client_net.add(transport.client(b, path.addr["b"], srv.port, transport=kind))
            ya, yb = run_audio([a, b], 3.0)
        finally:
            client_net.stop()
            server_net.stop()
    counts = path.counts()
    assert counts["a_in"] > 500 and counts["b_in"] > 500, counts
    assert 0.02 < 1 - counts["a_out"] / counts["a_in"] < 0.09, counts  # ~5 % of the packets lost
    for y, e in ((ya, a), (yb, b)):
        pos = check_cv(y)
        assert np.all(np.diff(pos) == 1) and e.rx.lost == 0 and e.rx.late == 0, e.rx.stats()
    assert b.status["transport"] == kind and b.status["rtt_ms"] > 15  # 2 x 10 ms on the path
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert path.ns["a"] not in names and path.ns["b"] not in names, "namespaces removed"


def test_a_datagram_too_large_for_the_path_is_lost_whole_never_fragmented():
    """Path MTU probes (pmtu.py) must not pass in fragments: the peers' UDP socket sets the
    don't-fragment bit and refuses what does not fit, where a plain socket fragments."""
    import socket

    from modular.net.udpsock import udp_socket

    with netns.NetnsPath() as path:
        subprocess.run(["ip", "-n", path.ns["a"], "link", "set", "lo", "mtu", "1300"], check=True)
        with path.enter("a"):
            rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rx.bind(("127.0.0.1", 0))
            rx.settimeout(0.5)
            plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            probing = udp_socket(socket.AF_INET)
        try:
            plain.sendto(bytes(1452), rx.getsockname())
            assert len(rx.recv(65536)) == 1452  # through a 1300-byte link, in two fragments
            with pytest.raises(OSError):  # EMSGSIZE: the probe is lost, as on a real path
                probing.sendto(bytes(1452), rx.getsockname())
            probing.sendto(bytes(1272), rx.getsockname())  # 1272 + 28 bytes of headers fit
            assert len(rx.recv(65536)) == 1272
        finally:
            for s in (rx, plain, probing):
                s.close()
