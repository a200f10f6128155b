"""core.Merge and core.Split: mono <-> poly, bit-exact round trips, channel-count rules."""

import numpy as np

from tests.core.rack import build, record

SPLIT_TO_MERGE = [(f"split.out{k}", f"merge.in{k}") for k in range(1, 17)]


def test_split_then_merge_is_bit_exact_for_16_channels():
    e = build(cables=[("noise.white", "split.in")] + SPLIT_TO_MERGE, params={"noise": {"channels": 16}},
              listen=["merge.out"])
    r = record(e, 50, ["noise.white", "merge.out", "split.out1", "split.out16"])
    assert r["merge.out"].shape[0] == 16 and r["split.out1"].shape[0] == 1
    assert np.array_equal(r["merge.out"], r["noise.white"])
    assert np.array_equal(r["split.out16"][0], r["noise.white"][15])


def test_split_channels_past_the_input_read_zero_and_unread_outputs_are_skipped():
    e = build(cables=[("pc.out", "split.in"), ("split.out2", "merge.in1"), ("split.out5", "merge.in2")],
              params={"pc": {"channels": 3, "start": 1.0, "step": 1.0}})
    e.process(1)
    assert (e.output("split", "out2") == 2.0).all() and (e.output("split", "out5") == 0.0).all()
    assert e.output("split", "out1").shape[0] == 0  # nobody listens: not computed
    # A mono input comes out of out1.
    e = build(cables=[("fc.out", "split.in"), ("split.out1", "merge.in1"), ("split.out2", "merge.in2")])
    r = record(e, 3, ["split.out1", "split.out2", "fc.out"])
    assert np.array_equal(r["split.out1"], r["fc.out"]) and not r["split.out2"].any()


def test_merge_channel_count_auto_and_fixed():
    cables = [("fc.out", "merge.in1"), ("pc.out", "merge.in3")]
    e = build(cables=cables, params={"pc": {"start": -4.0}}, listen=["merge.out"])
    r = record(e, 2, ["merge.out", "fc.out"])["merge.out"]
    assert r.shape[0] == 3  # automatic: the highest connected input
    assert np.array_equal(r[0], np.arange(128, dtype=np.float32)) and not r[1].any() and (r[2] == -4.0).all()
    e = build(cables=cables, params={"pc": {"start": -4.0}, "merge": {"channels": 6}}, listen=["merge.out"])
    e.process(1)
    out = e.output("merge", "out")
    assert out.shape[0] == 6 and not out[3:].any()
    # A poly cable into a merge input gives its first channel.
    e = build(cables=[("noise.white", "merge.in2")], params={"noise": {"channels": 4}}, listen=["merge.out"])
    r = record(e, 2, ["merge.out", "noise.white"])
    assert r["merge.out"].shape[0] == 2 and np.array_equal(r["merge.out"][1], r["noise.white"][0])
    # Nothing connected: one silent channel.
    e = build(listen=["merge.out"])
    e.process(1)
    assert e.output("merge", "out").shape == (1, 64) and not e.output("merge", "out").any()
