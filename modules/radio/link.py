"""radio.Server and radio.Client: a duplex link of two channels each way between two patches.

The kernel only moves samples between the patch and the module's memory; the host hooks
(``before_block``/``after_block``, in the audio thread, a few microseconds each) move
them between that memory and a ``LinkEndpoint``, whose rings the process's one network
thread (modular/net/netthread.py) drains and fills. Nothing in the audio thread waits on
the network.

Memory (float32, ``B`` = block):

    [0, 2B)      in1, in2 of this block (kernel writes; after_block sends them)
    [2B, 4B)     out1, out2 for this block (before_block plays the jitter buffer here)
    4B + 0       latency output, volts (1 V per 10 ms)
    4B + 1       buffer output, volts (fill, 1 V per block)
    4B + 2       1 when an underrun began this block (kernel fires a 1 ms trigger)
    4B + 3       depth asked for: buffer param + buffer_cv (1 V per block)
    4B + 4       mode param (0 fixed, 1 auto)

``kind`` (data): "cv" (default) sends float32 reliably and bit for bit, never drops,
and holds the last value over a gap; "audio" may drop stale blocks at the sender and
fades over gaps at the receiver.
"""

from __future__ import annotations

import math
import time

import numpy as np

from modular.module import CTX_SAMPLE_RATE, Input, Module, Output, Param, kernel
from modular.net import transport as net_transport
from modular.net.endpoint import LinkEndpoint
from modular.net.netthread import NetThread

META = 8
LAT, FILL, UNDERRUN, DEPTH, MODE = range(5)
MAX_DEPTH = 64.0  # blocks, the buffer param's range
AUTO_MAX_DEPTH = 128.0  # blocks the auto mode may reach (and a CV stream may wait for a late peer)
TRIGGER_SECONDS = 0.001
STOP_WAIT = 1.0  # seconds stop() waits for the network thread to send BYE


@kernel
def link_kernel(in1, in2, buffer_cv, out1, out2, latency, buffer, underrun, p0, p1, state, mem, nch, ctx):
    n = out1.shape[1]
    rx = 2 * n
    meta = 4 * n
    for i in range(n):
        mem[i] = in1[0, i]
        mem[n + i] = in2[0, i]
        out1[0, i] = mem[rx + i]
        out2[0, i] = mem[rx + n + i]
    lat = mem[meta + 0]
    fill = mem[meta + 1]
    if mem[meta + 2] > 0.5:
        mem[meta + 2] = 0.0
        state[0] = math.floor(TRIGGER_SECONDS * ctx[CTX_SAMPLE_RATE] + 0.5)
    for i in range(n):
        latency[0, i] = lat
        buffer[0, i] = fill
        if state[0] > 0:
            underrun[0, i] = 10.0
            state[0] -= 1
        else:
            underrun[0, i] = 0.0
    mem[meta + 3] = p1[0] + buffer_cv[0, n - 1]
    mem[meta + 4] = p1[1]


def _warm_up(block, sample_rate, cv):
    """Load the jitter buffer's compiled kernels now: the first calls read numba's disk
    cache, which would stall the audio thread (and so the peer's stream) for many ms."""
    from modular.net import kernels, wire

    for mode in ("auto", "fixed"):
        ep = LinkEndpoint(2, 2, block, sample_rate, cv=cv, mode=mode, slots=8)
        out = np.zeros((2, block), np.float32)
        for k in range(4):
            blk = np.zeros((2, block), np.float32)
            ep.rx.offer(wire.Frame(1, k, k * block, 2, block, wire.Encoding.FLOAT32, blk.tobytes(),
                                   wire.FLAG_CV if cv else 0))
            ep.receive(out)
            ep.send(k * block, blk)
        ep.receive(out)
        rx = ep.rx  # a starved read plays part of a block: a slice, another numba signature
        kernels.play(rx._ring, rx._stamp, rx._mask, 0, out[:, :1], rx._held, rx._conceal, rx.cv, rx._decay,
                     rx._recover, 0)
        for part in (out, out[:, :1]):  # an audio stream's cross-faded moves (no fade is pending: a no-op)
            kernels.crossfade(rx._ring, rx._stamp, rx._mask, 0, part, rx._fade_old, rx._fade, rx._decay)

    stamp, hist = np.full(16, kernels.EMPTY, np.int64), np.zeros(1024, np.float64)
    kernels.forget(stamp, 15, 0, 4)  # the paths the few frames above did not take
    kernels.hist_shift(hist, 1)
    kernels.hist_shift(hist, -1)
    kernels.hist_quantile(hist, 0.5)
    kernels.held_run(np.zeros((1, 16), np.int32), stamp, 15, 0, 4, np.zeros(1, np.int32))
    from modular.net.fec import warm_up as warm_fec

    warm_fec()  # audio's forward error correction, both ways
    kernels.trend_fit(np.arange(8.0), np.arange(8.0), 0, 8)


