"""Every kind of bad patch fails before anything runs, naming what is wrong, exit status 2."""

import json
import subprocess

import pytest

from tests.helpers import make_patch
from modular import cli
from modular.patch import PatchError, loads

GOOD = make_patch([("vco", "core.VCO"), ("out", "core.AudioOut")], [("vco.sin", "out.left")])


def bad(**change):
    doc = json.loads(json.dumps(GOOD))
    for k, v in change.items():
        doc[k] = v
    return doc


CASES = {
    "invalid_json": ('{"format": "modular-patch", "modules": [', ["invalid JSON", "line 1"]),
    "not_object": ("[1, 2]", ["expected a JSON object"]),
    "wrong_format": (bad(format="vcv"), ["'format'", "modular-patch"]),
    "unknown_model": (
        make_patch([("osc", "core.VCOO")]),
        ["module 'osc'", "unknown model 'core.VCOO'", "installed models:", "core.VCO", "core.Mixer"],
    ),
    "unknown_output_port": (
        make_patch([("vco", "core.VCO"), ("out", "core.AudioOut")], [("vco.sine", "out.left")]),
        ["cable 0", "module 'vco' (core.VCO) has no output 'sine'", "valid outputs: sin, tri, saw, sqr"],
    ),
    "unknown_input_port": (
        make_patch([("vco", "core.VCO"), ("out", "core.AudioOut")], [("vco.sin", "out.middle")]),
        ["cable 0", "no input 'middle'", "valid inputs: left, right"],
    ),
    "unknown_param": (
        make_patch([("vco", "core.VCO", {"frequency": 1.0})]),
        ["module 'vco' (core.VCO)", "unknown param 'frequency'", "valid params: freq, fm, pw, pwm, sync"],
    ),
    "two_cables_one_input": (
        make_patch([("a", "core.VCO"), ("b", "core.VCO"), ("out", "core.AudioOut")],
                   [("a.sin", "out.left"), ("b.sin", "out.left")]),
        ["cable 1", "input out.left already has cable 0", "an input takes one cable"],
    ),
    "param_wrong_type": (make_patch([("vco", "core.VCO", {"freq": "high"})]), ["module 'vco'", "param 'freq' must be a number", "'high'"]),
    "param_bool": (make_patch([("vco", "core.VCO", {"freq": True})]), ["param 'freq' must be a number"]),
    "param_out_of_range": (make_patch([("vco", "core.VCO", {"freq": 12})]), ["module 'vco'", "param 'freq' = 12 is out of range [-5.0, 5.0]"]),
    "modules_not_array": (bad(modules={"vco": "core.VCO"}), ["field 'modules' must be an array, got object"]),
    "module_missing_model": (bad(modules=[{"id": "vco"}]), ["module 'vco'", "missing field 'model'"]),
    "module_id_not_string": (bad(modules=[{"id": 3, "model": "core.VCO"}]), ["modules[0]", "field 'id' must be a string, got int"]),
    "duplicate_id": (make_patch([("vco", "core.VCO"), ("vco", "core.VCA")]), ["module 'vco'", "id used by two modules"]),
    "cable_to_missing_module": (
        make_patch([("vco", "core.VCO")], [("vco.sin", "speaker.left")]),
        ["cable 0 (vco.sin -> speaker.left)", "no module 'speaker'", "modules: vco"],
    ),
    "cable_not_string": (bad(cables=[{"from": 1, "to": "out.left"}]), ["cables[0]", "field 'from' must be a string"]),
    "cable_without_port": (bad(cables=[{"from": "vco", "to": "out.left"}]), ["cable 0", "must be 'module.port'"]),
    "unknown_module_key": (bad(modules=[{"id": "vco", "model": "core.VCO", "parms": {}}]), ["module 'vco'", "unknown key 'parms'", "valid keys: id, model, params, data, pos"]),
    "bad_block_size": (bad(block_size=0), ["field 'block_size' must be an integer in 1..4096"]),
    "bad_sample_rate": (bad(sample_rate="48k"), ["field 'sample_rate'"]),
    "bad_pos": (bad(modules=[{"id": "vco", "model": "core.VCO", "pos": [1]}]), ["module 'vco'", "field 'pos'"]),
    "bad_color": (bad(cables=[{"from": "vco.sin", "to": "out.left", "color": "red"}]), ["cables[0]", "'color' must be '#rrggbb'"]),
    "wavout_without_path": (make_patch([("rec", "core.WavOut")]), ["module 'rec' (core.WavOut)", "missing key 'path'"]),
    "unknown_data_key": (make_patch([("rec", "core.WavOut", None, {"path": "x.wav", "file": "y"})]), ["module 'rec'", "unknown data key 'file'", "valid keys: path"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_patch_message_and_exit_status(name, write_patch, tmp_path, capsys):
    doc, expected = CASES[name]
    path = write_patch(doc)
    out = tmp_path / "out.wav"
    status = cli.main(["render", str(path), "-o", str(out), "--seconds", "1"])
    err = capsys.readouterr().err
    assert status == 2
    for fragment in expected:
        assert fragment in err, f"{fragment!r} missing from: {err}"
    assert not out.exists(), "nothing may run or be written for a bad patch"


def test_bad_patch_fails_in_loader_with_patch_error():
    with pytest.raises(PatchError, match="unknown model"):
        loads(json.dumps(make_patch([("x", "core.Nope")])))


def test_bad_set_override_names_module_and_param(write_patch, capsys):
    path = write_patch(GOOD)
    assert cli.main(["render", str(path), "-o", "/dev/null", "--seconds", "1", "--set", "vco.frq=1"]) == 2
    assert "unknown param 'frq'; valid params: freq" in capsys.readouterr().err
    assert cli.main(["render", str(path), "-o", "/dev/null", "--seconds", "1", "--set", "osc.freq=1"]) == 2
    assert "no module 'osc'" in capsys.readouterr().err
    assert cli.main(["render", str(path), "-o", "/dev/null", "--seconds", "1", "--set", "vco.freq=9"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_missing_file_and_real_process_exit_status(tmp_path, modular_cmd, cli_env):
    r = subprocess.run(modular_cmd + ["run", str(tmp_path / "nope.json"), "--no-audio", "--duration", "1"],
                       capture_output=True, text=True, env=cli_env, timeout=120)
    assert r.returncode == 2
    assert "nope.json: cannot read" in r.stderr
    assert "Traceback" not in r.stderr
