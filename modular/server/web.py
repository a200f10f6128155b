"""The radio server's HTTP listener: the directory as JSON, for browsers and the GUI.

    GET /api/streams   {"server", "uptime_s", "sessions", "count", "handles": [{"handle", "tags",
                        "online", "listeners", "channels", "encoding", "streams", "uptime_s", ...}]}
    GET /api/stats     everything the server counts (relayed frames, rejected returns, ...)

The standard library's ThreadingHTTPServer in its own daemon thread is enough: it only
reads ``source()``, a snapshot dict the network thread replaces whole a few times a
second, so no lock is shared with the relay and a slow client cannot stall it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STREAM_KEYS = ("sessions", "uptime_s")


class _Handler(BaseHTTPRequestHandler):
    server_version = "modular-radio"
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        snap = self.server.source() or {}
        if path == "/api/streams":
            body = {"server": "modular", **{k: snap.get(k) for k in STREAM_KEYS},
                    "count": len(snap.get("handles", ())), "handles": snap.get("handles", [])}
        elif path == "/api/stats":
            body = {k: v for k, v in snap.items() if k != "handles"}
        elif path == "/":
            body = {"server": "modular", "endpoints": ["/api/streams", "/api/stats"]}
        else:
            self._send(404, {"error": "not found", "path": path})
            return
        self._send(200, body)

    def _send(self, status, body):
        data = json.dumps(body, indent=1).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # quiet: a server's stdout is for its own report
        pass


class WebListener:
    """``WebListener(port, source)``: serves ``source()`` (a dict) until ``close()``."""

    def __init__(self, port: int, source, host: str = "0.0.0.0"):
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.source = source
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="modular-http", daemon=True)

    def start(self) -> WebListener:
        self.thread.start()
        return self

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
