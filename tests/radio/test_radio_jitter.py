"""Jitter-buffer behaviour the radio modules rely on, beyond tests/net."""

import numpy as np

from modular.net import wire
from modular.net.jitter import JitterBuffer

SR, B = 48000, 64


def frame(k):
    blk = np.arange(k * B, (k + 1) * B, dtype=np.float32)[None, :]
    return wire.Frame(1, k, k * B, 1, B, wire.Encoding.FLOAT32, blk.tobytes(), wire.FLAG_CV)


def test_auto_cv_waits_for_a_peer_whose_timeline_started_much_later():
    """The reader has played 1000 blocks before the peer's first frame (timeline 0): the
    wait for a late frame is bounded relative to the least lateness, not to that offset."""
    jb = JitterBuffer(1, B, SR, cv=True, mode="auto", max_depth=128)
    out = np.zeros((1, B), np.float32)
    for _ in range(1000):
        jb.read(out)
    played = []
    jb.offer(frame(0))
    for k in range(1, 200):
        if not 5 <= k <= 40:  # frames 5.. are held up (a retransmission), then come at once, in order
            jb.offer(frame(k))
        if k == 40:
            for j in range(5, 41):
                jb.offer(frame(j))
        jb.read(out)
        played.append(out[0].copy())
    y = np.concatenate(played)
    fresh = y[np.concatenate([[True], np.diff(y) != 0])]
    assert jb.late == 0 and jb.lost == 0, jb.stats()
    assert np.all(np.diff(fresh) == 1)


def test_auto_cv_never_skips_to_shrink():
    jb = JitterBuffer(1, B, SR, cv=True, mode="auto", shrink_after=0.05)
    out = np.zeros((1, B), np.float32)
    played = []
    for k in range(400):
        if not 50 <= k <= 80:
            jb.offer(frame(k))
        if k == 80:
            for j in range(50, 81):
                jb.offer(frame(j))
        jb.read(out)
        played.append(out[0].copy())
    y = np.concatenate(played)
    fresh = y[np.concatenate([[True], np.diff(y) != 0])]
    assert np.all(np.diff(fresh[1:]) == 1)
    assert jb.depth >= 25  # it grew for the delay and stays there
