"""core.Clock: periods exact in samples, 1 ms triggers, multiply, divide, reset, run."""

import math
from fractions import Fraction

import numpy as np

from tests.core.rack import build, high_runs, record, rising

SR = 48000
TRIG = 48  # 1 ms at 48 kHz
ALL = ["clk.clock", "clk.mult", "clk.div", "clk.reset"]


def ceil_ticks(period: Fraction, count: int) -> list[int]:
    return [math.ceil(j * period) for j in range(count)]


def test_period_is_exact_in_samples_and_triggers_are_1ms():
    # 110 BPM: 288000/11 = 26181.8181... samples, not a whole number: ticks must land on
    # ceil(j * period) with no drift, multiplied ticks on ceil(j * period / 3).
    e = build(params={"clk": {"bpm": 110, "mult": 3, "div": 4}}, listen=ALL)
    beats = 12
    period = Fraction(SR * 60, 110)
    n = int(beats * period) // 64 + 1
    r = record(e, n, ["clk.clock", "clk.mult", "clk.div", "clk.reset"])
    clk, mult, div = r["clk.clock"][0], r["clk.mult"][0], r["clk.div"][0]
    assert r["clk.clock"].shape[0] == 1
    assert list(rising(clk)) == ceil_ticks(period, beats + 1)
    assert list(rising(mult)) == [t for t in ceil_ticks(period / 3, 3 * beats + 3) if t < n * 64]
    assert list(rising(div)) == [t for t in ceil_ticks(period * 4, 4) if t < n * 64]
    for x in (clk, mult, div):
        assert set(np.unique(x)) == {0.0, 10.0}
        assert (high_runs(x) == TRIG).all()
    # Starting is a reset: one reset trigger at frame 0.
    assert list(rising(r["clk.reset"][0])) == [0] and (high_runs(r["clk.reset"][0]) == TRIG).all()


def test_120_bpm_is_24000_samples():
    e = build(params={"clk": {"bpm": 120, "mult": 4, "div": 2}}, listen=ALL)
    r = record(e, 24000 * 4 // 64 + 1, ["clk.clock", "clk.mult", "clk.div"])
    assert list(rising(r["clk.clock"][0])) == [0, 24000, 48000, 72000, 96000]
    assert list(rising(r["clk.mult"][0])) == list(range(0, 96001, 6000))
    assert list(rising(r["clk.div"][0])) == [0, 48000, 96000]


def test_reset_restarts_on_that_sample_and_poly_cables_read_channel_1():
    # A 4-channel reset cable: the clock is mono and reads its first channel.
    e = build(cables=[("pc.out", "clk.reset")],
              params={"pc": {"channels": 4, "start": 0.0, "step": 0.0}, "clk": {"bpm": 120, "div": 3}},
              listen=ALL)

    def before(b):
        e.set_param("pc", "start", 10.0 if b == 500 else 0.0)

    r = record(e, 1200, ["clk.clock", "clk.div", "clk.reset"], before)
    reset_at = 500 * 64
    assert list(rising(r["clk.clock"][0])) == [0, 24000, reset_at, reset_at + 24000]
    assert list(rising(r["clk.reset"][0])) == [0, reset_at]
    # The divider starts over: its next tick is on the reset, then every third beat.
    assert list(rising(r["clk.div"][0])) == [0, reset_at]
    assert all(r[p].shape[0] == 1 for p in r)


def test_run_switch_and_run_input_toggle():
    e = build(params={"clk": {"bpm": 240, "run": 0}}, listen=ALL)
    r = record(e, 200, ["clk.clock", "clk.reset"])
    assert not r["clk.clock"].any() and not r["clk.reset"].any()

    e = build(cables=[("pc.out", "clk.run")], params={"clk": {"bpm": 240}}, listen=ALL)

    def before(b):  # a trigger at block 250 stops the clock, one at block 500 starts it
        e.set_param("pc", "start", 10.0 if b in (250, 500) else 0.0)

    r = record(e, 1000, ["clk.clock", "clk.reset"], before)
    assert list(rising(r["clk.clock"][0])) == [0, 12000, 500 * 64, 500 * 64 + 12000, 500 * 64 + 24000]
    assert list(rising(r["clk.reset"][0])) == [0, 500 * 64]
