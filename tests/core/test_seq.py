"""core.SEQ: steps, rows, gates, length, reset; driven by a hand-made clock and by core.Clock."""

import numpy as np

from tests.core.rack import build, high_runs, record, rising

OUTS = ["seq.cv1", "seq.cv2", "seq.cv3", "seq.gate", "seq.trig", "seq.step"]
ROWS = {f"cv1_{s}": float(s) for s in range(1, 9)}
ROWS.update({f"cv2_{s}": -float(s) for s in range(1, 9)})
ROWS.update({f"cv3_{s}": s / 8 for s in range(1, 9)})


def test_steps_gates_length_and_reset():
    params = dict(ROWS, gate_3=0, length=5)
    e = build(cables=[("pc.out", "seq.clock"), ("pc2.out", "seq.reset")], params={"seq": params},
              listen=OUTS)
    # The clock is high for blocks 10k+2 .. 10k+4 (192 samples), for k = 1 .. 9; a reset
    # comes at block 75, between the 7th and 8th clocks.
    clocks = [10 * k + 2 for k in range(1, 10)]

    def before(b):
        e.set_param("pc", "start", 10.0 if any(c <= b < c + 3 for c in clocks) else 0.0)
        e.set_param("pc2", "start", 10.0 if b == 75 else 0.0)

    r = {k: v[0] for k, v in record(e, 110, OUTS, before).items()}
    edges = [c * 64 for c in clocks]
    # Before the first clock the rows show step 1, with the gate low.
    assert (r["seq.cv1"][:edges[0]] == 1.0).all() and (r["seq.step"][:edges[0]] == 0.0).all()
    assert not r["seq.gate"][:edges[0]].any()
    # Steps played on each clock: 1 2 3 4 5 1 2 | reset | 1 2.
    played = [1, 2, 3, 4, 5, 1, 2, 1, 2]
    for edge, step in zip(edges, played):
        span = slice(edge, edge + 3 * 64)  # (a reset at block 75 shows step 1 early)
        assert (r["seq.cv1"][span] == step).all(), (edge, step)
        assert (r["seq.cv2"][span] == -step).all()
        assert (r["seq.cv3"][span] == np.float32(step / 8)).all()
        assert (r["seq.step"][span] == step - 1).all()
    # Gate: high exactly while the clock is high, except on step 3 (its gate is off).
    on = [e for e, s in zip(edges, played) if s != 3]
    assert list(rising(r["seq.gate"])) == on and (high_runs(r["seq.gate"]) == 192).all()
    # Trigger: 1 ms on entering each step whose gate is on.
    assert list(rising(r["seq.trig"])) == on and (high_runs(r["seq.trig"]) == 48).all()
    assert set(np.unique(r["seq.gate"])) == {0.0, 10.0}


def test_clocked_by_core_clock_with_reset():
    # 480 BPM: a step every 6000 samples; the clock's reset output (fired on start, with
    # the first tick) restarts the sequencer on step 1.
    e = build(cables=[("clk.clock", "seq.clock"), ("clk.reset", "seq.reset")],
              params={"clk": {"bpm": 480}, "seq": dict(ROWS, length=8)}, listen=OUTS)
    r = record(e, 60000 // 64, ["seq.cv1", "seq.step", "seq.trig"])
    cv1 = r["seq.cv1"][0]
    changes = np.flatnonzero(np.diff(cv1)) + 1
    assert list(changes) == [6000 * k for k in range(1, 10)]
    assert [cv1[6000 * k] for k in range(10)] == [1, 2, 3, 4, 5, 6, 7, 8, 1, 2]
    assert list(rising(r["seq.trig"][0])) == [6000 * k for k in range(10)]
    assert all(v.shape[0] == 1 for v in r.values())  # a mono module


def test_knob_moves_apply_to_the_current_step():
    e = build(params={"seq": ROWS}, listen=OUTS)
    e.process(1)
    assert (e.output("seq", "cv1") == 1.0).all()
    e.set_param("seq", "cv1_1", 3.0)
    e.process(1)
    out = e.output("seq", "cv1")[0]
    assert out[-1] == 3.0 and np.all(np.diff(out) > 0)  # ramped across the block, no jump
