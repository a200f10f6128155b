"""``modular server``: the radio server process — sockets in a NetThread, HTTP in a thread.

It prints one line when it is ready (``modular server: udp PORT tcp PORT http PORT``;
tests and scripts may start it with port 0 and read the ports from it), serves until
SIGINT or SIGTERM, says goodbye to every session (BYE SHUTDOWN) and prints its counters.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

from .client import DEFAULT_PORT
from .core import ServerConfig

DEFAULT_HTTP_PORT = DEFAULT_PORT + 1


def add_arguments(sp: argparse.ArgumentParser):
    sp.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="P",
                    help=f"UDP (KCP) and TCP port of the protocol (default {DEFAULT_PORT}; 0 picks one)")
    sp.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT, metavar="H",
                    help=f"port of GET /api/streams (default {DEFAULT_HTTP_PORT}; 0 picks one; -1 none)")
    sp.add_argument("--host", default="0.0.0.0", help="address to bind (default all; 127.0.0.1 for loopback only)")
    sp.add_argument("--no-tcp", action="store_true", help="no TCP fallback listener")
    sp.add_argument("--timeout", type=float, default=10.0, metavar="S", help="a session silent this long is gone")
    sp.add_argument("--grace", type=float, default=30.0, metavar="S",
                    help="a vanished broadcaster's handle (and its listeners) waits this long for it")
    sp.add_argument("--max-sessions", type=int, default=1024, metavar="N")
    sp.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    sp.add_argument("--realtime", action="store_true",
                    help="keep the network thread at SCHED_FIFO (default: ordinary priority)")
    sp.add_argument("--stats", action="store_true", help="print the counters as JSON every second")


def _ordinary_priority():
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def run(args) -> int:
    from modular.gcpace import GcPacer
    from modular.net.netthread import NetThread

    from .sockets import ServerTransport
    from .web import WebListener

    if args.timeout <= 1.0 or args.grace < 0 or args.max_sessions < 1:
        print("modular server: --timeout must be > 1 s, --grace >= 0, --max-sessions >= 1", file=sys.stderr)
        return 2
    config = ServerConfig(timeout=args.timeout, keepalive=min(1.0, args.timeout / 4), grace=args.grace,
                          max_sessions=args.max_sessions)
    try:
        transport = ServerTransport(args.port, args.host, tcp_port=None if args.no_tcp else args.port,
                                    config=config)
        web = WebListener(args.http_port, lambda: transport.published, args.host) if args.http_port >= 0 else None
    except OSError as exc:
        print(f"modular server: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    net = NetThread().start()
    if not args.realtime:
        net.call(_ordinary_priority)
    net.add(transport)
    if web is not None:
        web.start()
    print(f"modular server: udp {transport.port} tcp {transport.tcp_port or '-'} "
          f"http {web.port if web else '-'}", flush=True)
    t0 = time.monotonic()
    pacer = GcPacer()  # a full collection would stall every listener at once
    try:
        while not stop.wait(1.0 if args.stats else 0.2):
            pacer.tick(idle=not transport.published.get("sessions"))
            if args.stats:
                print(json.dumps({k: v for k, v in transport.published.items() if k != "handles"}), flush=True)
            if args.duration is not None and time.monotonic() - t0 >= args.duration:
                break
            if not net.is_alive() or net.errors:
                print(f"modular server: network thread failed: {net.errors}", file=sys.stderr)
                return 1
    finally:
        pacer.close()
        if web is not None:
            web.close()
        net.stop()
    snap = dict(transport.published)
    snap.pop("handles", None)
    print(f"modular server: stopped {json.dumps(snap)}", flush=True)
    return 0