def _port(value, key="port", allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, int) or not (0 if allow_zero else 1) <= value <= 65535:
        lo = 0 if allow_zero else 1
        raise ValueError(f"{key!r} must be a port number {lo}..65535, got {value!r}")


class _Link(Module):
    hp = 8
    tags = ("network",)
    params = (
        Param("buffer", 0.0, MAX_DEPTH, 2.0, unit="blocks", label="Buffer (fixed mode)"),
        Param("mode", 0, 1, 1, label="Buffer mode", options=("fixed", "auto")),
    )
    inputs = (Input("in1", "In 1"), Input("in2", "In 2"), Input("buffer_cv", "Buffer CV (1 V/block)"))
    outputs = (Output("out1", "Out 1"), Output("out2", "Out 2"), Output("latency", "Latency (1 V/10 ms)"),
               Output("buffer", "Buffer fill (1 V/block)"), Output("underrun", "Underrun"))
    kernel = link_kernel
    state_fixed = 1
    finite_outputs = True  # outputs copy finite inputs or received float32 the wire codec checked
    has_host_io = True
    outputs_lead_inputs = True

    def channel_count(self, input_channels):
        return 1

    def memory_size(self, sample_rate, block):
        return 4 * block + META

    def init(self, sample_rate, block):
        self.sample_rate = int(sample_rate)
        self.block = int(block)
        self._views()

    def _views(self):
        b = self.block
        self._mem = self.mem
        self._tx = self.mem[: 2 * b].reshape(2, b)
        self._rx = self.mem[2 * b: 4 * b].reshape(2, b)
        self._meta = self.mem[4 * b: 4 * b + META]

    # ---------------------------------------------------------------- network

    def _make_transport(self, endpoint):
        raise NotImplementedError

    @property
    def transport_kind(self) -> str:
        return self.data.get("transport", net_transport.UDP)

    def start(self, engine):
        cv = self.data.get("kind", "cv") == "cv"
        _warm_up(engine.block, engine.sample_rate, cv)
        self.endpoint = LinkEndpoint(2, 2, engine.block, engine.sample_rate, cv=cv, max_depth=AUTO_MAX_DEPTH,
                                     mode="auto" if self.param_values["mode"] >= 0.5 else "fixed",
                                     depth=self.param_values["buffer"])
        self._underruns = 0
        self.error = ""
        from modular.patch import PatchError
        try:
            t = self._make_transport(self.endpoint)
        except OSError as exc:
            raise PatchError(f"module {self.id!r}: {exc}") from None
        self._net = NetThread.shared()
        self._transport = self._net.add(t)

    def stop(self):
        t = getattr(self, "_transport", None)
        if t is None:
            return
        self._transport = None
        self._net.remove(t)
        end = time.monotonic() + STOP_WAIT  # let the BYE go out before the process ends
        while t in self._net.transports and time.monotonic() < end:
            time.sleep(0.005)

    # ---------------------------------------------------------------- audio thread

    def before_block(self, frame):
        if self.mem is not self._mem:  # a live edit moved the memory
            self._views()
        ep = getattr(self, "endpoint", None)
        if ep is None:
            return
        ep.receive(self._rx)
        rx = ep.rx
        meta = self._meta
        st = ep.status
        one_way = st.get("one_way_ms", math.nan)
        buffered = rx.depth * self.block * 1000.0 / self.sample_rate
        meta[LAT] = 0.0 if one_way != one_way else 0.1 * (one_way + buffered)
        meta[FILL] = rx.fill
        if rx.underruns != self._underruns:
            self._underruns = rx.underruns
            meta[UNDERRUN] = 1.0

    def after_block(self, frame):
        ep = getattr(self, "endpoint", None)
        if ep is None:
            return
        ep.send(frame, self._tx)
        meta = self._meta
        ep.set_depth(float(meta[DEPTH]))
        ep.set_mode("auto" if meta[MODE] >= 0.5 else "fixed")

    # ---------------------------------------------------------------- status

    def status(self):
        ep = getattr(self, "endpoint", None)
        if ep is None:
            return {}
        st = ep.status
        bms = self.block * 1000.0 / self.sample_rate

        def r(key, nd=2):
            v = st.get(key)
            return round(v, nd) if isinstance(v, float) and v == v else v

        out = {"connected": bool(st.get("connected")), "transport": st.get("transport", self.transport_kind),
               "rtt_ms": r("rtt_ms"), "one_way_ms": r("one_way_ms"), "jitter_ms": r("jitter_ms"),
               "latency_ms": round(float(self._meta[LAT]) * 10.0, 2),
               "depth": r("depth"), "target": r("target"), "depth_ms": r("depth") and round(st["depth"] * bms, 2),
               "fill": r("fill"), "mode": st.get("mode"), "underruns": st.get("underruns", 0),
               "late": st.get("late", 0), "lost": st.get("lost", 0), "loss_pct": r("loss_pct"),
               "rejected": st.get("rejected", 0)}
        for key in ("peers", "mtu"):  # mtu: the largest datagram the path carries (UDP)
            if key in st:
                out[key] = st[key]
        if "port" in self.__dict__:
            out["port"] = self.port
        return out


