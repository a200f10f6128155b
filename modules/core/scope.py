"""core.Scope: an oscilloscope whose last screen the GUI reads with ``traces()``.

Two polyphonic inputs (up to 16 channels each are drawn) and a trigger input; unpatched,
``trig`` follows ``in1`` (its first channel). With ``trigger`` on, a sweep starts when
the trigger rises through ``threshold``; with no trigger for a screen's time (at least
0.1 s) it sweeps anyway, marked untriggered, so a flat or slow signal still shows.
With ``trigger`` off, sweeps follow each other back to back.

A screen of ``time`` seconds is reduced to at most POINTS points, each the min and max
of its samples (shorter screens keep one point per sample). The kernel writes sweeps
into a ring of two screens in ``mem``; the last complete one stays readable while the
next is drawn, and ``traces()`` copies it out for the GUI.
"""

import math

import numpy as np
from numba import njit

from modular.dsp.block import INLINE, JIT
from modular.module import MAX_CHANNELS, Input, Module, Param

POINTS = 512
SCREENS = 2
KINDS = 2  # min, max
PLANES = 2  # in1, in2
AUTO_SECONDS = 0.1

(MODE, K, TOTAL, NPTS, SCREEN, LAST, PREV, WAIT, TRIGGERED, LAST_TRIGGERED, LAST_TOTAL, LAST_NPTS,
 START, LAST_START, LASTJ, ROWS1, ROWS2, LAST_ROWS1, LAST_ROWS2, COUNT) = range(20)
STATE_SIZE = 20


@njit(**INLINE)
def _at(screen, kind, plane, c, j):
    return (((screen * KINDS + kind) * PLANES + plane) * MAX_CHANNELS + c) * POINTS + j


@njit(**JIT)
def scope_kernel(in1, in2, trig, p0, p1, state, mem, nch, ctx):
    n = in1.shape[1]
    sr = ctx[0]
    st = state
    thr = p1[1]
    free = p1[2] < 0.5
    screen_samples = max(2.0, math.floor(p1[0] * sr + 0.5))
    auto = max(screen_samples, AUTO_SECONDS * sr)
    for i in range(n):
        x = trig[0, i]
        rising = st[PREV] < thr and x >= thr
        st[PREV] = x
        if st[MODE] == 0.0:
            start = False
            trg = 0.0
            if free:
                start = True
            elif rising:
                start = True
                trg = 1.0
            else:
                st[WAIT] += 1.0
                if st[WAIT] >= auto:
                    start = True
            if start:
                st[MODE] = 1.0
                st[K] = 0.0
                st[TOTAL] = screen_samples
                st[NPTS] = min(float(POINTS), screen_samples)
                st[LASTJ] = -1.0
                st[START] = ctx[2] + i
                st[TRIGGERED] = trg
                st[ROWS1] = in1.shape[0]
                st[ROWS2] = in2.shape[0]
                st[WAIT] = 0.0
        if st[MODE] == 1.0:
            total = int(st[TOTAL])
            k = int(st[K])
            j = (k * int(st[NPTS])) // total
            s = int(st[SCREEN])
            fresh = j != int(st[LASTJ])
            st[LASTJ] = j
            for c in range(in1.shape[0]):
                v = in1[c, i]
                lo = _at(s, 0, 0, c, j)
                hi = _at(s, 1, 0, c, j)
                if fresh or v < mem[lo]:
                    mem[lo] = v
                if fresh or v > mem[hi]:
                    mem[hi] = v
            for c in range(in2.shape[0]):
                v = in2[c, i]
                lo = _at(s, 0, 1, c, j)
                hi = _at(s, 1, 1, c, j)
                if fresh or v < mem[lo]:
                    mem[lo] = v
                if fresh or v > mem[hi]:
                    mem[hi] = v
            k += 1
            st[K] = k
            if k >= total:
                # Publish: metadata first, then the index that makes it visible.
                st[LAST_TRIGGERED] = st[TRIGGERED]
                st[LAST_TOTAL] = st[TOTAL]
                st[LAST_NPTS] = st[NPTS]
                st[LAST_START] = st[START]
                st[LAST_ROWS1] = st[ROWS1]
                st[LAST_ROWS2] = st[ROWS2]
                st[LAST] = s + 1.0
                st[SCREEN] = 1.0 - s
                st[COUNT] += 1.0
                st[MODE] = 0.0


class Scope(Module):
    model = "Scope"
    title = "Scope"
    description = "Oscilloscope: two polyphonic inputs, trigger with threshold; traces for the GUI"
    hp = 14
    params = (
        Param("time", 0.001, 10.0, 0.02, unit="s", label="Time per screen"),
        Param("threshold", -10.0, 10.0, 0.0, unit="V", label="Trigger threshold"),
        Param("trigger", 0, 1, 1, label="Trigger", options=("free", "on")),
    )
    inputs = (Input("in1", "In 1"), Input("in2", "In 2"), Input("trig", "Trigger", normal_to="in1"))
    outputs = ()
    kernel = scope_kernel
    state_fixed = STATE_SIZE

    def channel_count(self, input_channels):
        # Remembered for traces(): how many channels each input carries (0 = unpatched).
        self.input_channels = (input_channels[0], input_channels[1])
        return max(1, input_channels[0], input_channels[1])

    def memory_size(self, sample_rate, block):
        return SCREENS * KINDS * PLANES * MAX_CHANNELS * POINTS

    def init(self, sample_rate, block):
        self.sample_rate = float(sample_rate)

    def traces(self) -> dict:
        """The last complete screen, copied (safe to call from the GUI thread).

        Returns a dict:
          ``in1``, ``in2``: float32 arrays (channels, points), the middle of each point's
            range; ``in1_min``, ``in1_max``, ``in2_min``, ``in2_max`` the ranges
            themselves (draw a vertical line per point for dense audio). Channels are
            the input's channel count (0 rows when unpatched).
          ``points``: points per trace (0 before the first screen completes);
          ``time``: seconds the screen spans (points are evenly spread over it);
          ``triggered``: True when the screen started on a trigger (not free/auto);
          ``frame``: the engine frame of the screen's first sample;
          ``screens``: screens completed so far (changes when a new one is ready).
        """
        st = np.array(self.state[:STATE_SIZE])  # a snapshot: the audio thread moves on
        chans = getattr(self, "input_channels", (0, 0))
        last = int(st[LAST]) - 1
        sr = getattr(self, "sample_rate", 48000.0)
        out = {"screens": int(st[COUNT])}
        if last < 0:
            out.update(points=0, time=0.0, triggered=False, frame=0)
            for q, name in enumerate(("in1", "in2")):
                for suffix in ("", "_min", "_max"):
                    out[name + suffix] = np.zeros((chans[q], 0), np.float32)
            return out
        npts = int(st[LAST_NPTS])
        planes = self.mem.reshape(SCREENS, KINDS, PLANES, MAX_CHANNELS, POINTS)[last]
        out.update(points=npts, time=float(st[LAST_TOTAL]) / sr, triggered=bool(st[LAST_TRIGGERED]),
                   frame=int(st[LAST_START]))
        for q, name in enumerate(("in1", "in2")):
            ch = min(chans[q], int(st[LAST_ROWS1 + q]))
            lo = planes[0, q, :ch, :npts].copy()
            hi = planes[1, q, :ch, :npts].copy()
            out[name + "_min"] = lo
            out[name + "_max"] = hi
            out[name] = (0.5 * (lo + hi)).astype(np.float32)
        return out
