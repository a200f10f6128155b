"""A listener's return answers each broadcast position with what the real CV made of it:
the positions its jitter buffer plays again (it deepened, or it stalled and then played
on) do not overwrite real answers with answers to the held CV, and every position it
played for real is answered."""

import numpy as np
import pytest

from modular.net import wire
from modular.net.jitter import JitterBuffer
from modular.net.spsc import BlockRing
from modules.radio.gather import AnsweredSpan, FrameGatherer

SR, B = 48000, 64


def frame(position):
    ramp = np.arange(position, position + B, dtype=np.float32)[None, :]  # each sample names its position
    return wire.Frame(1, position // B, position, 1, B, wire.Encoding.FLOAT32, ramp.tobytes(), wire.FLAG_CV)


def listen(mode, answered):
    """What the broadcaster ends up with from a listener whose patch returns the CV it
    played (position -> value, a later frame overwriting an earlier one as RadioReturn
    does), sent the way RadioClient sends it; the positions it played for real (the CV
    had come: the sample is its position); and the number of replays."""
    jb = JitterBuffer(1, B, SR, cv=True, mode=mode, depth=2.0)
    ring = BlockRing(64, 1, 4 * B)
    gather = FrameGatherer(ring, B, per_frame=4)
    span = AnsweredSpan(jb.capacity)
    out = np.zeros((1, B), np.float32)
    got = {}
    for_real = set()
    prev = None  # (position, samples answered for real, the return: what the CV made of it)
    replays = 0
    for k in range(3000):
        late = 5 if 1000 <= k % 1500 < 1005 else 0  # now and then a few blocks come late, together
        if late == 0:
            for j in range(max(0, k - 5) if 1005 <= k % 1500 < 1010 else k, k + 1):
                jb.offer(frame(j * B))
        if mode == "fixed" and k % 700 == 350:
            jb.set_depth(2.0 + (k // 700) % 3)  # deeper, deeper, then back
        stalls = jb.stalls
        missing = jb.read(out)
        if prev is not None:
            pos, n_real, ret = prev
            skip = span.fresh(pos, B, n_real) if answered else 0
            if skip < B:
                gather.push(pos + skip, ret[:, skip:] if skip else ret)
        if jb.played >= 0:
            if prev is not None and jb.played < prev[0] + B:
                replays += 1
            prev = (jb.played, B - missing if jb.stalls != stalls else B, out.copy())
            for_real.update(int(v) for i, v in enumerate(out[0]) if v == jb.played + i)
        while (slot := ring.peek()) >= 0:
            p, n = int(ring.position[slot]), int(ring.frames[slot])
            for i in range(n):
                got[p + i] = ring.data[slot][0, i]
            ring.release()
    tail = max(for_real) - 8 * B  # the last blocks' returns are still being gathered
    return got, {p for p in for_real if p < tail}, replays


@pytest.mark.parametrize("mode", ["fixed", "auto"])
def test_each_position_played_for_real_is_answered_with_what_its_real_cv_made(mode):
    got, real, replays = listen(mode, answered=True)
    assert replays >= (2 if mode == "fixed" else 1)  # the buffer did play positions again
    missing = sorted(real - got.keys())
    assert not missing, f"{len(missing)} positions unanswered, first {missing[:5]}"
    wrong = sorted(p for p in real if got[p] != p)
    assert not wrong, f"{len(wrong)} positions answered with the held CV, first {wrong[:5]}"
    assert len(real) > 180000


def test_without_it_the_held_cv_overwrites_real_answers():
    got, real, replays = listen("fixed", answered=False)
    assert replays >= 2
    assert sum(1 for p in real if got[p] != p) >= B
