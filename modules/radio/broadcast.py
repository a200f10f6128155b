"""radio.RadioBroadcast, radio.RadioClient and radio.RadioReturn: broadcast a CV stream
under a handle; listeners play it, patch voices on it and send response streams back,
which the broadcaster plays in musical sync (docs/DESIGN.md, Musical sync).

- **RadioBroadcast** sends its poly input ``in`` (1-16 channels) as one stream, every
  block stamped with its timeline position: the engine frame of its first sample.
  Through a radio server (data ``server``, host:port) or directly (data ``listen``: the
  module then hosts a radio server of its own on that port and listeners connect to it).
  Data ``frame`` gathers that many samples (whole blocks) into each network frame
  (gather.py): fewer, larger frames for the server to relay, a little later. By default
  a frame is as many whole blocks as fit 256 samples (``default_frame``).
- **RadioClient** (a listener) subscribes to a handle, plays the broadcast through a
  jitter buffer (``out``) and sends its ``return`` input back, each block stamped with
  the broadcast position it answers. The chain from ``out`` to ``return`` runs before
  the client in the block (``return`` depends on it; cables out of a network module are
  not dependencies), so it answers the block the client played one block earlier: that
  block's position is the stamp. Returns go in frames as long as the broadcast's, up to
  what fits one datagram (``return_frame_cap``), stamped with their first block's position.
- **RadioReturn** (beside a RadioBroadcast in the same patch) plays each listener's
  response at broadcaster time t + L, t being the position it answers: ``returns`` has
  one channel per listener slot, ``mix`` their sum, ``latency`` is L (1 V per 10 ms, so
  it patches into RadioDelay's ``latency``). L is automatic (the measured round trip of
  the returns, broadcast -> listener buffer -> return, plus a margin that covers one
  resend of a lost frame and the spread seen; held steady and
  raised only when a listener needs more) or manual (param ``latency`` ms + CV). A
  response that arrives after its time is counted as late and never played.

Nothing here waits on the network in the audio thread: the network thread (one per
process, modular/net/netthread.py) runs the RadioPeer (modular/server/client.py) and
meets the audio thread in preallocated SPSC rings and jitter buffers; the host hooks
(``before_block``/``after_block``) only move blocks between those and the module's
memory.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import time
from pathlib import Path

import numpy as np

from modular.module import CTX_SAMPLE_RATE, MAX_CHANNELS, Input, Module, Output, Param, kernel, row
from modular.net import kernels as jk
from modular.net import wire
from modular.net.jitter import JitterBuffer
from modular.net.netthread import NetThread
from modular.net.spsc import BlockRing, touched

from .gather import AnsweredSpan, FrameGatherer
from .link import AUTO_MAX_DEPTH, MAX_DEPTH, STOP_WAIT, TRIGGER_SECONDS, _warm_up

VOLT_MS = 10.0  # latency outputs: 1 V per 10 ms
ENCODINGS = (wire.Encoding.FLOAT32, wire.Encoding.INT16, wire.Encoding.INT8)
META = 8
BROADCAST_STREAM = 1
RETURN_STREAM = 1
DEFAULT_FRAME = 256  # samples: 5.3 ms at 48 kHz
RETURN_STALE_S = 0.5  # a listener drops return audio its network thread held longer than this


# ---------------------------------------------------------------- helpers


def _config_dir() -> Path:
    return Path(os.environ.get("MODULAR_CONFIG_DIR") or Path.home() / ".config" / "modular")


def handle_token(handle: str) -> bytes:
    """The token that makes ``handle`` ours: kept per user, the same across restarts."""
    path = _config_dir() / "radio-tokens.json"
    try:
        tokens = json.loads(path.read_text())
    except (OSError, ValueError):
        tokens = {}
    if handle not in tokens:
        tokens[handle] = secrets.token_hex(16)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(tokens, indent=1))
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: this run's token still works
    return tokens[handle].encode()


def _check_server(data, key="server"):
    from modular.server.client import parse_address

    v = data[key]
    if not isinstance(v, str):
        raise ValueError(f"{key!r} must be 'host:port', got {v!r}")
    parse_address(v)


def _check_handle(data):
    h = data.get("handle")
    if not isinstance(h, str) or not h or len(h.encode()) > 255:
        raise ValueError(f"'handle' must be a non-empty name (up to 255 bytes), got {h!r}")


def _volts(ms: float) -> float:
    return 0.0 if ms != ms else ms / VOLT_MS


def _net_stop(module):
    t = getattr(module, "_transport", None)
    extra = getattr(module, "_server_transport", None)
    if t is None:
        return
    module._transport = None
    net = module._net
    net.remove(t)
    end = time.monotonic() + STOP_WAIT  # let the BYE go out before the process ends
    while t in net.transports and time.monotonic() < end:
        time.sleep(0.005)
    if extra is not None:
        module._server_transport = None
        net.remove(extra)


# ---------------------------------------------------------------- RadioBroadcast

B_LISTENERS, B_LATENCY = range(2)


def default_frame(block: int) -> int:
    """Samples per broadcast frame when the patch gives no ``frame``: the whole blocks that
    fit DEFAULT_FRAME samples, at least one block.

    The server handles every frame once per listener, so its CPU goes with the frames per
    second: at frames of 256 it relays to 100 listeners within a core, at frames of 64
    (one block) it does not (benchmarks/radio_fanout.py). A listener waits up to
    frame - block samples longer for a frame's first block (4 ms at block 64, 48 kHz),
    little beside the return latency L a broadcast's returns need anyway.
    """
    return max(block, DEFAULT_FRAME // block * block)


@kernel
def broadcast_kernel(inp, listeners, latency, p0, p1, state, mem, nch, ctx):
    n = listeners.shape[1]
    for c in range(nch):
        r = row(inp, c)
        for i in range(n):
            mem[c * n + i] = inp[r, i]
    meta = MAX_CHANNELS * n
    for i in range(n):
        listeners[0, i] = mem[meta + 0]
        latency[0, i] = mem[meta + 1]


class RadioBroadcast(Module):
    model = "RadioBroadcast"
    title = "Radio Broadcast"
    description = ("Broadcasts its poly input under a handle (data: handle, tags, server host:port or listen port); "
                   "every block stamped with its timeline position")
    hp = 8
    tags = ("network",)
    params = (Param("encoding", 0, 2, 0, label="Encoding", options=("float32", "16-bit", "8-bit")),)
    inputs = (Input("in", "In (poly)"),)
    outputs = (Output("listeners", "Listeners (1 V each)"), Output("latency", "Latency to server (1 V/10 ms)"))
    kernel = broadcast_kernel
    finite_outputs = True
    has_host_io = True
    outputs_lead_inputs = True
    data_keys = ("handle", "tags", "server", "listen", "token", "name", "frame")

    @classmethod
    def validate_data(cls, data):
        super().validate_data(data)
        _check_handle(data)
        f = data.get("frame")
        if f is not None and (isinstance(f, bool) or not isinstance(f, int) or not 1 <= f <= wire.MAX_FRAMES):
            raise ValueError(f"'frame' must be the samples per network frame, 1..{wire.MAX_FRAMES} "
                             f"(a multiple of the block size), got {f!r}")
        if ("server" in data) == ("listen" in data):
            raise ValueError("give exactly one of 'server' (host:port of a radio server) or 'listen' "
                             "(a port to take listeners on directly)")
        if "server" in data:
            _check_server(data)
        else:
            p = data["listen"]
            if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 65535:
                raise ValueError(f"'listen' must be a port number 0..65535, got {p!r}")
        tags = data.get("tags", [])
        if not isinstance(tags, list) or len(tags) > 32 or not all(isinstance(t, str) and t for t in tags):
            raise ValueError(f"'tags' must be a list of up to 32 names, got {tags!r}")
        for key in ("token", "name"):
            if key in data and not isinstance(data[key], str):
                raise ValueError(f"{key!r} must be a string")

    def output_channels(self, index, nch):
        return 1

    def memory_size(self, sample_rate, block):
        return MAX_CHANNELS * block + META

    def init(self, sample_rate, block):
        self.sample_rate, self.block = int(sample_rate), int(block)
        self._views()
        self.returns_sink = None  # a RadioReturn of the same patch registers itself here
        self.listeners = 0
        self.listeners_peak = 0  # the most at once (a report after they left says 0 listeners)

    def _views(self):
        b = self.block
        self._mem = self.mem
        self._tx = self.mem[: MAX_CHANNELS * b].reshape(MAX_CHANNELS, b)
        self._meta = self.mem[MAX_CHANNELS * b: MAX_CHANNELS * b + META]

    @property
    def encoding(self) -> wire.Encoding:
        return ENCODINGS[int(self.param_values["encoding"])]

    def start(self, engine):
        from modular.patch import PatchError
        from modular.server.client import RadioTransport, StreamSpec

        self.error = ""
        self.sent = 0
        frame = self.data.get("frame", default_frame(self.block))
        if frame % self.block:
            raise PatchError(f"module {self.id!r}: data 'frame' ({frame}) must be a multiple of the block size "
                             f"({self.block})")
        # blocks gathered into one network frame: a listener waits that much longer for
        # the first of them, and the server handles a frame per listener that many times less often
        per_frame = frame // self.block
        self.ring = BlockRing(max(16, 256 // per_frame), self.channels, frame)  # 256 blocks' worth
        self._gather = FrameGatherer(self.ring, self.block, per_frame)
        _warm_up(self.block, self.sample_rate, True)  # the returns come with FEC: load it now
        self._net = NetThread.shared()
        self._server_transport = None
        enc = self.encoding
        spec = StreamSpec(BROADCAST_STREAM, channels=self.channels, cv=enc == wire.Encoding.FLOAT32, encoding=enc,
                          sample_rate=self.sample_rate, name=self.data["handle"])
        self._spec = spec
        handle = self.data["handle"]
        token = self.data["token"].encode() if "token" in self.data else handle_token(handle)
        tags = tuple(self.data.get("tags", ()))
        try:
            if "listen" in self.data:  # direct: this module hosts the radio server its listeners reach
                from modular.server.sockets import ServerTransport

                st = ServerTransport(self.data["listen"], "0.0.0.0")
                self.port = st.port
                self._server_transport = self._net.add(st)
                address = ("127.0.0.1", st.port)
            else:
                address = self.data["server"]
            t = RadioTransport(address, name=self.data.get("name", handle), sample_rate=self.sample_rate,
                               block=self.block, setup=lambda peer, now: peer.register(handle, token, tags, (spec,), now),
                               on_service=self._pump, on_event=self._event)
        except (OSError, ValueError) as exc:
            raise PatchError(f"module {self.id!r}: {exc}") from None
        self._transport = self._status_t = self._net.add(t)

    def stop(self):
        _net_stop(self)

    # network thread
    def _pump(self, peer, now):
        ring = self.ring
        while True:
            slot = ring.peek()
            if slot < 0:
                return
            n = int(ring.frames[slot])
            if peer.send_broadcast(BROADCAST_STREAM, int(ring.position[slot]), ring.data[slot, :, :n], now):
                self.sent += 1
            ring.release()

    def _event(self, ev):
        from modular.server import client as rc

        t = type(ev)
        if t is rc.ReturnFrame:
            sink = self.returns_sink
            if sink is not None:
                sink.offer(ev)
        elif t is rc.ListenerCount:
            self.listeners = ev.listeners
            self.listeners_peak = max(self.listeners_peak, ev.listeners)
        elif t is rc.StreamAnnounced and ev.slot >= 0:
            sink = self.returns_sink
            if sink is not None:
                sink.announce(ev)
        elif t is rc.Refused:
            self.error = f"{ev.what} {ev.handle}: {ev.code.name} {ev.reason}"
        elif t is rc.Registered:
            self.error = ""

    # audio thread
    def before_block(self, frame):
        if self.mem is not self._mem:
            self._views()
        t = getattr(self, "_transport", None)
        if t is None:
            return
        self._meta[B_LISTENERS] = self.listeners
        self._meta[B_LATENCY] = _volts(0.5 * t.status.get("rtt_ms", math.nan))

    def after_block(self, frame):
        if getattr(self, "_transport", None) is None:
            return
        if self._gather.push(frame, self._tx[: self.channels]):
            self._net.kick()  # send it now, not at the network thread's next poll

    def status(self):
        t = getattr(self, "_status_t", None)  # still there after stop(), for the last report
        if t is None:
            return {}
        st = t.status

        def r(key):
            v = st.get(key)
            return round(v, 2) if isinstance(v, float) and v == v else v

        out = {"handle": self.data["handle"], "connected": bool(st.get("connected")),
               "registered": bool(st.get("registered")), "listeners": self.listeners,
               "listeners_peak": self.listeners_peak, "channels": self.channels,
               "frame": self._gather.per_frame * self.block,
               "encoding": self.encoding.name.lower(), "rtt_ms": r("rtt_ms"), "jitter_ms": r("jitter_ms"),
               "sent": self.sent, "overflows": self.ring.overflows, "reconnects": st.get("reconnects", 0),
               "mtu": st.get("mtu")}
        if "port" in self.__dict__:  # listening directly
            out["port"] = self.port
        if self.error:
            out["error"] = self.error
        return out


# ---------------------------------------------------------------- RadioClient

LAT, FILL, UNDERRUN, DEPTH, MODE = range(5)


@kernel
def radio_client_kernel(ret, buffer_cv, out, latency, buffer, underrun, p0, p1, state, mem, nch, ctx):
    n = out.shape[1]
    rx = MAX_CHANNELS * n
    meta = 2 * MAX_CHANNELS * n
    for c in range(ret.shape[0]):
        for i in range(n):
            mem[c * n + i] = ret[c, i]
    for c in range(nch):
        for i in range(n):
            out[c, i] = mem[rx + c * n + i]
    if mem[meta + UNDERRUN] > 0.5:
        mem[meta + UNDERRUN] = 0.0
        state[0] = math.floor(TRIGGER_SECONDS * ctx[CTX_SAMPLE_RATE] + 0.5)
    lat = mem[meta + LAT]
    fill = mem[meta + FILL]
    for i in range(n):
        latency[0, i] = lat
        buffer[0, i] = fill
        if state[0] > 0:
            underrun[0, i] = 10.0
            state[0] -= 1
        else:
            underrun[0, i] = 0.0
    mem[meta + DEPTH] = p1[0] + buffer_cv[0, n - 1]
    mem[meta + MODE] = p1[1]


RETURN_FRAME_BYTES = 1024  # a return frame's float32 samples fit one datagram with its headers


def return_frame_cap(channels: int, block: int) -> int:
    """The longest return frame, in samples: whole blocks, as many as fit a datagram."""
    return max(block, RETURN_FRAME_BYTES // (4 * channels) // block * block)


class RadioClient(Module):
    model = "RadioClient"
    title = "Radio Client"
    description = ("Listens to a handle (data: handle, server host:port or a broadcaster's direct address, "
                   "channels: fixed, else those of the broadcast); plays it through a jitter buffer and sends "
                   "its return input back in sync")
    hp = 8
    tags = ("network",)
    params = (
        Param("buffer", 0.0, MAX_DEPTH, 2.0, unit="blocks", label="Buffer (fixed mode)"),
        Param("mode", 0, 1, 1, label="Buffer mode", options=("fixed", "auto")),
    )
    inputs = (Input("return", "Return (poly)"), Input("buffer_cv", "Buffer CV (1 V/block)"))
    outputs = (Output("out", "Out (poly)"), Output("latency", "Latency (1 V/10 ms)"),
               Output("buffer", "Buffer fill (1 V/block)"), Output("underrun", "Underrun"))
    kernel = radio_client_kernel
    state_fixed = 1
    finite_outputs = True
    has_host_io = True
    outputs_lead_inputs = True
    data_keys = ("handle", "server", "channels", "name")

    @classmethod
    def validate_data(cls, data):
        super().validate_data(data)
        _check_handle(data)
        if "server" not in data:
            raise ValueError("missing key 'server' (host:port of a radio server, or of a broadcaster's 'listen' port)")
        _check_server(data)
        ch = data.get("channels", MAX_CHANNELS)
        if isinstance(ch, bool) or not isinstance(ch, int) or not 1 <= ch <= MAX_CHANNELS:
            raise ValueError(f"'channels' must be 1..16 (channels of 'out'), got {ch!r}")

    def channel_count(self, input_channels):
        self.return_channels = input_channels[0]  # 0: nothing patched into return, nothing sent back
        if "channels" in self.data:
            return int(self.data["channels"])
        # follow the broadcast: as many channels as it announced, once heard (service()
        # asks the engine to rebuild then); all 16 until then
        return getattr(self, "broadcast_channels", 0) or MAX_CHANNELS

    def output_channels(self, index, nch):
        return nch if index == 0 else 1

    def memory_size(self, sample_rate, block):
        return 2 * MAX_CHANNELS * block + META

    def init(self, sample_rate, block):
        self.sample_rate, self.block = int(sample_rate), int(block)
        self._views()

    def _views(self):
        b = self.block
        self._mem = self.mem
        self._tx = self.mem[: MAX_CHANNELS * b].reshape(MAX_CHANNELS, b)
        self._rx = self.mem[MAX_CHANNELS * b: 2 * MAX_CHANNELS * b].reshape(MAX_CHANNELS, b)
        self._meta = self.mem[2 * MAX_CHANNELS * b: 2 * MAX_CHANNELS * b + META]

    def start(self, engine):
        from modular.patch import PatchError
        from modular.server.client import RadioTransport, StreamSpec

        _warm_up(self.block, self.sample_rate, True)
        self._engine = engine
        self.jb = JitterBuffer(MAX_CHANNELS, self.block, self.sample_rate, cv=True,
                               mode="auto" if self.param_values["mode"] >= 0.5 else "fixed",
                               depth=self.param_values["buffer"], max_depth=AUTO_MAX_DEPTH, slots=512)
        rc = getattr(self, "return_channels", 0)
        # returns go in frames as long as the broadcast's (up to what fits a datagram):
        # a broadcaster that gathers blocks to spare the server gets its returns gathered too
        self._return_cap = return_frame_cap(max(rc, 1), self.block)
        self.ring = BlockRing(256, max(rc, 1), self._return_cap)
        self._gather = FrameGatherer(self.ring, self.block)
        self._broadcast_frame = 0  # samples per broadcast frame, as last heard (network thread)
        # The broadcaster plays a return L after the position it answers (L is typically
        # 50-200 ms, at most 2 s): a network thread that was held up for a few blocks
        # still delivers in time, so only a backlog older than half a second is dropped.
        self._stale_blocks = min(self.ring.slots - 8, int(RETURN_STALE_S * self.sample_rate / self.block))
        self.stream = None  # the broadcast stream played: the first announced (or seen)
        self.broadcast_channels = 0
        self.sent = self.dropped = 0
        self._underruns = 0
        self._prev_pos = self._cur_pos = None
        self._prev_real = self._cur_real = self.block
        self._answered = AnsweredSpan(self.jb.capacity)
        self._resyncs = 0
        self._epoch = self._seen_epoch = 0  # bumped by the network thread: the audio thread resets its buffer
        self.error = ""
        handle = self.data["handle"]
        returns = (StreamSpec(RETURN_STREAM, channels=rc, cv=False, sample_rate=self.sample_rate,
                              answers=BROADCAST_STREAM),) if rc else ()
        self._net = NetThread.shared()
        try:
            t = RadioTransport(self.data["server"], name=self.data.get("name") or f"listener-{os.getpid()}", sample_rate=self.sample_rate,
                               block=self.block, setup=lambda peer, now: peer.subscribe(handle, returns, now),
                               on_service=self._pump, on_event=self._event)
        except (OSError, ValueError) as exc:
            raise PatchError(f"module {self.id!r}: {exc}") from None
        self._transport = self._status_t = self._net.add(t)

    def stop(self):
        _net_stop(self)

    def service(self, frame):
        # housekeeping thread: the broadcast's channel count arrived and `out` has another
        engine = getattr(self, "_engine", None)
        heard = self.broadcast_channels
        if engine is not None and "channels" not in self.data and heard and heard != self.channels \
                and heard != getattr(self, "_rebuilt_for", None):
            self._rebuilt_for = heard  # once per change, even if the rebuild fails
            try:
                engine.rebuild()
            except Exception as exc:  # the running patch goes on as it was
                self.error = f"could not follow the broadcast's {heard} channels: {exc}"

    # network thread
    def _pump(self, peer, now):
        ring = self.ring
        while True:
            slot = ring.peek()
            if slot < 0:
                return
            n = int(ring.frames[slot])
            if len(ring) * max(1, n // self.block) > self._stale_blocks:  # it would reach the broadcaster after its L anyway
                self.dropped += 1
            else:
                if peer.send_return(RETURN_STREAM, int(ring.position[slot]), ring.data[slot, :, :n], now):
                    self.sent += 1
            ring.release()

    def _event(self, ev):
        from modular.server import client as rc

        t = type(ev)
        if t is rc.BroadcastFrame:
            f = ev.frame
            if self.stream is None:
                self.stream = f.stream
            if f.stream == self.stream:
                self.jb.offer(f, ev.arrival)
                self._broadcast_frame = f.frames
        elif t is rc.StreamAnnounced and ev.slot < 0:
            if self.stream is None or self.stream == ev.info.stream:
                self.stream = ev.info.stream
                self.broadcast_channels = ev.info.channels
                self.jb.cv = ev.info.kind == wire.STREAM_CV
        elif t is rc.Refused:
            self.error = f"{ev.what} {ev.handle}: {ev.code.name} {ev.reason}"
        elif t is rc.Subscribed:
            self.error = ""
            self._epoch += 1  # (again) subscribed: play from the stream's live edge
        elif t is rc.Disconnected or t is rc.HandleGone:
            # the server (or the broadcaster) is gone: stop waiting for the frames that
            # were on their way, hold the CV; a stream that comes back starts afresh
            # instead of being played as late as the outage was long
            self._epoch += 1

    # audio thread
    def before_block(self, frame):
        if self.mem is not self._mem:
            self._views()
        t = getattr(self, "_transport", None)
        if t is None:
            return
        jb = self.jb
        renewed = self._epoch != self._seen_epoch
        if renewed:
            self._seen_epoch = self._epoch
            jb.reset()
        if renewed or jb.resyncs != self._resyncs:  # a new timeline: nothing of it answered yet
            self._resyncs = jb.resyncs
            self._prev_pos = None
            self._answered.reset()
            self._gather.discard()  # nor is anything gathered of the old one still worth sending
        stalls = jb.stalls
        missing = jb.read(self._rx)
        # where this block came from on the broadcast's timeline (after any change of
        # depth the read made): the position the return will answer; and how much of it
        # played its positions for real (a stalled read holds the CV for the rest)
        self._cur_pos = jb.played if jb.played >= 0 else None
        self._cur_real = self.block - missing if jb.stalls != stalls else self.block
        meta = self._meta
        one_way = t.status.get("rtt_ms", math.nan) * 0.5
        buffered = jb.depth * self.block * 1000.0 / self.sample_rate
        meta[LAT] = _volts(one_way + buffered)
        meta[FILL] = jb.fill
        if jb.underruns != self._underruns:
            self._underruns = jb.underruns
            meta[UNDERRUN] = 1.0

    def after_block(self, frame):
        if getattr(self, "_transport", None) is None:
            return
        rc = getattr(self, "return_channels", 0)
        # the chain into `return` ran before this module: it answered last block's `out`
        if rc and self._prev_pos is not None:
            # positions the buffer played again (it deepened) keep their first answer
            skip = self._answered.fresh(self._prev_pos, self.block, self._prev_real)
            if skip < self.block:
                g = self._gather
                g.per_frame = max(1, min(self._broadcast_frame, self._return_cap) // self.block)
                if g.push(self._prev_pos + skip, self._tx[:rc, skip:] if skip else self._tx[:rc]):
                    self._net.kick()
        self._prev_pos, self._prev_real = self._cur_pos, self._cur_real
        meta = self._meta
        self.jb.set_depth(float(meta[DEPTH]))
        self.jb.set_mode("auto" if meta[MODE] >= 0.5 else "fixed")

    def status(self):
        t = getattr(self, "_status_t", None)  # still there after stop(), for the last report
        if t is None:
            return {}
        st, jb = t.status, self.jb
        bms = self.block * 1000.0 / self.sample_rate

        def r(v):
            return round(v, 2) if isinstance(v, float) and v == v else v

        out = {"handle": self.data["handle"], "connected": bool(st.get("connected")),
               "subscribed": bool(st.get("subscribed")), "channels": self.broadcast_channels,
               "rtt_ms": r(st.get("rtt_ms")), "jitter_ms": r(st.get("jitter_ms")),
               "latency_ms": round(float(self._meta[LAT]) * VOLT_MS, 2), "mode": jb.mode,
               "depth": r(jb.depth), "depth_ms": r(jb.depth * bms), "fill": r(jb.fill), "underruns": jb.underruns,
               "stalls": jb.stalls, "late": jb.late, "lost": jb.lost, "frames": jb.frames_in,
               "returns_sent": self.sent, "returns_dropped": self.dropped + self.ring.overflows,
               "return_frame": self._gather.per_frame * self.block,
               "slot": st.get("slot", -1), "return_heard": st.get("return_heard", True),
               "reconnects": st.get("reconnects", 0), "mtu": st.get("mtu")}
        if self.error:
            out["error"] = self.error
        return out


# ---------------------------------------------------------------- RadioReturn

SLOTS = 16
RING = 1 << 17  # samples per slot: L up to MAX_L plus what arrives early
MAX_L_SECONDS = 2.0
R_LAT, R_MANUAL, R_MODE = range(3)


@kernel
def radio_return_kernel(latency_cv, returns, mix, latency, p0, p1, state, mem, nch, ctx):
    n = mix.shape[1]
    meta = SLOTS * n
    for i in range(n):
        mix[0, i] = 0.0
    for c in range(SLOTS):
        for i in range(n):
            v = mem[c * n + i]
            if returns.shape[0] > c:
                returns[c, i] = v
            mix[0, i] += v
    lat = mem[meta + R_LAT]
    for i in range(n):
        latency[0, i] = lat
    mem[meta + R_MANUAL] = (p1[1] * 0.001 + latency_cv[0, n - 1] * VOLT_MS * 0.001) * ctx[CTX_SAMPLE_RATE]
    mem[meta + R_MODE] = p1[0]


class _Slot:
    __slots__ = ("name", "frames", "late", "lost", "underruns", "need_min", "peak", "peak_prev", "heard",
                 "newest_end", "quiet_end", "in_gap", "started", "first")

    def __init__(self):
        self.reset()

    def reset(self, name=""):
        self.name = name
        self.frames = self.late = self.lost = self.underruns = 0
        self.need_min = 1 << 62
        self.peak = self.peak_prev = -(1 << 62)
        self.heard = -(1 << 62)  # engine frame of the last arrival
        self.newest_end = 0
        self.quiet_end = 0
        self.in_gap = False
        self.started = False
        self.first = 0  # engine frame of the first arrival


class RadioReturn(Module):
    model = "RadioReturn"
    title = "Radio Return"
    description = ("The listeners' responses of a RadioBroadcast (data: broadcast), each played at t + L: "
                   "returns (one channel per slot), mix, latency L (auto or param + CV)")
    hp = 8
    tags = ("network",)
    params = (
        Param("mode", 0, 1, 1, label="Latency mode", options=("manual", "auto")),
        Param("latency", 0.0, MAX_L_SECONDS * 1000.0, 100.0, unit="ms", label="Latency (manual)"),
        Param("margin", 0.0, 200.0, 10.0, unit="ms", label="Auto margin"),
    )
    inputs = (Input("latency_cv", "Latency CV (1 V/10 ms)"),)
    outputs = (Output("returns", "Returns (one channel per slot)"), Output("mix", "Mix"),
               Output("latency", "Latency L (1 V/10 ms)"))
    kernel = radio_return_kernel
    finite_outputs = True
    skips_unconnected = False
    has_host_io = True
    data_keys = ("broadcast",)

    @classmethod
    def validate_data(cls, data):
        super().validate_data(data)
        if "broadcast" in data and (not isinstance(data["broadcast"], str) or not data["broadcast"]):
            raise ValueError(f"'broadcast' must be the id of a RadioBroadcast, got {data['broadcast']!r}")

    def channel_count(self, input_channels):
        return SLOTS

    def output_channels(self, index, nch):
        return SLOTS if index == 0 else 1

    def memory_size(self, sample_rate, block):
        return SLOTS * block + META

    def init(self, sample_rate, block):
        self.sample_rate, self.block = int(sample_rate), int(block)
        self._views()
        self.L = 0  # samples
        self.raises = 0
        self.locked = False
        self.broadcast = None
        self.slots = [_Slot() for _ in range(SLOTS)]

    def _views(self):
        b = self.block
        self._mem = self.mem
        self._out = self.mem[: SLOTS * b].reshape(SLOTS, b)
        self._meta = self.mem[SLOTS * b: SLOTS * b + META]

    def start(self, engine):
        from modular.patch import PatchError

        from . import broadcast as me

        cands = [m for m in engine.graph.modules if isinstance(m, me.RadioBroadcast)]
        want = self.data.get("broadcast")
        if want is not None:
            cands = [m for m in cands if m.id == want]
        if len(cands) != 1:
            raise PatchError(f"module {self.id!r}: " + (f"no RadioBroadcast {want!r} in the patch" if want else
                             "needs exactly one RadioBroadcast in the patch, or data 'broadcast' naming it"))
        self.inbox = BlockRing(1024, 1, wire.MAX_FRAMES)
        self._ring = touched((SLOTS, RING), np.float32)
        self._stamp = touched((SLOTS, RING), np.int64)
        self._stamp.fill(jk.EMPTY)
        self._held = np.zeros((SLOTS, 1), np.float32)
        self._conceal = np.full((SLOTS, 1), 1 << 30, np.int64)
        self._decay = np.float32(math.exp(-1.0 / (0.002 * self.sample_rate)))
        self._recover = max(1, int(0.001 * self.sample_rate))
        self._window = self.sample_rate  # peak windows of a second
        self._next_window = 0
        # what a slot must have been heard for before the auto L is set from it: half a
        # second (in samples, whatever the frame length: returns come in frames as long
        # as the broadcast's) and at least 8 frames
        self._warm = int(0.5 * self.sample_rate)
        self.max_L = int(MAX_L_SECONDS * self.sample_rate)
        self.rejected = 0
        # compile the play/store paths now, not in the first real-time block
        jk.play(self._ring[0:1], self._stamp[0], RING - 1, 0, self._out[0:1], self._held[0], self._conceal[0], False,
                self._decay, self._recover, 0)
        jk.store(self._ring[0:1], self._stamp[0], RING - 1, 0, self.inbox.data[0], 1, 1, 1 << 40)
        self._stamp.fill(jk.EMPTY)
        self.broadcast = cands[0]
        cands[0].returns_sink = self

    def stop(self):
        if self.broadcast is not None and self.broadcast.returns_sink is self:
            self.broadcast.returns_sink = None

    # network thread (called by the RadioBroadcast's transport)
    def offer(self, ev):
        if ev.index != 0 or not 0 <= ev.slot < SLOTS:
            self.rejected += 1
            return
        f = ev.frame
        slot = self.inbox.reserve()
        if slot < 0:
            return
        n = min(f.frames, self.inbox.max_frames)
        s = f.samples()
        self.inbox.data[slot, 0, :n] = s[0, :n] if s.shape[0] == 1 else s[:, :n].sum(axis=0)
        self.inbox.publish(slot, f.position, n, ev.slot, ev.arrival)

    def announce(self, ev):
        if ev.index == 0 and 0 <= ev.slot < SLOTS:
            self._pending_names = getattr(self, "_pending_names", {})
            self._pending_names[ev.slot] = ev.info.name

    # audio thread
    def _quantize(self, samples: int) -> int:
        b = self.block
        return min(self.max_L, -(-samples // b) * b)

    def _margin(self, slot: _Slot) -> int:
        # On top of the round trip seen: two blocks, the margin param, half the spread
        # seen, and one resend's worth (the least round trip, up to 100 ms): a CV frame
        # lost on its way to the listener costs about that much, its buffer waits for it
        # and answers that much later from then on, and L is raised (with a short fade)
        # only if the margin did not cover it.
        spread = max(0, max(slot.peak, slot.peak_prev) - slot.need_min)
        resend = min(max(slot.need_min, 0), int(0.1 * self.sample_rate))
        return 2 * self.block + int(float(self._meta_margin) * 0.001 * self.sample_rate) + spread // 2 + resend

    def _drain(self, frame):
        inbox = self.inbox
        names = getattr(self, "_pending_names", None)
        if names:
            self._pending_names = {}
            for s, name in names.items():
                # the slot's next listener: it starts silent. A slot plays (and writes
                # its row of ``returns``) only once its listener's first return arrived,
                # so the row must not keep the previous listener's last block till then
                self.slots[s].reset(name)
                self._stamp[s].fill(jk.EMPTY)
                self._out[s].fill(0.0)
                self._held[s].fill(0.0)
        auto = self._auto
        while True:
            k = inbox.peek()
            if k < 0:
                break
            s = int(inbox.flags[k])
            pos = int(inbox.position[k])
            n = int(inbox.frames[k])
            sl = self.slots[s]
            need = frame - pos
            if not sl.started:
                sl.started = True
                sl.quiet_end = pos
                sl.first = frame
            sl.frames += 1
            sl.heard = frame
            sl.need_min = min(sl.need_min, need)
            sl.peak = max(sl.peak, need)
            if auto and self.locked and need > self.L - self.block:
                want = self._quantize(need + self._margin(sl))
                if want > self.L:  # a listener needs more: raise L, never lower it on our own
                    self.L = want
                    self.raises += 1
            low = frame - self.L  # next position to play; before it is already played
            playing = self.locked or not auto
            if pos + n <= low:
                sl.late += playing  # never played out of place
            else:
                if pos < low:
                    sl.late += playing
                jk.store(self._ring[s:s + 1], self._stamp[s], RING - 1, pos, inbox.data[k], 1, n, low)
                sl.newest_end = max(sl.newest_end, pos + n)
            inbox.release()
        if frame >= self._next_window:
            self._next_window = frame + self._window
            for sl in self.slots:
                sl.peak_prev, sl.peak = sl.peak, -(1 << 62)
        if auto and not self.locked:
            ready = [sl for sl in self.slots if sl.frames >= 8 and frame - sl.first >= self._warm]
            if ready:
                self.L = max(self.L, max(self._quantize(max(sl.peak, sl.peak_prev) + self._margin(sl)) for sl in ready))
                self.locked = True

    def _play(self, frame, L):
        t = frame - L
        out = self._out
        n = self.block
        active = frame - self.sample_rate  # heard within the last second
        for s in range(SLOTS):
            sl = self.slots[s]
            if not sl.started:
                continue
            missing = jk.play(self._ring[s:s + 1], self._stamp[s], RING - 1, t, out[s:s + 1], self._held[s],
                              self._conceal[s], False, self._decay, self._recover, sl.quiet_end)
            # a gap with later samples here is a dropout; silence after the last is a listener gone
            gap = missing > 0 and sl.heard >= active and sl.newest_end > t + n
            if gap:
                sl.lost += missing
                if not sl.in_gap:
                    sl.underruns += 1
            sl.in_gap = gap

    def before_block(self, frame):
        if self.mem is not self._mem:
            self._views()
        if self.broadcast is None:
            return
        meta = self._meta
        self._auto = meta[R_MODE] >= 0.5 if frame > 0 else self.param_values["mode"] >= 0.5
        self._meta_margin = self.param_values["margin"]
        if not self._auto:
            manual = float(meta[R_MANUAL]) if frame > 0 else self.param_values["latency"] * 0.001 * self.sample_rate
            self.L = min(max(int(round(manual)), 0), self.max_L)
        self._drain(frame)
        self._play(frame, self.L)
        meta[R_LAT] = self.L / self.sample_rate * 1000.0 / VOLT_MS

    def status(self):
        if self.broadcast is None:
            return {}
        ms = 1000.0 / self.sample_rate
        slots = []
        for s, sl in enumerate(self.slots):
            if not sl.started:
                continue
            peak = max(sl.peak, sl.peak_prev)
            slots.append({"slot": s, "name": sl.name, "frames": sl.frames, "late": sl.late, "lost": sl.lost,
                          "underruns": sl.underruns,
                          "round_trip_ms": round(peak * ms, 2) if peak > -(1 << 61) else None,
                          "min_round_trip_ms": round(sl.need_min * ms, 2) if sl.need_min < (1 << 61) else None})
        return {"mode": "auto" if getattr(self, "_auto", True) else "manual", "latency_ms": round(self.L * ms, 2),
                "latency_samples": self.L, "raises": self.raises, "listeners": len(slots),
                "late": sum(x["late"] for x in slots), "underruns": sum(x["underruns"] for x in slots),
                "slots": slots}
