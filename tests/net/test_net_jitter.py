"""The jitter buffer: fixed depth is honoured, auto depth follows the measured jitter,
late frames are counted and dropped, lost audio is concealed and CV holds."""

import numpy as np
import pytest

from modular.net import wire
from modular.net.jitter import JitterBuffer
from modular.net.simlink import Impairment

SR, B = 48000, 64
PERIOD = B / SR


def ramp(position, ch=2, n=B):
    """Channel c carries position + c, so every sample names where it came from."""
    t = np.arange(position, position + n, dtype=np.float64)
    return np.stack([(t + c) for c in range(ch)]).astype(np.float32)


def frame(position, ch=2, cv=True, n=B, seq=0):
    return wire.Frame(1, seq, position, ch, n, wire.Encoding.FLOAT32, ramp(position, ch, n).tobytes(),
                      wire.FLAG_CV if cv else 0)


def run(jb, seconds, imp=None, drop=(), per_read=None):
    """Sender makes a frame every block; the network delivers it at send + delay ± jitter
    (or never, for frame numbers in `drop`); the receiver reads a block every period."""
    imp = imp or Impairment()
    out = np.zeros((jb.channels, B), np.float32)
    arrivals = []
    n = int(seconds / PERIOD)
    for i in range(n):
        for t in imp.fate(i * PERIOD) if i not in drop else []:
            arrivals.append((t, i))
    arrivals.sort()
    k = 0
    outs = []
    for r in range(n):
        now = r * PERIOD + 1e-9
        while k < len(arrivals) and arrivals[k][0] <= now:
            jb.offer(frame(arrivals[k][1] * B, jb.channels, jb.cv), arrivals[k][0])
            k += 1
        jb.read(out)
        outs.append(out.copy())
        if per_read:
            per_read(r, jb)
    run.lateness = np.array([t - i * PERIOD for t, i in arrivals])
    return np.concatenate(outs, axis=1)


def test_fixed_depth_is_honoured_and_output_is_the_input_delayed():
    jb = JitterBuffer(2, B, SR, cv=True, mode="fixed", depth=3)
    y = run(jb, 2.0, Impairment(delay=0.010))
    assert jb.depth == pytest.approx(3.0, abs=0.2)
    assert jb.underruns == 0 and jb.late == 0 and jb.lost == 0
    # once playing, output sample k is input position k - D for one constant D
    start = int(np.argmax(y[0] > 0))
    d = np.arange(y.shape[1])[start:] - y[0, start:]
    assert np.all(d == d[0])
    assert np.array_equal(y[1, start:] - y[0, start:], np.ones(y.shape[1] - start, np.float32))


def test_depth_follows_the_param_each_block():
    depths = []

    def change(r, jb):
        jb.set_depth(2.0 if r < 300 else 8.0 if r < 600 else 200.0)
        depths.append(jb.depth)

    jb = JitterBuffer(1, B, SR, cv=True, mode="fixed", max_depth=32)
    run(jb, 1200 * PERIOD, Impairment(delay=0.005), per_read=change)
    assert depths[290] == pytest.approx(2.0, abs=0.2)
    assert depths[590] == pytest.approx(8.0, abs=0.2)
    assert depths[1190] == pytest.approx(32.0, abs=0.2)  # bounded by max_depth
    assert jb.underruns == 0  # deepening holds, it does not count as an underrun


