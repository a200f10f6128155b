"""The one network thread of a process: a selector loop that runs every transport.

Transports are sans-I/O cores (udp.py, session.py) plus their sockets; the loop reads
sockets as they become readable, ticks each transport at its deadline (at least every
``POLL`` seconds), and writes what the cores produce. Other threads talk to it only
through ``call`` (queued, run in the loop) and the endpoints' rings; they never wait on
it. The audio thread, having queued a block to send, calls ``kick()``: one write to an
eventfd that never blocks, so the block leaves within the loop's wake-up time (tens of
microseconds) instead of at the next poll.
"""

from __future__ import annotations

import collections
import os
import selectors
import socket
import threading
import time

POLL = 0.005  # seconds: the loop looks at every transport at least this often
# SCHED_FIFO priority of the loop, when allowed: above ordinary processes, below the audio
# thread (modular/io/realtime.py: clock 5, housekeeping 1; JACK's clients run higher).
# Under load an ordinary-priority thread is preempted while it holds the GIL, which
# stalls the audio callback and delays what the network must send; the loop sleeps in
# select() between short bursts of work, so it never hogs a core.
PRIORITY = 3


class NetThread:
    _shared: NetThread | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> NetThread:
        """The process's network thread, started on first use."""
        with cls._shared_lock:
            if cls._shared is None or not cls._shared.is_alive():
                cls._shared = cls().start()
            return cls._shared

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._kick_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.selector.register(self._kick_fd, selectors.EVENT_READ, "kick")
        self._kicked = False
        self._calls = collections.deque()
        self.transports: list = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # a transport that raised is closed and noted here

    def start(self) -> NetThread:
        self._thread = threading.Thread(target=self._run, name="modular-net", daemon=True)
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def call(self, fn, *args):
        """Run ``fn(*args)`` in the network thread, soon."""
        self._calls.append((fn, args))
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already awake, or shutting down

    def kick(self):
        """Audio thread: a block is queued to send; wake the loop now. Never blocks, and
        costs a system call only for the first kick since the loop last looked."""
        if not self._kicked:
            self._kicked = True
            try:
                os.eventfd_write(self._kick_fd, 1)
            except OSError:
                pass  # closed: the thread is stopping

    def add(self, transport):
        self.call(self._add, transport)
        return transport

    def remove(self, transport):
        self.call(self._remove, transport)

    def _add(self, transport):
        self.transports.append(transport)
        transport.attach(self)

    def _remove(self, transport):
        if transport in self.transports:
            self.transports.remove(transport)
            transport.detach()

    def stop(self):
        self._stop.set()
        self.call(lambda: None)
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for t in list(self.transports):
            t.detach()
        self.transports.clear()
        self.selector.close()
        os.close(self._kick_fd)
        self._wake_r.close()
        self._wake_w.close()

    def _run(self):
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(PRIORITY))  # this thread only (Linux)
        except (AttributeError, OSError):
            pass
        while not self._stop.is_set():
            now = self.clock()
            deadline = min((t.next_deadline for t in self.transports), default=now + 0.1)
            timeout = max(0.0, min(deadline - now, POLL if self.transports else 0.1))
            for key, _ in self.selector.select(timeout):
                if key.data == "kick":
                    try:
                        os.eventfd_read(self._kick_fd)
                    except OSError:
                        pass
                    continue
                if key.data is None:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                    continue
                transport, sock = key.data
                self._guard(transport, transport.readable, sock, self.clock())
            while self._calls:
                fn, args = self._calls.popleft()
                fn(*args)
            # before servicing: a block queued from here on kicks again; one queued before
            # is sent by the service below
            self._kicked = False
            now = self.clock()
            for t in list(self.transports):
                self._guard(t, t.service, now)

    def _guard(self, transport, fn, *args):
        try:
            fn(*args)
        except Exception as exc:  # one broken transport must not stop the others
            self.errors.append(f"{type(transport).__name__}: {type(exc).__name__}: {exc}")
            if transport in self.transports:
                self.transports.remove(transport)
            try:
                transport.detach()
            except Exception:
                pass
