"""core.AudioIn: silent offline; plays what the host writes with write_input, once."""

import numpy as np

from tests.core.rack import build, record

PORTS = ["ain.left", "ain.right"]


def test_silent_offline():
    e = build(listen=PORTS)
    r = record(e, 20, PORTS)
    assert r["ain.left"].shape == (1, 1280) and not r["ain.left"].any() and not r["ain.right"].any()


def test_write_input_plays_at_its_frames_as_volts_then_clears():
    e = build(listen=PORTS)
    ain = e.module("ain")
    rng = np.random.default_rng(1)
    stereo = rng.uniform(-1, 1, (256, 2)).astype(np.float32)
    stereo[5, 0] = np.nan  # a bad sample from the card becomes 0 V
    e.process(2)
    ain.write_input(e.frame, stereo)
    r = record(e, 6, PORTS)
    want = (stereo.astype(np.float64) * 10.0).astype(np.float32)
    want[5, 0] = 0.0
    assert np.array_equal(r["ain.left"][0, :256], want[:, 0])
    assert np.array_equal(r["ain.right"][0, :256], want[:, 1])
    assert not r["ain.left"][0, 256:].any()
    # Every frame plays once: a whole ring later there is silence, not an echo.
    e.process(ain.ring_frames // 64 - 6)
    r = record(e, 6, PORTS)
    assert not r["ain.left"].any() and not r["ain.right"].any()


def test_mono_input_feeds_both_sides_and_wraps_the_ring():
    e = build(listen=PORTS)
    ain = e.module("ain")
    e.process(ain.ring_frames // 64 - 1)  # the next block is the ring's last
    mono = np.linspace(-1, 1, 128, dtype=np.float32)
    ain.write_input(e.frame, mono)
    r = record(e, 2, PORTS)
    want = (mono.astype(np.float64) * 10.0).astype(np.float32)
    assert np.array_equal(r["ain.left"][0], want) and np.array_equal(r["ain.right"][0], want)