def _validate_common(data):
    t = data.get("transport", net_transport.UDP)
    if t not in (net_transport.UDP, net_transport.TCP):
        raise ValueError(f"'transport' must be 'udp' or 'tcp', got {t!r}")
    k = data.get("kind", "cv")
    if k not in ("cv", "audio"):
        raise ValueError(f"'kind' must be 'cv' or 'audio', got {k!r}")


class Server(_Link):
    model = "Server"
    title = "Link Server"
    description = "Duplex network link, 2 channels each way: listens (data: port, transport, host, kind)"
    data_keys = ("port", "transport", "host", "kind")

    @classmethod
    def validate_data(cls, data):
        super().validate_data(data)
        if "port" not in data:
            raise ValueError("missing key 'port' (the port to listen on; 0 picks a free one)")
        _port(data["port"], allow_zero=True)
        host = data.get("host", "0.0.0.0")
        if not isinstance(host, str) or not host:
            raise ValueError(f"'host' must be an address to listen on, got {host!r}")
        _validate_common(data)

    def _make_transport(self, endpoint):
        t = net_transport.server(endpoint, self.data["port"], transport=self.transport_kind,
                                 host=self.data.get("host", "0.0.0.0"))
        self.port = t.port
        return t


class Client(_Link):
    model = "Client"
    title = "Link Client"
    description = "Duplex network link, 2 channels each way: connects (data: host, port, transport, kind)"
    data_keys = ("host", "port", "transport", "kind")

    @classmethod
    def validate_data(cls, data):
        super().validate_data(data)
        for key in ("host", "port"):
            if key not in data:
                raise ValueError(f"missing key {key!r} (the server to connect to)")
        if not isinstance(data["host"], str) or not data["host"]:
            raise ValueError(f"'host' must be a host name or address, got {data['host']!r}")
        _port(data["port"])
        _validate_common(data)

    def _make_transport(self, endpoint):
        return net_transport.client(endpoint, self.data["host"], self.data["port"], transport=self.transport_kind)