@pytest.mark.parametrize("jitter_ms", [0.0, 5.0, 20.0])
def test_auto_depth_converges_to_the_jitter_with_few_glitches(jitter_ms):
    jitter = jitter_ms / 1000
    jb = JitterBuffer(1, B, SR, cv=False, mode="auto")
    trace = []
    run(jb, 20.0, Impairment(delay=0.02, jitter=jitter, seed=5), per_read=lambda r, j: trace.append(
        (j.depth, j.underruns)))
    # the depth needed: from the least lateness to the greatest (jitter that keeps order
    # piles datagrams up behind slow ones, so this is less than 2 x jitter); the buffer
    # sees lateness at its reads, in whole blocks, so it may need up to a block less
    late = run.lateness[len(run.lateness) // 2:]
    spread_blocks = (late.max() - np.quantile(late, 0.01)) / PERIOD
    depth_end = trace[-1][0]
    assert spread_blocks - 1.0 <= depth_end <= spread_blocks + 2.0, (spread_blocks, depth_end)
    # after the first 5 s, at most a couple of glitches (goal: ~1 per minute)
    glitches = trace[-1][1] - trace[int(5.0 / PERIOD)][1]
    assert glitches <= 2, (glitches, depth_end)


def test_cv_stepping_back_before_the_first_position_holds_its_value():
    """A buffer that deepens right after its stream began at position 0 steps back to
    positions before it. Nothing was ever there: CV holds the value it played, it never
    plays an empty slot of the ring as if it held position -1."""
    jb = JitterBuffer(1, B, SR, cv=True, mode="fixed", depth=1)
    out = np.zeros((1, B), np.float32)
    held = wire.Frame(1, 0, 0, 1, B, wire.Encoding.FLOAT32, np.full(B, 5.0, np.float32).tobytes(), wire.FLAG_CV)
    jb.offer(held)
    jb.read(out)
    jb.read(out)
    assert out[0, -1] == 5.0
    jb.set_depth(8)  # the playout point steps back past position 0
    played = []
    for _ in range(8):
        jb.read(out)
        played.append(out[0].copy())
    assert jb.playout - 8 * B < 0, "the test steps back before the first position"
    assert np.all(np.concatenate(played) == 5.0)


def test_late_frames_are_counted_and_dropped_cv_holds():
    jb = JitterBuffer(1, B, SR, cv=True, mode="fixed", depth=2)
    out = np.zeros((1, B), np.float32)
    for i in range(10):
        jb.offer(frame(i * B, 1))
        jb.read(out)
    reads = [out.copy()]
    # frame 10 goes missing (it is played during the read after frame 12 arrives) ...
    for i in (11, 12, 13):
        jb.offer(frame(i * B, 1))
        jb.read(out)
        reads.append(out.copy())
    jb.offer(frame(10 * B, 1))  # ... and turns up afterwards
    for i in (14, 15, 16):
        jb.offer(frame(i * B, 1))
        jb.read(out)
        reads.append(out.copy())
    assert jb.late == 1
    assert jb.underruns == 1 and jb.lost == B
    y = np.concatenate(reads, axis=1)[0]
    d = np.diff(y)
    # the ramp, a hole of one block held at the last value, and the ramp again
    assert np.count_nonzero(d == 0) == B
    assert np.count_nonzero(d == B + 1) == 1
    assert np.count_nonzero(d == 1) == len(d) - B - 1


def test_lost_audio_fades_instead_of_clicking():
    jb = JitterBuffer(1, B, SR, cv=False, mode="fixed", depth=2)
    out = np.zeros((1, B), np.float32)
    ys = []
    for i in range(40):
        if i not in (20, 21):
            blk = np.full((1, B), 4.0, np.float32)
            jb.offer(wire.Frame(1, i, i * B, 1, B, wire.Encoding.FLOAT32, blk.tobytes()))
        jb.read(out)
        ys.append(out.copy())
    y = np.concatenate(ys, axis=1)[0]
    steps = np.abs(np.diff(y[4 * B:]))
    assert steps.max() < 0.25  # 4 V never jumps to 0 or back in one sample
    assert y[4 * B:].min() < 1.5  # but it did fade most of the way (2 ms time constant)
    assert jb.underruns == 1  # one dropout of two blocks


def test_timeline_jump_resynchronises():
    jb = JitterBuffer(1, B, SR, cv=True, mode="fixed", depth=2)
    out = np.zeros((1, B), np.float32)
    for i in range(20):
        jb.offer(frame(i * B, 1))
        jb.read(out)
    for i in range(20):  # the sender restarted at position 10^9
        jb.offer(frame(10**9 + i * B, 1))
        jb.read(out)
    assert jb.resyncs == 1
    assert out[0, -1] == np.float32(10**9 + 17 * B + B - 1)


def test_read_allocates_no_arrays():
    import tracemalloc

    jb = JitterBuffer(2, B, SR, cv=False, mode="auto")
    out = np.zeros((2, B), np.float32)
    for i in range(50):
        jb.offer(frame(i * B, 2, cv=False))
        jb.read(out)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(50, 250):
        jb.offer(frame(i * B, 2, cv=False))
        jb.read(out)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename")
                if "jitter.py" in str(s.traceback) or "kernels.py" in str(s.traceback))
    # one block's array a read would be 200 x 512 bytes; a few KB is the interpreter's
    # own bookkeeping (int objects, dict resizes), which varies from run to run
    assert grown < 16384, grown


