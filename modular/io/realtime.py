"""Running a patch in real time: on the sound card, or on a software clock without one.

The audio thread (the engine thread feeding the card, or the clock thread) only runs
blocks and copies the mix out; files, meters and printing happen in the calling thread,
which services the engine every few milliseconds and never holds up the audio thread.
On a card, PortAudio's callback is compiled code that plays from a ring the engine
thread keeps a few blocks ahead (cardring.py), so the callback never waits for the GIL.
"""

from __future__ import annotations

import gc
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from modular.gcpace import GcPacer

from . import soundcard
from .mix import mix_into, read_mix, sinks

SERVICE_INTERVAL = 0.02
# Python hands the GIL between threads every 5 ms by default: longer than a 64-sample
# block (1.3 ms). The audio thread must get it back within a fraction of a block.
GIL_SWITCH_INTERVAL = 0.0002
HOUSEKEEPING_PRIORITY = 1  # SCHED_FIFO, when allowed: below the audio thread's
CLOCK_PRIORITY = 5
# The engine thread feeding a card runs just below the card's own callback thread (JACK
# gives its clients 5): the callback must never wait behind a block being rendered.
CARD_ENGINE_PRIORITY = 4
# How far the engine renders ahead of the sound card: a stall of the engine thread (GIL,
# scheduling) shorter than this is not heard; it adds as much to the output latency.
# 10 ms because a real-time thread on a shared or virtual machine is woken up to 5 ms
# late now and then, and the block it then renders can take as long again.
DEFAULT_AHEAD_MS = 10.0


def default_ahead(block: int, sample_rate: float) -> int:
    """Blocks that cover DEFAULT_AHEAD_MS (at least 2)."""
    return max(2, math.ceil(DEFAULT_AHEAD_MS * 0.001 * sample_rate / block - 1e-9))


@dataclass
class RunReport:
    backend: str
    seconds: float = 0.0
    blocks: int = 0
    late_blocks: int = 0  # software clock: blocks started more than a block late
    underflows: int = 0  # sound card: missed callbacks (starved + card_underflows)
    worst_block_ms: float = 0.0
    underflow_frames: list[int] = field(default_factory=list)  # engine frame at each underflow
    callbacks: int = 0  # sound card: callbacks made
    starved: int = 0  # sound card: callbacks that found the ring short (the engine thread was late)
    card_underflows: int = 0  # sound card: callbacks PortAudio flagged as underflow
    ahead_ms: float = 0.0  # sound card: how far the engine renders ahead of the card
    notes: list[str] = field(default_factory=list)


def _realtime_priority(priority: int) -> int | None:
    """Ask for SCHED_FIFO at ``priority`` for the calling thread; returns the policy to
    restore, or None if not permitted. Any thread that takes the GIL can hold up the
    audio callback: one preempted by an ordinary process while holding it makes the
    callback miss its deadline. Low real-time priorities (below JACK's) prevent that."""
    try:
        old = os.sched_getscheduler(0)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return old
    except (AttributeError, OSError):
        return None


def _restore_priority(old: int | None) -> None:
    if old is not None:
        try:
            os.sched_setscheduler(0, old, os.sched_param(0))
        except OSError:
            pass


