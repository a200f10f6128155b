"""Edits to a running patch take effect at a block boundary without a glitch."""

import copy
import threading

import numpy as np

from tests.helpers import make_patch
from modular.engine import Engine
from modular.patch import from_dict

BASE = make_patch(
    [("vco", "core.VCO", {"freq": 0.3}), ("vca", "core.VCA", {"level": 0.8})],
    [("vco.sin", "vca.in")],
)


def capture(e, blocks, module="vca", port="out"):
    out = []
    for _ in range(blocks):
        e.process(1)
        out.append(e.output(module, port)[0].copy())
    return np.concatenate(out)


def test_adding_a_module_keeps_the_running_voice_sample_exact():
    live = Engine(from_dict(BASE))
    live.live = True  # this test's loop plays the audio thread
    with live:
        first = capture(live, 17)
        edited = copy.deepcopy(BASE)
        edited["modules"].append({"id": "mix", "model": "core.Mixer"})
        edited["cables"].append({"from": "vca.out", "to": "mix.in1"})
        done = threading.Thread(target=live.update, args=(from_dict(edited),))
        done.start()
        while done.is_alive():  # the audio thread keeps running blocks during the edit
            first = np.concatenate([first, capture(live, 1)])
        rest = capture(live, 20)
        assert "mix" in [m.id for m in live.graph.modules]
        mixed = live.output("mix", "out")[0]
    got = np.concatenate([first, rest])
    want = capture(Engine(from_dict(BASE)), len(got) // 64)
    assert np.array_equal(got, want), "the VCO keeps its phase across the edit"
    assert np.array_equal(mixed, want[-64:])


def test_knob_turns_survive_an_edit_and_edited_params_ramp():
    e = Engine(from_dict(BASE))
    e.set_param("vca", "level", 0.25)
    e.process(2)
    edited = copy.deepcopy(BASE)
    edited["modules"][0]["params"]["freq"] = 1.0  # an edit to the VCO, not the VCA
    e.update(from_dict(edited))
    assert e.get_param("vca", "level") == 0.25
    assert e.get_param("vco", "freq") == 1.0


def test_removing_a_module_stops_it_and_the_rest_plays_on(tmp_path):
    rec = tmp_path / "r.wav"
    doc = copy.deepcopy(BASE)
    doc["modules"].append({"id": "rec", "model": "core.WavOut", "data": {"path": str(rec)}})
    doc["cables"].append({"from": "vca.out", "to": "rec.in"})
    e = Engine(from_dict(doc))
    with e:
        capture(e, 10)
        e.update(from_dict(BASE))
        capture(e, 5)
        e.service()
        import soundfile as sf
        assert len(sf.read(rec)[0]) == 640, "the removed recorder was flushed and closed"
        assert np.abs(e.output("vca", "out")).max() > 3.0
