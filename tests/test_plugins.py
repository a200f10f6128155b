"""Plugins are found through the entry-point group, built-in and third-party alike."""

import json
import subprocess

import textwrap
from importlib.metadata import entry_points

from tests.helpers import ROOT


def test_core_is_registered_as_an_entry_point():
    eps = {ep.name: ep.value for ep in entry_points(group="modular.plugins")}
    assert eps.get("core") == "modules.core:plugin"


def test_third_party_plugin_installs_like_a_builtin(tmp_path, modular_cmd, cli_env):
    # A minimal installed distribution: a package and its dist-info with an entry point.
    site = tmp_path / "site"
    pkg = site / "wobble"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from modular.module import Input, Module, Output, Param, Plugin, kernel, ramp, row

        @kernel
        def invert_kernel(inp, out, p0, p1, state, mem, nch, ctx):
            n = out.shape[1]
            for c in range(nch):
                r = row(inp, c)
                for i in range(n):
                    out[c, i] = -inp[r, i] * ramp(p0[0], p1[0], i, n)

        class Invert(Module):
            model = "Invert"
            description = "Flips the sign"
            params = (Param("amount", 0.0, 1.0, 1.0),)
            inputs = (Input("in"),)
            outputs = (Output("out"),)
            kernel = invert_kernel

        plugin = Plugin("wobble", models=[Invert])
    '''))
    dist = site / "wobble-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wobble\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[modular.plugins]\nwobble = wobble:plugin\n")
    env = dict(cli_env, PYTHONPATH=f"{site}:{ROOT}")
    r = subprocess.run(modular_cmd + ["modules", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    models = {m["model"] for m in json.loads(r.stdout)}
    assert {"wobble.Invert", "core.VCO"} <= models
    # And it runs in a patch.
    patch = {"format": "modular-patch", "version": 1, "modules": [
        {"id": "vco", "model": "core.VCO"}, {"id": "inv", "model": "wobble.Invert"},
        {"id": "out", "model": "core.AudioOut"}],
        "cables": [{"from": "vco.sin", "to": "inv.in"}, {"from": "inv.out", "to": "out.left"}]}
    (tmp_path / "p.json").write_text(json.dumps(patch))
    r = subprocess.run(modular_cmd + ["render", str(tmp_path / "p.json"), "-o", str(tmp_path / "x.wav"),
                                      "--seconds", "0.1", "-q"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    import soundfile as sf
    data, _ = sf.read(tmp_path / "x.wav")
    assert data[1, 0] < 0, "the inverted sine starts downwards"