def test_cross_faded_moves_allocate_no_arrays():
    import tracemalloc

    jb = JitterBuffer(2, B, SR, cv=False, mode="fixed", depth=2.0)
    out = np.zeros((2, B), np.float32)

    def step(i):
        if i % 40 == 0:
            jb.set_depth(2.0 if (i // 40) % 2 else 8.0)  # deeper, shallower: a cross-fade each
        if i % 97 != 5:  # and now and then a lost frame, concealed
            jb.offer(frame(i * B, 2, cv=False))
        jb.read(out)

    for i in range(200):
        step(i)
    moves = jb.adjustments
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(200, 1200):
        step(i)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename")
                if "jitter.py" in str(s.traceback) or "kernels.py" in str(s.traceback))
    assert jb.adjustments - moves >= 20
    assert grown < 16384, grown  # 1000 blocks' arrays would be 512 KB


def _drifting(jb, seconds, values, ratio):
    """The sender's clock runs ``ratio`` times the receiver's: it makes a frame every
    PERIOD / ratio seconds, delivered 5 ms later; the receiver reads every PERIOD.
    ``values(position)`` is the CV block at a position. Returns the played samples."""
    out = np.zeros((jb.channels, B), np.float32)
    outs, depths = [], []
    sent = 0
    n = int(seconds / PERIOD)
    for r in range(n):
        now = r * PERIOD
        while sent * PERIOD / ratio + 0.005 <= now:
            blk = values(sent * B)
            jb.offer(wire.Frame(1, sent, sent * B, jb.channels, B, wire.Encoding.FLOAT32, blk.tobytes(),
                                wire.FLAG_CV))
            sent += 1
        jb.read(out)
        outs.append(out.copy())
        depths.append(jb.depth)
    return np.concatenate(outs, axis=1), np.array(depths)


def _runs(x):
    """(values, lengths) of the runs of equal samples in x."""
    edges = np.flatnonzero(np.diff(x.view(np.uint32))) + 1
    starts = np.concatenate([[0], edges])
    return x[starts], np.diff(np.concatenate([starts, [len(x)]]))


def test_cv_follows_a_faster_sender_by_shortening_held_values_only():
    """Two sample clocks never agree: here the sender runs 500 ppm fast, so frames pile up
    (22 blocks a minute). Auto mode gives the excess back inside held values (a gate held
    between clock ticks, a held pitch): the depth stays put, and what plays is the sent
    CV with some held values a few samples shorter, every value and every step in order.
    (The lateness statistics see the drift over their memory as spread: 5 s here.)"""
    def gate_and_pitch(position):
        t = np.arange(position, position + B)
        gate = np.where(t % 6000 < 1200, 10.0, 0.0)  # a 1200-sample gate every 6000 samples
        pitch = (t // 6000 % 7) / 12.0  # a new note with each gate
        return np.stack([gate, pitch]).astype(np.float32)

    jb = JitterBuffer(2, B, SR, cv=True, mode="auto", shrink_after=1.0, memory=5.0)
    y, depths = _drifting(jb, 60.0, gate_and_pitch, 1.0005)
    assert depths[int(15 / PERIOD):].max() < 4, "the depth does not grow with the drift"
    assert jb.shortened > 0.0004 * 50 * SR and jb.cuts == 0, jb.stats()
    start = int(np.argmax(y[0] > 0))  # from the first gate on
    sent = gate_and_pitch(0)
    sent = np.concatenate([gate_and_pitch(p) for p in range(0, y.shape[1] + 10 * 6000, B)], axis=1)
    for c in range(2):
        pv, pl = _runs(y[c, start:])
        sv, sl = _runs(sent[c, int(np.argmax(sent[0] > 0)):])
        m = len(pv) - 1  # the last run is cut off by the end of the test
        assert np.array_equal(pv[:m].view(np.uint32), sv[:m].view(np.uint32)), "every value, in order"
        assert np.all(pl[1:m] <= sl[1:m]) and np.all(sl[1:m] - pl[1:m] <= 600), "held values only shortened"


def test_cv_that_never_holds_still_is_cut_only_when_the_ring_is_nearly_full():
    jb = JitterBuffer(1, B, SR, cv=True, mode="auto", shrink_after=1.0, memory=5.0, max_depth=4,
                      max_frame=B)
    bound = jb._max_wait / B  # blocks of waiting the ring allows
    _, depths = _drifting(jb, 120.0, lambda p: ramp(p, 1), 1.002)
    assert jb.cuts > 0 and depths.max() <= bound, (jb.stats(), depths.max(), bound)
    piled_up = 0.002 * 120.0 * SR  # samples the faster sender got ahead
    assert jb.cuts <= piled_up / (0.5 * bound * B) + 1, "each cut waits for the depth to near the bound"


@pytest.mark.parametrize("mode", ["fixed", "auto"])
def test_played_names_the_position_each_block_came_from_through_depth_changes(mode):
    """``played`` is where on the sender's timeline the block just read begins, after any
    depth change the read made: a listener stamps its return with it, so a block that
    replays or skips to change the depth must not carry the position it would have had."""
    jb = JitterBuffer(2, B, SR, cv=True, mode=mode, depth=2.0)
    out = np.zeros((2, B), np.float32)
    checked = moved = 0
    prev, last = None, np.nan
    for k in range(3000):
        late = 5 if 1000 <= k % 1500 < 1005 else 0  # now and then a few blocks come late, together
        if late == 0:
            for j in range(max(0, k - 5) if 1005 <= k % 1500 < 1010 else k, k + 1):
                jb.offer(frame(j * B, seq=j))
        if mode == "fixed" and k % 700 == 350:
            jb.set_depth(2.0 + (k // 700) % 3)  # deeper, deeper, then back
        jb.read(out)
        if jb.played < 0:
            continue
        if prev is not None and jb.played != prev + B:
            moved += 1
        prev = jb.played
        fresh = np.flatnonzero(np.diff(out[0], prepend=last) != 0)  # a held sample repeats the one before
        last = out[0, -1]
        for i in fresh:
            if out[0, i] == jb.played + i:
                checked += 1
            else:
                raise AssertionError(f"block {k}: sample {i} is position {out[0, i]}, played says {jb.played + i}")
    # fixed: three new depths; auto: deeper for the first late burst
    assert moved >= (3 if mode == "fixed" else 1) and checked > 100000, (moved, checked)


# ------------------------------------------------------------ audio: moves of the playout point

AMP, TONE = 5.0, 1000.0  # a 1 kHz sine at 5 V
CLEAN_STEP = 2 * np.pi * TONE / SR * AMP  # the largest step between two samples of that sine


def sine(position, n=B):
    t = np.arange(position, position + n, dtype=np.float64)
    return (AMP * np.sin(2 * np.pi * TONE * t / SR)).astype(np.float32)[None, :]


def play_sine(jb, seconds, delay, per_read=None):
    """Frames of the sine, one a block, sent every period and delivered ``delay(i)``
    seconds later, in order (a frame never overtakes the one before, as over KCP).
    Returns the played samples and, per block read, where it began (``played``)."""
    n = int(seconds / PERIOD)
    arrivals, floor = [], 0.0
    for i in range(n):
        floor = max(floor, i * PERIOD + delay(i))
        arrivals.append((floor, i))
    out = np.zeros((1, B), np.float32)
    ys, played, k = [], [], 0
    for r in range(n):
        now = r * PERIOD + 1e-9
        while k < n and arrivals[k][0] <= now:
            i = arrivals[k][1]
            jb.offer(wire.Frame(1, i, i * B, 1, B, wire.Encoding.FLOAT32, sine(i * B).tobytes()), arrivals[k][0])
            k += 1
        if per_read:
            per_read(r, jb)
        jb.read(out)
        ys.append(out[0].copy())
        played.append(jb.played)
    return np.concatenate(ys), np.array(played)


def _moving(case, crossfade):
    """An audio buffer made to move its playout point by many blocks at once.
    auto-shrink: frames come 31 ms late for 2 s, then 5 ms late; the short memory
    forgets the 31 ms within ~6 s and the buffer gives the 26 ms back 1 s later, with
    the learning margin the spread earned (29 blocks in all).
    fixed-shrink, fixed-grow: the depth goes from 20 blocks to 2.5 at 2 s, or back.
    Returns the buffer, what played, ``played`` per block, the block of the last move
    and the move (samples: > 0 skipped ahead, < 0 stepped back)."""
    if case == "auto-shrink":
        jb = JitterBuffer(1, B, SR, cv=False, mode="auto", memory=0.5, shrink_after=1.0, crossfade=crossfade)
        y, played = play_sine(jb, 10.0, lambda i: 0.031 if i * PERIOD < 2.0 else 0.005)
    else:
        a, b = (20.0, 2.5) if case == "fixed-shrink" else (2.5, 20.0)
        jb = JitterBuffer(1, B, SR, cv=False, mode="fixed", depth=a, crossfade=crossfade)
        y, played = play_sine(jb, 4.0, lambda i: 0.005, per_read=lambda r, j: j.set_depth(a if r * PERIOD < 2.0 else b))
    steps = np.diff(played)
    moved = np.flatnonzero(steps != B)[-1] + 1
    return jb, y, played, moved, int(steps[moved - 1]) - B


CASES = ["auto-shrink", "fixed-shrink", "fixed-grow"]


@pytest.mark.parametrize("case", CASES)
def test_audio_depth_changes_are_cross_faded_and_do_not_click(case):
    jb, y, played, moved, jump = _moving(case, 0.003)
    assert abs(jump) >= 10 * B and jump % 48, "a move of many blocks, not a whole number of the sine's periods"
    assert (jump > 0) == case.endswith("shrink")
    fade = jb._xfade_len
    # A linear cross-fade of two sines of amplitude A, over L samples, steps at most by
    # the sine's own largest step plus 2A / (L + 1) (the gains move by 1/(L+1) a sample).
    bound = CLEAN_STEP + 2 * AMP / (fade + 1)
    start = int(0.5 * SR)  # once playing
    assert np.abs(np.diff(y[start:])).max() <= bound, np.abs(np.diff(y[start:])).max()
    assert jb.lost == 0 and jb.underruns == 0
    # the same buffer jumping hard: the step of the jump is many times larger
    _, hard, _, hard_moved, hard_jump = _moving(case, 0.0)
    assert hard_jump == jump and hard_moved == moved
    assert np.abs(np.diff(hard[start:])).max() > 4 * bound


@pytest.mark.parametrize("case", CASES)
def test_after_the_cross_fade_the_output_is_the_input_at_the_new_position_bit_for_bit(case):
    """Skipped ahead or stepped back (a deeper buffer plays positions again, the audio
    itself rather than a gap), the stream goes on from its new position exactly."""
    jb, y, played, moved, jump = _moving(case, 0.003)
    fade = jb._xfade_len
    blocks = -(-fade // B)  # the blocks the fade spans
    for r in range(moved + blocks, len(played)):
        assert np.array_equal(y[r * B:(r + 1) * B].view(np.uint32), sine(played[r])[0].view(np.uint32)), r
    # inside the fade every sample lies between the old continuation and the new position
    for i in range(fade):
        r, k = moved + i // B, i % B
        p = played[r] + k
        new, old = sine(p, 1)[0, 0], sine(p - jump, 1)[0, 0]
        assert min(new, old) - 1e-6 <= y[r * B + k] <= max(new, old) + 1e-6, i
    # and it moves from the one to the other: first near the old, last near the new
    assert abs(y[moved * B] - sine(played[moved] - jump, 1)[0, 0]) < 2 * AMP / (fade + 1) + 1e-6
    last = moved * B + fade - 1
    assert abs(y[last] - sine(played[moved] + fade - 1, 1)[0, 0]) < 2 * AMP / (fade + 1) + 1e-6


# ------------------------------------------------------------ audio: the learning margin

def resend_arrivals(seed, seconds, loss=0.02, rto=0.030, jitter=0.002):
    """Arrival times of one frame a block over a lossy reliable carrier: each takes
    20 ms plus up to ``jitter``; a lost one (``loss``) waits for its resend, RTO ±20 %,
    which may be lost again (each wait 1.5 times longer); frames arrive in order, so
    those behind a resend wait for it too. Lateness with a long tail: the largest seen
    keeps growing for many seconds."""
    rng = np.random.default_rng(seed)
    n = int(seconds / PERIOD)
    delay = 0.020 + rng.uniform(0.0, jitter, n) if jitter else np.full(n, 0.020)
    for i in np.flatnonzero(rng.random(n) < loss):
        wait = r = rto
        wait *= rng.uniform(0.8, 1.2)
        while rng.random() < loss:
            r *= 1.5
            wait += r * rng.uniform(0.8, 1.2)
        delay[i] += wait
    return np.maximum.accumulate(np.arange(n) * PERIOD + delay)


def play_arrivals(jb, arrivals, played=None):
    """Plays frames of the sine arriving at ``arrivals`` (one per block); per read: the
    underruns so far, the depth and the depth steered to (samples above the least
    lateness). ``played``, a list, gets each block played."""
    out = np.zeros((1, B), np.float32)
    underruns, depth, target = [], [], []
    k = 0
    for r in range(len(arrivals)):
        now = r * PERIOD + 1e-9
        while k < len(arrivals) and arrivals[k] <= now:
            jb.offer(wire.Frame(1, k, k * B, 1, B, wire.Encoding.FLOAT32, sine(k * B).tobytes()), arrivals[k])
            k += 1
        jb.read(out)
        underruns.append(jb.underruns)
        depth.append(round(jb.depth * B))
        target.append(jb.target_offset)
        if played is not None:
            played.append(out[0].copy())
    return np.array(underruns), np.array(depth), np.array(target)


def test_learning_margin_cuts_the_dropouts_of_the_first_seconds():
    """While the histogram is young it has not seen the lateness tail yet: each new
    largest lateness is a dropout. The margin (half the spread seen, for 10 s) absorbs
    most of them."""
    first = int(10.0 / PERIOD)
    with_margin, without = [], []
    for seed in range(4):
        arrivals = resend_arrivals(seed, 10.0)
        with_margin.append(int(play_arrivals(JitterBuffer(1, B, SR, cv=False, tail_margin=0.0), arrivals)[0][first - 1]))
        without.append(int(play_arrivals(JitterBuffer(1, B, SR, cv=False, learning=0.0, tail_margin=0.0),
                                         arrivals)[0][first - 1]))
    assert all(w <= wo for w, wo in zip(with_margin, without)), (with_margin, without)
    assert 2 * sum(with_margin) <= sum(without), (with_margin, without)  # 9 against 21


@pytest.mark.parametrize("path", ["clean", "lossy"])
def test_learning_margin_is_given_back_after_learning_plus_shrink_after(path):
    """The margin ends 10 s after the first frame (learning); the depth then steered
    to is what it is without one, and ``shrink_after`` (5 s) later the buffer has given
    the margin back, cross-faded: from then on the two play at the same depth. On a
    clean path (a spread of a block or less) the margin is its floor, one block."""
    clean = path == "clean"
    arrivals = resend_arrivals(1, 16.0, loss=0.0 if clean else 0.02, jitter=0.0 if clean else 0.002)
    jb = JitterBuffer(1, B, SR, cv=False)
    played = []
    _, depth, target = play_arrivals(jb, arrivals, played)
    _, plain_depth, plain_target = play_arrivals(JitterBuffer(1, B, SR, cv=False, learning=0.0), arrivals)
    start = 0.020  # the first frame arrives
    during = slice(int((start + 1.0) / PERIOD), int((start + 10.0) / PERIOD))
    assert np.all(depth[during] >= plain_depth[during]) and np.any(depth[during] > plain_depth[during])
    ended = int((start + 10.0) / PERIOD) + 2
    assert np.array_equal(target[ended:], plain_target[ended:])
    given_back = int((start + 10.0 + 5.0) / PERIOD) + 2
    assert np.array_equal(depth[given_back:], plain_depth[given_back:])
    shrinks = np.flatnonzero(np.diff(depth) < 0) * PERIOD
    assert np.any(abs(shrinks - (start + 15.0)) < 0.05), ("given back by a shrink at 15 s", shrinks)
    if clean:
        assert jb.underruns == 0 and (depth - plain_depth).max() == B
        y = np.concatenate(played)[int(0.5 * SR):]
        assert np.abs(np.diff(y)).max() <= CLEAN_STEP + 2 * AMP / (jb._xfade_len + 1), "every move cross-faded"


def exponential_arrivals(seed, seconds, mean):
    """One frame a block over an in-order path: 20 ms plus an exponential delay of
    ``mean``, each frame waiting behind the ones before it. A steady path whose greatest
    lateness over any stretch keeps being beaten by the next stretch's, now and then."""
    rng = np.random.default_rng(seed)
    n = int(seconds / PERIOD)
    return np.maximum.accumulate(np.arange(n) * PERIOD + 0.020 + rng.exponential(mean, n))


def test_tail_margin_cuts_the_dropouts_of_a_steady_path():
    """After the learning margin, an eighth of the spread more (rounded to whole blocks)
    covers most of the lateness that beats the histogram's memory: on 2 ms of mean
    exponential delay, over 8 minutes, 1 dropout against 7 for two blocks (2.7 ms)
    more depth."""
    after = int(20.0 / PERIOD)
    drops, depth = {}, {}
    for share in (0.0, 0.125):
        drops[share], depth[share] = 0, []
        for seed in range(4):
            u, d, _ = play_arrivals(JitterBuffer(1, B, SR, cv=False, tail_margin=share),
                                    exponential_arrivals(seed, 140.0, 0.002))
            drops[share] += int(u[-1] - u[after])
            depth[share].append(np.mean(d[after:]) / B)
    assert 3 * drops[0.125] <= drops[0.0], drops
    extra = np.array(depth[0.125]) - np.array(depth[0.0])
    assert np.all((extra >= 1.0) & (extra <= 2.5)), extra
