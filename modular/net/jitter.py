"""The receive-side jitter buffer of one stream, indexed by timeline position.

Threads: the network thread calls ``offer(frame, arrival)``, which only decodes the frame
into a preallocated slot of an SPSC ring. The audio thread calls ``read(out)`` once per
block: it moves the waiting frames into a sample ring keyed by timeline position, updates
the statistics, moves the playout point if the depth must change, and plays one block.
``read`` allocates no arrays and never waits.

Timing model. The audio thread counts the samples it has played: its clock C. A frame
at timeline position p that first becomes readable at clock C has lateness L = C - p
(samples, plus an unknown constant: the two clocks' offset and the path's least delay).
The playout point P (the position of the next sample played) trails C by the offset
O = C - P. A frame is on time iff L <= O. So the buffer keeps a decaying histogram of L
(about ``memory`` seconds) and chooses O:

- trend = a line fitted through the least lateness of each second of the last half
  minute: it follows the drift between the two ends' sample clocks (no two cards run at
  exactly the same rate, and JACK's dummy driver is off by a few hundred ppm), so the
  histogram holds lateness above the trend, the jitter alone, whatever the drift;
- base  = trend + the 1 % quantile of that: the least lateness, i.e. zero buffering;
- fixed mode: O = base + depth, depth set by the caller every block (param + CV);
- auto mode: O = trend + the (1 - glitch_target) quantile of the lateness above the
  trend, so only that fraction of frames comes too late: the depth follows the measured
  statistics, as Jamulus' auto jitter buffer does. Lateness is observed at the reads,
  so it comes in whole blocks from the first frame's (a lattice, which the drift line
  moves only slowly); the histogram's bins end on that lattice, and O lands on it
  exactly: an offset between two of its points would play the same frames on time as
  the lower one, only later. It starts at ``initial_depth`` blocks (4), a guess, or
  more if frames already come later, which the measured depth replaces ``settle``
  seconds (2) after the first frame: the first seconds are when the two ends' machines
  are busiest (connecting, compiling, allocating). From then on it grows at once when
  frames start arriving later, and shrinks only after ``shrink_after`` seconds of
  needing less. On top of the quantile (``_margin``, whole blocks): for the first
  ``learning`` seconds (10) of an audio stream a learning margin, half the spread seen
  (from the least lateness to that quantile) and at least a block, because young
  statistics have not seen the tail yet; given back ``shrink_after`` later,
  cross-faded, 15 s after the first frame unless the lateness grew meanwhile. Then a
  tail margin, ``tail_margin`` of the spread (an eighth): the greatest
  lateness of the histogram's memory is beaten by the next stretch's about half the
  time. A clean path, whose spread is a block or so, gets no tail margin.

Moving O skips samples (shrink) or steps back over positions already played (grow). A
CV stream holds its last value over the positions stepped back over; an audio stream
plays them again. On an audio stream every move is cross-faded: for ``crossfade``
seconds (3 ms) what plays blends linearly from the old continuation (the positions the
playout point left; concealed where they have not arrived, as when a delay makes the
buffer deepen) into the new position, so the waveform neither jumps nor gaps; from then
on it is the stream at the new position, bit for bit.

A CV stream shrinks only inside held values (a gate, a held pitch: samples equal to the
one being held), so what plays stays the sent stream bit for bit with a held value
shortened; this is how auto mode gives buffering back, and how both modes follow two
sample clocks that drift apart or a least lateness that settles lower. A CV that never
holds still is cut only when its depth nears the ring's size, or when a smaller fixed
depth is set (a hard skip: CV is never blended).

Depth is capped at ``max_depth`` blocks; frames too late are counted in ``late`` and
dropped; samples missing at playout are concealed (audio fades out and back in, CV holds
its last value) and counted in ``lost``; each run of blocks with missing samples counts
one ``underrun``.
In auto mode, when nothing at or after the playout point has arrived yet, the buffer
waits (holds) instead of skipping: over KCP such data is late, never lost.
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels, wire
from .spsc import BlockRing, touched

FIXED, AUTO = "fixed", "auto"


class JitterBuffer:
    def __init__(self, channels: int, block: int, sample_rate: float = 48000, *, cv: bool = False,
                 mode: str = AUTO, depth: float = 2.0, max_depth: float = 64.0,
                 glitch_target: float = 2e-5, memory: float = 30.0, shrink_after: float = 5.0,
                 max_frame: int = wire.MAX_FRAMES, slots: int = 256, initial_depth: float = 4.0,
                 trend_window: float = 1.0, trend_windows: int = 30, crossfade: float = 0.003,
                 learning: float = 10.0, settle: float = 2.0, tail_margin: float = 0.125):
        self.channels = channels
        self.block = block
        self.sample_rate = sample_rate
        self.cv = cv
        self.mode = mode
        self.glitch_target = glitch_target
        self.max_depth = max_depth
        self._depth_set = depth  # blocks, fixed mode
        self._depth_applied = depth
        self._initial = initial_depth  # blocks, auto mode until statistics exist
        cap = 1 << int(math.ceil(math.log2(int(max_depth * block) + 4 * block + 2 * max_frame)))
        self.capacity = cap
        self._max_wait = cap - 2 * max_frame  # offset beyond which waiting would overwrite the ring
        self._mask = cap - 1
        self._ring = touched((channels, cap), np.float32)
        self._stamp = touched(cap, np.int64)
        self._stamp.fill(kernels.EMPTY)
        self._held = np.zeros(channels, np.float32)
        self._ring_bits = self._ring.view(np.int32)  # the same memory, compared bit for bit
        self._held_bits = self._held.view(np.int32)
        self._conceal = np.full(1, 1 << 30, np.int64)
        self._decay = np.float32(math.exp(-1.0 / (0.002 * sample_rate)))  # audio fades in ~2 ms
        self._recover = max(1, int(0.001 * sample_rate))
        # An audio stream's moves of the playout point are cross-faded over 3 ms (0: hard
        # jumps). Long enough that the splice's spectrum falls off 12 dB per octave above
        # ~330 Hz instead of spreading like a step's; short enough that the two passages
        # overlap as one event, not an echo, and that what has arrived ahead of the playout
        # point (at least a block past the skip) usually covers it. The time, not a block:
        # what is heard depends on milliseconds, whatever the engine's block.
        # Linear gains (summing to 1), not equal-power ones: the blend never leaves the range
        # of the two signals, so a hot signal cannot overshoot into clipping, and a sine
        # in phase with itself passes unchanged. For unrelated material (the usual case
        # a few ms apart) linear dips by 3 dB at the midpoint, for a millisecond or so,
        # too short for the ear to hear as a change of loudness.
        self._xfade_len = max(0, int(round(crossfade * sample_rate)))
        self._fade = np.zeros(4, np.int64)  # kernels.crossfade's state: jump, done, length, live
        self._fade_old = np.zeros(channels, np.float32)  # the old continuation's last value
        self._fade_left = 0  # samples of the cross-fade still to play
        self.inbox = BlockRing(slots, channels, max_frame)
        # lateness histogram: bins of an eighth of a block, 1024 of them (128 blocks)
        self._bin = max(1, block // 8)
        self._hist = np.zeros(1024, np.float64)
        self._hist_origin = 0  # lateness (samples) of bin 0
        self._hist_decay = math.exp(-1.0 / (memory * sample_rate / block))
        self._observations = 0
        # the drift: the least lateness of each window of reads, and a line through them
        self._win_min = np.zeros(trend_windows, np.float64)
        self._win_clock = np.zeros(trend_windows, np.float64)
        self._window_reads = max(1, int(trend_window * sample_rate / block))
        self._win_count = 0  # windows begun
        self._window_left = 0
        self._slope = 0.0  # lateness samples per sample played (the drift, ~1e-4 for 100 ppm)
        self._trend_clock = 0.0  # the line passes through (_trend_clock, _trend_value)
        self._trend_value = 0.0
        self._shrink_reads = int(shrink_after * sample_rate / block)
        # auto mode: for ``learning`` seconds after a stream starts its depth keeps a
        # margin on top while the statistics are young (0: none); see _margin
        self._learning = int(learning * sample_rate)
        self._learn_end = 0  # the clock at which the margin ends
        self._tail_margin = tail_margin  # after it, this share of the spread on top (see _margin)
        # auto mode starts at ``initial_depth``, a guess; ``settle`` seconds after the
        # first frame the measured depth replaces it at once, not ``shrink_after`` later
        self._settle = int(settle * sample_rate)
        self._settle_end = 0
        self._guessing = False  # the initial guess is still in effect
        self._off_target_for = 0
        self._late_run = 0
        self.clock = 0  # samples played
        self.playout = 0  # P: timeline position of the next sample played
        self.played = -1  # timeline position of the last block played (-1: none yet); a depth change moves it
        self.started = False
        self._newest_end = 0
        self._quiet_end = 0  # missing samples before this position are expected, not lost
        self._base = 0
        # outputs
        self.underruns = 0  # dropouts: runs of blocks with missing samples
        self.underrun_now = False  # this block had missing samples (the underrun output)
        self.stalls = 0  # blocks the auto mode waited for late data
        self.late = 0
        self.lost = 0  # samples concealed after the start
        self.resyncs = 0
        self.adjustments = 0  # times the playout point moved
        self.shortened = 0  # CV samples skipped inside held values (auto mode giving buffering back)
        self.cuts = 0  # times a CV stream that never held still was cut at max_depth
        self.frames_in = 0
        self.target_offset = 0

    # ------------------------------------------------------------ network thread

    def offer(self, frame: wire.Frame, arrival: float = 0.0) -> bool:
        """Decode a received frame into the inbox; False (counted in ``inbox.overflows``)
        if the audio thread has fallen so far behind that the inbox is full."""
        slot = self.inbox.reserve()
        if slot < 0:
            return False
        ch = min(frame.channels, self.channels)
        n = min(frame.frames, self.inbox.max_frames)
        dest = self.inbox.data[slot]
        if ch == frame.channels:
            frame.samples(dest[:ch, :n])
        else:
            dest[:ch, :n] = frame.samples()[:ch, :n]
        if ch < self.channels:
            dest[ch:, :n] = 0.0
        self.inbox.publish(slot, frame.position, n, frame.flags, arrival)
        return True

    # ------------------------------------------------------------ audio thread

    def set_depth(self, blocks: float):
        """Fixed mode's depth in blocks (param + CV), called every block; clamped to
        0 .. max_depth."""
        self._depth_set = min(max(blocks, 0.0), self.max_depth)

    def set_mode(self, mode: str):
        self.mode = AUTO if mode == AUTO else FIXED

    def reset(self):
        """The peer left (or another one took its place): forget its timeline and what is
        still queued from it, and play as before the first frame (CV holds its last
        value, audio is silent) until frames come again. Audio thread."""
        inbox = self.inbox
        while inbox.peek() >= 0:
            inbox.release()
        if self.started:
            self.resyncs += 1
        self._restart()
        self.underrun_now = False

    def _restart(self):
        self.started = False
        self._stamp[:] = kernels.EMPTY  # a restarted timeline may reuse positions: old samples must not play
        self._hist[:] = 0.0
        self._observations = 0
        self._win_count = 0
        self._window_left = 0
        self._slope = 0.0
        self._late_run = 0
        self._off_target_for = 0
        self._fade_left = 0

    def _observe(self, lateness: int):
        w = self._win_min
        if self._window_left <= 0:  # a new window of reads begins: refit with the finished ones
            done = min(self._win_count, len(w))
            if done >= 8:
                first = (self._win_count - done) % len(w)  # the oldest window kept
                slope, err, c, v = kernels.trend_fit(self._win_clock, w, first, done)
                if self._drifting(first, done):
                    if self._slope == 0.0:
                        # the lateness seen so far lies along the drift, not above a level:
                        # start the statistics afresh above the line
                        self._hist[:] = 0.0
                        self._observations = 0
                    self._slope, self._trend_clock, self._trend_value = slope, c, v
                elif self._slope != 0.0:
                    self._trend_value = self._trend()
                    self._trend_clock = self.clock
                    self._slope = 0.0
            i = self._win_count % len(w)
            w[i] = lateness
            self._win_clock[i] = self.clock
            self._win_count += 1
            self._window_left = self._window_reads
        else:
            i = (self._win_count - 1) % len(w)
            if lateness < w[i]:
                w[i] = lateness
        if self._win_count == 1:  # no finished window yet: the least lateness so far
            self._trend_clock, self._trend_value = self.clock, w[0]
        rel = lateness - self._trend()
        if self._observations == 0:
            # a quarter of the range below the first observation, and aligned so that
            # lateness on its lattice (whole blocks from it) falls on the last sample of a
            # bin: a quantile's upper edge is then the lateness itself, not up to a bin more
            self._hist_origin = rel - 256 * self._bin - (self._bin - 1)
        k = (rel - self._hist_origin) // self._bin
        if k < 0 or k >= 1024:
            shift = k - 512  # re-centre on this observation; what falls off is old news
            kernels.hist_shift(self._hist, shift)
            self._hist_origin += shift * self._bin
            k -= shift
        kernels.hist_add(self._hist, k, self._hist_decay)
        self._observations += 1

    def _drifting(self, first: int, done: int) -> bool:
        """The least lateness of each window moves steadily, more than its noise: in both
        halves of the windows kept, the same way. Jitter alone leaves the line where it
        is (and the statistics as they were), and so does a single step, such as frames
        that began to arrive just after the reads instead of just before them."""
        h = done // 2
        signs = 0
        for lo, n in ((first, h), (first + h, done - h)):
            slope, err, _, _ = kernels.trend_fit(self._win_clock, self._win_min, lo % len(self._win_min), n)
            if not abs(slope) > max(3.0 * err, 1e-6):
                return False
            signs += 1 if slope > 0 else -1
        return abs(signs) == 2

    def _trend(self) -> int:
        """The drift line at the current clock, in lateness samples."""
        return int(round(self._trend_value + self._slope * (self.clock - self._trend_clock)))

    def _quantile(self, q: float) -> int:
        """Lateness above the trend at quantile ``q``: the last sample of its bin (exact
        for lateness on the lattice, safe for any other)."""
        i = kernels.hist_quantile(self._hist, q) + 1
        return self._hist_origin + i * self._bin - 1

    def _drain(self):
        inbox = self.inbox
        while True:
            slot = inbox.peek()
            if slot < 0:
                return
            pos = int(inbox.position[slot])
            n = int(inbox.frames[slot])
            flags = int(inbox.flags[slot])
            if self.started and (flags & wire.FLAG_DISCONTINUITY or pos >= self.playout + self.capacity - n
                                 or self._late_run >= 64):
                self.resyncs += 1
                self._restart()
            lateness = self.clock - pos
            if not self.started:
                self.started = True
                self._observe(lateness)
                self.playout = self.clock - (lateness + int(self._initial_depth() * self.block))
                self._newest_end = pos
                self._quiet_end = pos
                self._learn_end = self.clock + self._learning
                self._settle_end = self.clock + self._settle
                self._guessing = True
            else:
                self._observe(lateness)
            if pos + n <= self.playout:
                self.late += 1
                self._late_run += 1
            else:
                if pos < self.playout:
                    self.late += 1
                self._late_run = 0
                kernels.store(self._ring, self._stamp, self._mask, pos, inbox.data[slot], self.channels, n,
                              self.playout)
                if pos + n > self._newest_end:
                    self._newest_end = pos + n
            self.frames_in += 1
            inbox.release()

    def _initial_depth(self):
        return self._depth_set if self.mode == FIXED else self._initial

    def _steer(self):
        """Move the playout point towards the depth wanted.

        Auto mode deepens at once and gets shallower only after ``shrink_after`` seconds
        of needing less. Fixed mode applies a new depth at once; otherwise it follows
        its reference (the least lateness, which drifts with the two sample clocks)
        only when that has moved by more than a block for ``shrink_after`` seconds, so
        statistical noise never makes it skip or hold.

        On an audio stream a move is cross-faded (``_move``); while that fade plays, the
        next move waits: a new one would have to fade out of a blend.
        """
        if self._fade_left > 0:
            return
        trend = self._trend()
        base = trend + self._quantile(0.01)
        if self.mode == FIXED:
            want = base + int(self._depth_set * self.block)
            changed = self._depth_set != self._depth_applied
            self._depth_applied = self._depth_set
            slack = 0 if changed else self.block
            grow_hold = shrink_hold = 0 if changed else self._shrink_reads
        else:
            slack = self.block // 4
            grow_hold, shrink_hold = 0, self._shrink_reads
            want = base + int(self._initial * self.block)
            if self._observations >= 32:
                # The quantile itself, nothing on top: lateness is observed at the reads,
                # so it comes in whole blocks on a lattice, and the histogram's bins end on
                # that lattice (_observe). Any offset between two of its points plays the
                # same frames on time as the lower point, only later.
                hi = self._quantile(1.0 - self.glitch_target)
                measured = trend + hi
                if not self.cv:
                    measured += self._margin(trend + hi - base)
                if not self._guessing:
                    want = measured
                elif self.clock < self._settle_end:
                    want = max(want, measured)  # the guess, or more if that is already too little
                else:
                    # the initial depth was a guess: give it back as soon as there are
                    # statistics, not after shrink_after seconds of needing less
                    want, shrink_hold = measured, 0
            changed = False
        want = min(max(want, base), base + int(self.max_depth * self.block))
        self.target_offset = want - base
        self._base = base
        offset = self.clock - self.playout
        if want > offset + slack:  # deeper: step back
            self._off_target_for += 1
            if self._off_target_for > grow_hold:
                old = self.playout
                if self.cv:
                    # CV holds its value over the positions stepped back over: replaying
                    # them would send a gate or a ramp back in time
                    self.playout -= want - offset
                    kernels.forget(self._stamp, self._mask, self.playout, old)
                else:
                    # audio plays them again, cross-faded into, instead of a gap
                    self._move(offset - want)
                self._quiet_end = max(self._quiet_end, old)
                self.adjustments += 1
                self._off_target_for = 0
        elif want < offset - slack:
            self._off_target_for += 1
            # skip only samples that are here: never past what has arrived, or the
            # frames still in flight would come late
            skip = min(offset - want, self._newest_end - self.playout - self.block)
            if self._off_target_for > shrink_hold and skip > 0:
                # CV is cut only when the user sets a smaller fixed depth: following the
                # statistics (auto) or the least lateness (fixed) gives buffering back
                # inside held values, and a CV that never holds still stays deeper
                if self.cv and not changed:
                    self._shorten_cv(skip, offset - base > 3 * self._max_wait // 4)
                else:
                    if self.cv:
                        self.playout += skip
                    else:
                        self._move(skip)
                    self.adjustments += 1
                    self._off_target_for = 0
        else:
            self._off_target_for = 0
        if self._guessing and self.clock >= self._settle_end and (
                abs(want - (self.clock - self.playout)) <= slack or self.clock >= self._settle_end + self._learning):
            self._guessing = False  # on the measured depth (a CV that never holds still may never get there)

    def _margin(self, spread: int) -> int:
        """Depth on top of the quantile for an audio stream in auto mode, from the
        spread seen (from the least lateness to the quantile asked for), in whole
        blocks, as lateness comes: less than a block would move the playout point off
        the lattice of lateness values and play no more frames on time, only later.
        CV has none: it gives depth back only inside held values, so a CV that never
        holds still (an LFO) would keep any margin for good, and the depth it needs
        would ratchet up with every change of the margin; a late CV frame costs a
        hold (the reliable carrier delivers it), not a dropout.

        - For the first ``learning`` seconds (10) of an audio stream, the learning
          margin: half the spread (rounded down), at least a block. A histogram of a
          few seconds has not seen the tail of a path's lateness (the rare resend, the
          resend of a resend, the other end's machine busy for a moment) yet: its
          greatest lateness still grows, and each new one is a dropout. When it ends the
          buffer gives it back as any depth no longer needed, ``shrink_after`` later,
          cross-faded, in one move.
        - Then ``tail_margin`` of the spread (an eighth, rounded to the nearest block):
          the quantile asked for is in effect the greatest lateness of the histogram's
          memory (30 s), and of two such stretches of a path that does not change, the
          later one holds the greater lateness half the time: each time a dropout,
          about one a minute. On an in-order path with 2 ms of mean exponential delay
          (a spread of about 15 blocks) two blocks more cut the dropouts of 8 minutes
          from 7 to 1; a clean path, whose spread is a block or so, gets none.
        """
        if self.clock < self._learn_end:
            return max(spread // 2 // self.block, 1) * self.block
        return int(spread * self._tail_margin / self.block + 0.5) * self.block

    def _move(self, jump: int):
        """Move an audio stream's playout point by ``jump`` samples and cross-fade from
        the old continuation into the new one (kernels.crossfade, as the next reads
        play). A shrink fades the old continuation out of the ring, so the fade is no
        longer than what has arrived from the old playout point on (the skip is bounded
        so that at least a block past it has); a gap there is concealed. A step back
        replays positions already played, and its old continuation has often not
        arrived yet (a delay is what made the buffer deepen): it is concealed, so the
        replay fades in as the concealment fades out. A fade that starts while a gap
        is still being concealed (or recovered from) fades out of the concealment, so
        the recovery's own fade-in is not cut short."""
        old = self.playout
        self.playout += jump
        length = self._xfade_len
        if jump > 0:
            length = min(length, self._newest_end - old)
        if length <= 0:
            return
        f = self._fade
        f[0] = jump
        f[1] = 0
        f[2] = length
        f[3] = 1 if self._conceal[0] >= self._recover else 0
        self._fade_old[:] = self._held
        self._fade_left = length

    def _shorten_cv(self, skip: int, over_ring: bool):
        """Auto mode on a CV stream: give back buffering without cutting anything out.
        Samples are skipped only where they repeat the value being held (a gate, a held
        pitch, a clock between ticks), so the stream plays on bit for bit with a held
        value a little shorter. That is how the depth comes back after a delay, and
        follows two sample clocks that drift apart (the sender's faster: frames pile up).
        A CV that never holds still is cut only when its depth nears what the ring holds
        (the bound on waiting for late data too; counted in ``cuts``): the depth never
        grows without bound, and no delay a reliable carrier can recover from cuts CV."""
        run = kernels.held_run(self._ring_bits, self._stamp, self._mask, self.playout, skip, self._held_bits)
        if run == 0 and over_ring:
            run = skip
            self.cuts += 1
        if run > 0:
            self.playout += run
            self.adjustments += 1
            self.shortened += run

    def read(self, out: np.ndarray, position: int | None = None) -> int:
        """Play one block into ``out`` (channels, frames). With ``position`` the caller
        chooses the timeline position to play (a return stream played at t + L);
        otherwise the buffer steers its own playout point. Returns the samples missing."""
        self._window_left -= 1
        self._drain()
        n = out.shape[1]
        if not self.started:
            if self.cv:
                out[:] = self._held[:, None]
            else:
                out[:] = 0.0
            self.played = -1
            self.clock += n
            self.underrun_now = False
            return 0
        if position is None:
            self._steer()
            if self.mode == AUTO and self._starved(n):
                # What this block needs has not all come yet: over a reliable ordered
                # carrier it is late, not lost. Play what is here, hold for the rest and
                # advance only over what was played: the wait deepens the buffer by
                # exactly what this delay needed, and no sample is skipped (CV stays whole).
                k = min(max(self._newest_end - self.playout, 0), n)
                self.played = self.playout
                if k:
                    self.lost += kernels.play(self._ring, self._stamp, self._mask, self.playout, out[:, :k],
                                              self._held, self._conceal, self.cv, self._decay, self._recover,
                                              self._quiet_end)
                kernels.play(self._ring, self._stamp, self._mask, self._newest_end, out[:, k:], self._held,
                             self._conceal, self.cv, self._decay, self._recover, 1 << 62)
                if self._fade_left > 0:
                    self._fade_left -= kernels.crossfade(self._ring, self._stamp, self._mask, self.playout,
                                                         out[:, :k], self._fade_old, self._fade, self._decay)
                    self._fade[3] = 0  # the rest is held: the old continuation is concealed with it
                    self._fade_left -= kernels.crossfade(self._ring, self._stamp, self._mask, self.playout,
                                                         out[:, k:], self._fade_old, self._fade, self._decay)
                self.stalls += 1
                self._dropout(True)
                self.playout += k
                self.clock += n
                return n - k
        else:
            self.playout = position
        self.played = self.playout
        # before the first frame, and where the playout point stepped back to deepen the
        # buffer (_quiet_end), nothing is expected: held on purpose, not lost
        missing = kernels.play(self._ring, self._stamp, self._mask, self.playout, out, self._held,
                               self._conceal, self.cv, self._decay, self._recover, self._quiet_end)
        if self._fade_left > 0:
            self._fade_left -= kernels.crossfade(self._ring, self._stamp, self._mask, self.playout, out,
                                                 self._fade_old, self._fade, self._decay)
        self._dropout(missing > 0)
        self.lost += missing
        self.playout += n
        self.clock += n
        return missing

    def _starved(self, n) -> bool:
        """This block reaches past everything received. Waiting is bounded by the ring,
        not by max_depth (which bounds what the statistics may ask for): skipping late
        data would break the CV, and the shrink logic takes the depth back later."""
        p = self.playout
        # the wait is measured above the least lateness: lateness itself also holds the
        # arbitrary difference between the two ends' timelines (a peer that started later)
        return self._newest_end < p + n and self.clock + n - p - self._base <= self._max_wait

    def _dropout(self, missing: bool):
        """Count each run of blocks with missing samples once: one audible glitch."""
        if missing and not self.underrun_now:
            self.underruns += 1
        self.underrun_now = missing

    # ------------------------------------------------------------ status (any thread; approximate)

    @property
    def depth(self) -> float:
        """The buffering in effect, blocks above the least lateness seen."""
        if not self.started:
            return 0.0
        return (self.clock - self.playout - self._base) / self.block

    @property
    def target(self) -> float:
        """The depth being steered to, blocks."""
        return self.target_offset / self.block

    @property
    def fill(self) -> float:
        """Blocks received ahead of the playout point."""
        if not self.started:
            return 0.0
        return max(0, self._newest_end - self.playout) / self.block

    def stats(self) -> dict:
        return {"mode": self.mode, "depth": self.depth, "target": self.target, "fill": self.fill,
                "underruns": self.underruns, "late": self.late, "lost": self.lost, "stalls": self.stalls,
                "resyncs": self.resyncs, "frames": self.frames_in, "overflows": self.inbox.overflows,
                "shortened": self.shortened, "cuts": self.cuts}
