"""The UDP socket every modular peer sends from: room for bursts, and large datagrams
that either pass whole or not at all.

Path MTU probing (pmtu.py) raises a session's DATAGRAM size only when a PROBE of that
size came back. With Linux's default (IP_PMTUDISC_WANT), once an ICMP "fragmentation
needed" has lowered the route's MTU the kernel fragments larger datagrams itself, so a
probe would pass in fragments and every datagram after it would travel in two, lost when
either fragment is. IP_PMTUDISC_PROBE sets the don't-fragment bit and never fragments:
a datagram too large for the path is lost, which is what the probe asks.
"""

from __future__ import annotations

import socket
import sys

BUFFER_BYTES = 4 << 20
# Linux <linux/in.h>, <linux/in6.h>; Python's socket module does not always name them
_IP_MTU_DISCOVER, _IPV6_MTU_DISCOVER, _PMTUDISC_PROBE = 10, 23, 3


def udp_socket(family: int = socket.AF_INET, *, buffers: int | None = BUFFER_BYTES) -> socket.socket:
    """A UDP socket with send and receive buffers of ``buffers`` bytes (None: the
    system's) that never fragments what it sends."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    # a full receive buffer drops datagrams, which KCP turns into retransmission delays
    # (the kernel caps this at net.core.rmem_max)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF) if buffers else ():
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, buffers)
        except OSError:
            pass
    if sys.platform.startswith("linux"):
        level, opt = ((socket.IPPROTO_IPV6, _IPV6_MTU_DISCOVER) if family == socket.AF_INET6
                      else (socket.IPPROTO_IP, _IP_MTU_DISCOVER))
        try:
            sock.setsockopt(level, opt, _PMTUDISC_PROBE)
        except OSError:
            pass
    return sock
