"""Saving then loading a patch gives back the same patch; every example patch loads."""

import json
from pathlib import Path

import pytest

from modular import patch as patchmod

PATCHES = sorted((Path(__file__).parent.parent / "patches").glob("*.json"))


@pytest.mark.parametrize("path", PATCHES, ids=[p.name for p in PATCHES])
def test_example_patch_round_trips(path, tmp_path):
    p = patchmod.load(path)
    out = tmp_path / "saved.json"
    patchmod.save(p, out)
    again = patchmod.load(out)
    assert again == p
    assert json.loads(out.read_text()) == json.loads(path.read_text()), "saving changed the file's content"


def test_round_trip_keeps_every_field(tmp_path):
    doc = {
        "format": "modular-patch", "version": 1, "sample_rate": 44100, "block_size": 128,
        "modules": [
            {"id": "vco", "model": "core.VCO", "params": {"freq": -1.25, "pw": 0.3}, "pos": [3, 1]},
            {"id": "rec", "model": "core.WavOut", "data": {"path": "take.wav"}, "pos": [12, 1]},
        ],
        "cables": [{"from": "vco.saw", "to": "rec.in", "color": "#ff0000"}],
    }
    p = patchmod.loads(json.dumps(doc))
    assert p.to_dict() == doc
    path = tmp_path / "p.json"
    patchmod.save(p, path)
    assert patchmod.load(path) == p