class _Recorder:
    """Writes the patch's stereo mix to a WAV file from the housekeeping thread."""

    def __init__(self, engine, path):
        self.engine = engine
        self.file = sf.SoundFile(path, "w", engine.sample_rate, 2, "FLOAT")
        self.done = engine.frame
        self.ring = min((m.ring_frames for m in sinks(engine)), default=1 << 30)

    def drain(self, upto: int) -> None:
        while self.done < upto:
            n = min(upto - self.done, self.ring // 2)
            self.file.write(read_mix(self.engine, self.done, n))
            self.done += n

    def close(self, upto: int) -> None:
        self.drain(upto)
        self.file.close()


class Runner:
    def __init__(self, engine, use_card: bool = True, record: str | None = None,
                 duration: float | None = None, device=None, ahead: int | None = None):
        self.engine = engine
        self.use_card = use_card
        self.record = record
        self.duration = duration
        self.device = device
        self.ahead = default_ahead(engine.block, engine.sample_rate) if ahead is None else max(1, int(ahead))
        self._stop = threading.Event()
        self._limit = None if duration is None else int(round(duration * engine.sample_rate))

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> RunReport:
        """Run until ``duration`` seconds of audio have played, ``stop()`` or Ctrl-C."""
        card_reason = soundcard.unavailable_reason() if self.use_card else "--no-audio"
        report = RunReport("soundcard" if card_reason is None else "software clock")
        if card_reason is not None and self.use_card:
            report.notes.append(f"no sound card ({card_reason}): running on the software clock")
        engine = self.engine
        recorder = _Recorder(engine, self.record) if self.record else None
        mix_into(sinks(engine), 0, np.zeros((1, 2), np.float32))  # compile before the clock starts
        engine.start()
        engine.live = True
        # Everything built so far (modules, numba's dispatchers, the imported libraries)
        # lives as long as the run: out of the collector's way. Otherwise a full
        # collection, triggered by whichever thread allocates (the network thread does,
        # all the time), walks it all while holding the GIL: tens of ms, a missed callback.
        # What the network thread builds later (sessions, their buffers) is moved out of
        # its way too, every second, by the housekeeping loop (modular/gcpace.py).
        gc.collect()
        self._gc = GcPacer(reclaim_every=None)  # a full collection in the run would be a missed callback
        previous_switch = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        previous_policy = _realtime_priority(HOUSEKEEPING_PRIORITY)
        t0 = time.monotonic()
        try:
            if report.backend == "soundcard":
                self._run_card(report, recorder)
            else:
                self._run_clock(report, recorder)
        except KeyboardInterrupt:
            self._stop.set()
        finally:
            _restore_priority(previous_policy)
            sys.setswitchinterval(previous_switch)
            self._gc.close()
            engine.live = False
            engine.stop()
            if recorder:
                recorder.close(engine.frame)
        report.seconds = time.monotonic() - t0
        report.blocks = engine.frame // engine.block
        return report

    def _housekeep(self, recorder, alive) -> None:
        engine = self.engine
        while alive() and not self._stop.is_set():
            time.sleep(SERVICE_INTERVAL)
            engine.service()
            self._gc.tick()
            if recorder:
                recorder.drain(engine.frame)

    def _done(self) -> bool:
        return self._stop.is_set() or (self._limit is not None and self.engine.frame >= self._limit)

    def _run_clock(self, report: RunReport, recorder) -> None:
        engine = self.engine
        period = engine.block / engine.sample_rate

        def clock():
            _realtime_priority(CLOCK_PRIORITY)
            next_t = time.monotonic()
            while not self._done():
                now = time.monotonic()
                if now < next_t:
                    time.sleep(next_t - now)
                elif now - next_t > period:
                    report.late_blocks += 1
                t = time.perf_counter()
                engine.process(1)
                report.worst_block_ms = max(report.worst_block_ms, (time.perf_counter() - t) * 1e3)
                next_t += period
                if time.monotonic() - next_t > 0.5:  # hopelessly behind: resync, don't burst
                    next_t = time.monotonic()

        th = threading.Thread(target=clock, name="modular-audio", daemon=True)
        th.start()
        self._housekeep(recorder, th.is_alive)
        th.join()

    def _run_card(self, report: RunReport, recorder) -> None:
        """The card plays from a ring (modular/io/cardring.py) through a compiled callback
        that never takes the GIL; this thread keeps the ring ``ahead`` blocks full."""
        from .cardring import STARVED, MISSED_AT, UNDERFLOWS, CardRing, open_stream

        engine = self.engine
        bs = engine.block
        sink_list = sinks(engine)
        # Modules that take the card's input (core.AudioIn): then the stream is duplex.
        sources = [m for m in engine.graph.modules if hasattr(m, "write_input")]
        target = self.ahead * bs
        ring = CardRing(max(4 * (target + bs), 8192), 2, 2 if sources else 0)
        mix = np.zeros((bs, 2), np.float32)
        captured = np.zeros((bs, 2), np.float32)
        period = bs / engine.sample_rate
        # input captured while the card played ring position q feeds the block rendered
        # for position q + target + bs: by then the card has surely passed q + bs
        in_lag = target + bs
        offset = engine.frame  # engine frame of ring position 0

        def render_block():
            start = engine.frame
            if sources:
                ring.read_input(start - offset - in_lag, captured)
                for m in sources:
                    m.write_input(start, captured)
            t = time.perf_counter()
            engine.process(1)
            report.worst_block_ms = max(report.worst_block_ms, (time.perf_counter() - t) * 1e3)
            mix_into(sink_list, start, mix)
            ring.write(mix)

        for _ in range(self.ahead):  # the ring starts full
            render_block()
        stream = open_stream(ring, engine.sample_rate, bs, device=self.device, duplex=bool(sources))
        starved_seen = 0

        def engine_thread():
            nonlocal starved_seen
            _realtime_priority(CARD_ENGINE_PRIORITY)
            while not self._done():
                misses = int(ring.ctl[STARVED]) + int(ring.ctl[UNDERFLOWS])
                if misses != starved_seen:
                    starved_seen = misses
                    report.underflow_frames.append(offset + int(ring.ctl[MISSED_AT]))
                fill = ring.fill()
                if fill < target:
                    if fill < 0:
                        report.late_blocks += 1  # the card played silence; catch up
                    render_block()
                    continue
                # sleep until the card has probably taken a block (at least a quarter of one)
                time.sleep(max(0.25 * period, (fill - target + bs) / engine.sample_rate))
            ring.finish()

        th = threading.Thread(target=engine_thread, name="modular-audio", daemon=True)
        stream.start()
        th.start()
        try:
            self._housekeep(recorder, th.is_alive)
            th.join()
            end = time.monotonic() + 1.0 + ring.fill() / engine.sample_rate
            while ring.fill() > 0 and time.monotonic() < end:  # let the card play what is queued
                time.sleep(period)
        finally:
            stream.stop()
            stream.close()
            c = ring.counters()
            report.callbacks = c["callbacks"]
            report.starved = c["starved"]
            report.card_underflows = c["underflows"]
            report.underflows = c["starved"] + c["underflows"]
            report.ahead_ms = 1000.0 * target / engine.sample_rate
