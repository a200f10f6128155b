"""The compiled sound-card callback and its ring, called directly as PortAudio would."""

import ctypes

import numpy as np

from modular.io.cardring import PA_OUTPUT_UNDERFLOW, CardRing, card_callback

B = 64


def call(ring, out, inp=None, status=0):
    """One callback of ``out.shape[0]`` frames, as PortAudio makes it."""
    in_ptr = inp.ctypes.data if inp is not None else None
    return card_callback.ctypes(in_ptr, out.ctypes.data, out.shape[0], None, status, ring.address)


def ramp(start, n, channels=2):
    return (np.arange(start, start + n, dtype=np.float32)[:, None] * np.float32(1e-3)
            + np.arange(channels, dtype=np.float32)[None, :]).astype(np.float32)


def test_plays_what_was_written_in_order_bit_for_bit():
    ring = CardRing(1024)
    for k in range(5):
        ring.write(ramp(k * B, B))
    out = np.zeros((B, 2), np.float32)
    for k in range(5):
        assert call(ring, out) == 0  # paContinue
        assert np.array_equal(out, ramp(k * B, B))
    c = ring.counters()
    assert c["callbacks"] == 5 and c["starved"] == 0 and c["played"] == 5 * B


def test_wraps_around_the_ring():
    ring = CardRing(256)  # four blocks
    out = np.zeros((B, 2), np.float32)
    for k in range(20):
        ring.write(ramp(k * B, B))
        call(ring, out)
        assert np.array_equal(out, ramp(k * B, B))


def test_a_short_ring_plays_silence_after_what_it_has_and_is_counted():
    ring = CardRing(1024)
    ring.write(ramp(0, 40))
    out = np.full((B, 2), 7.0, np.float32)
    call(ring, out)
    assert np.array_equal(out[:40], ramp(0, 40)) and np.all(out[40:] == 0.0)
    c = ring.counters()
    assert c["starved"] == 1 and c["missing_frames"] == B - 40
    # the card's position moved on: the engine's next frames are behind it
    assert ring.fill() == 40 - B


def test_silence_after_the_end_of_a_run_is_no_fault():
    ring = CardRing(1024)
    ring.write(ramp(0, B))
    ring.finish()
    out = np.zeros((B, 2), np.float32)
    call(ring, out)
    call(ring, out)
    assert np.all(out == 0.0)
    assert ring.counters()["starved"] == 0


def test_portaudio_underflow_flags_are_counted():
    ring = CardRing(1024)
    for k in range(2):
        ring.write(ramp(k * B, B))
    out = np.zeros((B, 2), np.float32)
    call(ring, out, status=PA_OUTPUT_UNDERFLOW)
    call(ring, out)
    c = ring.counters()
    assert c["underflows"] == 1 and c["starved"] == 0


def test_captured_input_is_read_back_at_the_position_it_was_captured():
    ring = CardRing(1024, out_channels=2, in_channels=2)
    out = np.zeros((B, 2), np.float32)
    for k in range(4):
        ring.write(ramp(0, B))
        call(ring, out, inp=ramp(10_000 + k * B, B))
    got = np.zeros((B, 2), np.float32)
    assert ring.read_input(2 * B, got)
    assert np.array_equal(got, ramp(10_000 + 2 * B, B))
    assert not ring.read_input(4 * B, got), "not captured yet"
    assert np.all(got == 0.0)


def test_the_callback_is_a_plain_c_function():
    # PortAudio gets its address; no Python object stands behind it
    assert isinstance(card_callback.address, int) and card_callback.address != 0
    assert isinstance(card_callback.ctypes, ctypes._CFuncPtr)
