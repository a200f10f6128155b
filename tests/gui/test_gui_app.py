"""Drive the rack with synthetic pygame events, headless, and check the patch."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import gui_fixture  # noqa: E402

from modular import plugins  # noqa: E402
from modular.gui import rack as R  # noqa: E402
from modular.gui.app import App  # noqa: E402
from modular.patch import load  # noqa: E402

plugins.register(gui_fixture.plugin)

CTRL, SHIFT = pygame.KMOD_CTRL, pygame.KMOD_SHIFT
PATCH = {
    "format": "modular-patch", "version": 1, "sample_rate": 48000, "block_size": 64,
    "modules": [
        {"id": "vco", "model": "core.VCO", "pos": [0, 0]},
        {"id": "vca", "model": "core.VCA", "params": {"level": 0.5}, "pos": [8, 0]},
        {"id": "out", "model": "core.AudioOut", "pos": [12, 0]},
    ],
    "cables": [{"from": "vca.out", "to": "out.left", "color": "#00b56e"}],
}


@pytest.fixture
def patch_file(tmp_path):
    p = tmp_path / "start.json"
    p.write_text(json.dumps(PATCH))
    return p


@pytest.fixture
def app(patch_file):
    a = App(str(patch_file), live=False, threaded=False)
    yield a
    a.close()


# --- synthetic input -----------------------------------------------------------------

def post(type_, **kw):
    pygame.event.post(pygame.event.Event(type_, **kw))


def click(app, pos, button=1, mod=0):
    post(pygame.MOUSEBUTTONDOWN, pos=pos, button=button, mod=mod)
    post(pygame.MOUSEBUTTONUP, pos=pos, button=button, mod=mod)
    app.step()


def drag(app, a, b, mod=0, steps=4):
    post(pygame.MOUSEBUTTONDOWN, pos=a, button=1, mod=mod)
    for k in range(1, steps + 1):
        p = (a[0] + (b[0] - a[0]) * k // steps, a[1] + (b[1] - a[1]) * k // steps)
        post(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0), mod=mod)
    post(pygame.MOUSEBUTTONUP, pos=b, button=1, mod=mod)
    app.step()


def key(app, k, mod=0):
    post(pygame.KEYDOWN, key=k, mod=mod, unicode="", scancode=0)
    post(pygame.KEYUP, key=k, mod=mod, unicode="", scancode=0)
    app.step()


def type_text(app, text):
    post(pygame.TEXTINPUT, text=text)
    app.step()


def cables(app):
    return sorted((c.src, c.dst) for c in app.doc.patch.cables)


def engine_ids(app):
    return sorted(m.id for m in app.live.engine.graph.modules)


# --- the tests -----------------------------------------------------------------------

def test_add_a_module_from_the_browser(app):
    post(pygame.MOUSEMOTION, pos=(700, 200), rel=(0, 0), buttons=(0, 0, 0))
    key(app, pygame.K_RETURN)
    assert app.overlay is not None
    type_text(app, "vc")
    type_text(app, "o")
    assert app.overlay.results[0] == "core.VCO"
    key(app, pygame.K_RETURN)
    assert app.overlay is None
    assert [m.id for m in app.doc.patch.modules] == ["vco", "vca", "out", "vco2"]
    assert app.doc.spec("vco2").pos == (46, 0), "placed where the mouse was"
    assert engine_ids(app) == ["out", "vca", "vco", "vco2"], "the engine runs the new module"
    # right-click on the empty rack opens the browser too; a click picks a model
    click(app, (400, 500), button=3)
    browser = app.overlay
    type_text(app, "mixer")
    row = (browser.rect.left + 40, browser.rect.top + 44 + 10)
    click(app, row)
    assert app.doc.patch.modules[-1].model == "core.Mixer"
    assert app.doc.patch.modules[-1].pos[1] == 1, "in the row that was clicked"


def test_patch_move_and_remove_cables_by_drag(app):
    saw = app.jack_screen("vco", "output", "saw")
    vca_in = app.jack_screen("vca", "input", "in")
    drag(app, saw, vca_in)
    assert cables(app) == [("vca.out", "out.left"), ("vco.saw", "vca.in")]
    assert app.live.engine.graph.module("vca") is not None
    # a second cable into the same input replaces the first: one cable per input
    drag(app, app.jack_screen("vco", "output", "sin"), vca_in)
    assert cables(app) == [("vca.out", "out.left"), ("vco.sin", "vca.in")]
    # pick up the plugged end and move it to another input
    drag(app, vca_in, app.jack_screen("vca", "input", "cv"))
    assert cables(app) == [("vca.out", "out.left"), ("vco.sin", "vca.cv")]
    # drag from an input to an output works too
    drag(app, app.jack_screen("out", "input", "right"), app.jack_screen("vco", "output", "tri"))
    assert ("vco.tri", "out.right") in cables(app)
    # pull an end away onto the empty rack: the cable is gone
    drag(app, app.jack_screen("vca", "input", "cv"), (900, 600))
    assert cables(app) == [("vca.out", "out.left"), ("vco.tri", "out.right")]
    # Ctrl-drag on an output moves that output's cable
    drag(app, app.jack_screen("vca", "output", "out"), app.jack_screen("vco", "output", "sqr"), mod=CTRL)
    assert cables(app) == [("vco.sqr", "out.left"), ("vco.tri", "out.right")]
    g = app.live.engine.graph
    assert {(c.src, c.dst) for c in app.live.engine.patch.cables} == set(cables(app))
    assert g is app.live.engine.graph


def test_turn_a_knob_with_fine_mode_and_reset_by_double_click(app):
    knob = app.widget_screen("vco", "param", "freq")
    drag(app, knob, (knob[0], knob[1] - 48))  # 48 of 240 px: a fifth of 10 V
    assert app.doc.param("vco", "freq") == pytest.approx(2.0)
    assert app.live.engine.get_param("vco", "freq") == pytest.approx(2.0)
    drag(app, knob, (knob[0], knob[1] - 48), mod=SHIFT)
    assert app.doc.param("vco", "freq") == pytest.approx(2.2)
    drag(app, knob, (knob[0], knob[1] + 2000))
    assert app.doc.param("vco", "freq") == -5.0, "clamped at the bottom of the range"
    click(app, knob)
    click(app, knob)
    assert app.doc.param("vco", "freq") == 0.0 and "freq" not in app.doc.spec("vco").params
    assert app.live.engine.get_param("vco", "freq") == 0.0
    # one undo step per drag and per reset
    assert len(app.doc.history.undo_stack) == 4


def test_switches_click_through_their_positions(tmp_path):
    p = tmp_path / "mix.json"
    p.write_text(json.dumps({"format": "modular-patch", "version": 1,
                             "modules": [{"id": "mix", "model": "core.Mixer", "pos": [0, 0]}]}))
    app = App(str(p), live=False, threaded=False)
    try:
        sw = app.widget_screen("mix", "param", "mute")
        click(app, sw)
        assert app.doc.param("mix", "mute") == 1 and app.live.engine.get_param("mix", "mute") == 1
        pygame.time.wait(450)  # not a double click
        click(app, sw)
        assert app.doc.param("mix", "mute") == 0
    finally:
        app.close()


def test_undo_and_redo_every_edit(app):
    start = app.doc.patch.to_dict()
    drag(app, app.jack_screen("vco", "output", "saw"), app.jack_screen("vca", "input", "in"))
    knob = app.widget_screen("vca", "param", "level")
    drag(app, knob, (knob[0], knob[1] - 24))
    key(app, pygame.K_RETURN)
    type_text(app, "VCA")
    key(app, pygame.K_RETURN)
    done = app.doc.patch.to_dict()
    assert len(done["modules"]) == 4 and done["modules"][1]["params"]["level"] == pytest.approx(0.6)
    key(app, pygame.K_z, CTRL)
    assert len(app.doc.patch.modules) == 3 and engine_ids(app) == ["out", "vca", "vco"]
    key(app, pygame.K_z, CTRL)
    assert app.doc.param("vca", "level") == 0.5 and app.live.engine.get_param("vca", "level") == 0.5
    key(app, pygame.K_z, CTRL)
    assert app.doc.patch.to_dict() == start
    assert {(c.src, c.dst) for c in app.live.engine.patch.cables} == {("vca.out", "out.left")}
    key(app, pygame.K_z, CTRL | SHIFT)
    key(app, pygame.K_y, CTRL)
    key(app, pygame.K_z, CTRL | SHIFT)
    assert app.doc.patch.to_dict() == done
    assert app.live.engine.get_param("vca", "level") == pytest.approx(0.6)


def test_module_menu_delete_duplicate_reset(app):
    knob = app.widget_screen("vco", "param", "pw")
    drag(app, knob, (knob[0], knob[1] - 50))
    click(app, app.panel_screen("vco"), button=3)
    menu = app.overlay
    labels = [label.split()[0] for label, _ in menu.items]
    assert labels == ["Duplicate", "Reset", "Delete"]

    def item(i):
        r = app.overlay.rect
        return r.left + 20, r.top + 3 + 24 * (i + 1) + 10
    click(app, item(0))
    assert app.doc.spec("vco2").params == app.doc.spec("vco").params != {}
    click(app, app.panel_screen("vco"), button=3)
    click(app, item(1))
    assert app.doc.spec("vco").params == {}
    click(app, app.panel_screen("vco2"), button=3)
    click(app, item(2))
    assert [m.id for m in app.doc.patch.modules] == ["vco", "vca", "out"]
    # hovering a module and pressing Delete removes it with its cables
    post(pygame.MOUSEMOTION, pos=app.panel_screen("vca"), rel=(0, 0), buttons=(0, 0, 0))
    key(app, pygame.K_DELETE)
    assert [m.id for m in app.doc.patch.modules] == ["vco", "out"] and cables(app) == []
    assert engine_ids(app) == ["out", "vco"]


def test_panels_move_by_drag_and_never_overlap(app):
    a = app.panel_screen("out")
    drag(app, a, (a[0] + 30 * 15, a[1]))  # 30 HP to the right: free
    assert app.doc.spec("out").pos == (42, 0)
    a = app.panel_screen("out")
    drag(app, a, (app.panel_screen("vco")[0] + 15, a[1]))  # onto the VCO: nearest free spot
    pos = app.doc.spec("out").pos
    spans = sorted((m.pos[0], m.pos[0] + app.models[m.model].hp) for m in app.doc.patch.modules if m.pos[1] == 0)
    assert all(b[0] >= a_[1] for a_, b in zip(spans, spans[1:])), spans
    assert pos[1] == 0
    a = app.panel_screen("vca")
    drag(app, a, (a[0], a[1] + 380))  # down one row
    assert app.doc.spec("vca").pos == (8, 1)


def test_save_open_new_with_the_file_prompt(app, tmp_path):
    drag(app, app.jack_screen("vco", "output", "saw"), app.jack_screen("vca", "input", "in"))
    assert pygame.display.get_caption()[0].startswith("*")
    key(app, pygame.K_s, CTRL | SHIFT)
    prompt = app.overlay
    prompt.field.text = ""
    target = tmp_path / "sub" / "saved"
    type_text(app, str(target))
    key(app, pygame.K_RETURN)
    assert app.overlay is None
    saved = load(str(target) + ".json")
    assert saved.to_dict() == app.doc.patch.to_dict()
    assert ("vco.saw", "vca.in") in [(c.src, c.dst) for c in saved.cables]
    assert pygame.display.get_caption()[0] == f"{target}.json — modular"
    # Ctrl-S saves to the same file without asking
    knob = app.widget_screen("vco", "param", "freq")
    drag(app, knob, (knob[0], knob[1] - 24))
    key(app, pygame.K_s, CTRL)
    assert app.overlay is None and load(str(target) + ".json").module("vco").params == {"freq": 1.0}
    # new, then open what was saved
    key(app, pygame.K_n, CTRL)
    assert app.doc.patch.modules == [] and engine_ids(app) == [] and app.doc.path is None
    key(app, pygame.K_o, CTRL)
    app.overlay.field.text = ""
    type_text(app, str(tmp_path / "missing.json"))
    key(app, pygame.K_RETURN)
    assert app.overlay is not None and "cannot read" in app.overlay.error
    app.overlay.field.text = str(target) + ".json"
    key(app, pygame.K_RETURN)
    assert app.overlay is None and [m.id for m in app.doc.patch.modules] == ["vco", "vca", "out"]
    assert engine_ids(app) == ["out", "vca", "vco"] and app.live.engine.get_param("vco", "freq") == 1.0


def test_unsaved_changes_are_not_lost_without_asking(app):
    drag(app, app.jack_screen("vco", "output", "saw"), app.jack_screen("vca", "input", "in"))
    post(pygame.QUIT)
    app.step()
    assert app.running and app.overlay is not None
    labels = [label for label, _ in app.overlay.items]
    assert labels == ["Save, then quit", "Discard changes and quit", "Cancel"]
    key(app, pygame.K_ESCAPE)
    assert app.running and app.overlay is None
    key(app, pygame.K_n, CTRL)
    r = app.overlay.rect
    click(app, (r.left + 20, r.top + 3 + 24 * 3 + 10))  # Cancel
    assert len(app.doc.patch.modules) == 3
    key(app, pygame.K_q, CTRL)
    click(app, (app.overlay.rect.left + 20, app.overlay.rect.top + 3 + 24 + 10))  # save, then quit
    assert not app.running and not app.doc.dirty
    assert ("vco.saw", "vca.in") in [(c.src, c.dst) for c in load(app.doc.path).cables]


def test_toolbar_buttons_and_cpu_meter(app):
    rects = {label: rect for rect, label, _ in app.toolbar()}
    click(app, rects["CPU meter"].center)
    assert app.meter_on and app.live.engine.metering
    app.live.step_offline(20)
    app._meter_t = 0
    app.step()
    assert app._meter and all(r["us_per_block"] >= 0 for r in app._meter.values())
    key(app, pygame.K_F3)
    assert not app.meter_on
    click(app, rects["Add module"].center)
    assert app.overlay is not None
    key(app, pygame.K_ESCAPE)
    assert app.overlay is None


def test_status_scope_and_server_browser_on_panels(tmp_path):
    p = tmp_path / "net.json"
    p.write_text(json.dumps({"format": "modular-patch", "version": 1, "modules": [
        {"id": "vco", "model": "core.VCO", "pos": [0, 0]},
        {"id": "probe", "model": "guitest.Probe", "pos": [8, 0]},
        {"id": "link", "model": "guitest.Link", "data": {"server": "127.0.0.1:7000"}, "pos": [16, 0]}],
        "cables": [{"from": "vco.sin", "to": "probe.in"}]}))
    asked = []

    def fetch(server):
        asked.append(server)
        return [{"handle": "alice", "listeners": 3}, "bob"]

    app = App(str(p), live=False, threaded=False, fetch_streams=fetch)
    try:
        app.live.step_offline(10)
        app._status_t = 0
        app.step()
        assert app._status["link"]["state"] == "connected"
        lay = R.panel_layout(app.models["guitest.Probe"])
        dx, dy, dw, dh = lay.display
        sx, sy = app.to_screen((8 * 15 + dx, dy))
        region = pygame.surfarray.array3d(app.screen.subsurface((sx, sy, dw, dh)))
        assert (region[:, :, 1] > 150).sum() > 50, "the trace is drawn in the display"
        click(app, app.panel_screen("link"), button=3)
        assert app.overlay.items[0][0] == "Pick stream…"
        click(app, (app.overlay.rect.left + 20, app.overlay.rect.top + 3 + 24 + 10))
        assert asked == ["127.0.0.1:7000"]
        assert [label for label, _ in app.overlay.items] == ["alice  listeners=3", "bob"]
        click(app, (app.overlay.rect.left + 20, app.overlay.rect.top + 3 + 24 + 10))
        assert app.doc.spec("link").data["handle"] == "alice"
        key(app, pygame.K_z, CTRL)
        assert "handle" not in app.doc.spec("link").data
    finally:
        app.close()


@pytest.mark.skipif("core.Scope" not in plugins.models(), reason="core.Scope not installed")
def test_core_scope_draws_its_traces(tmp_path):
    p = tmp_path / "scope.json"
    p.write_text(json.dumps({"format": "modular-patch", "version": 1, "modules": [
        {"id": "vco", "model": "core.VCO", "pos": [0, 0]},
        {"id": "scope", "model": "core.Scope", "params": {"time": 0.01}, "pos": [8, 0]}],
        "cables": [{"from": "vco.saw", "to": "scope.in1"}]}))
    app = App(str(p), live=False, threaded=False)
    try:
        app.live.step_offline(100)
        app.step()
        lay = R.panel_layout(app.models["core.Scope"])
        dx, dy, dw, dh = lay.display
        sx, sy = app.to_screen((8 * 15 + dx, dy))
        region = pygame.surfarray.array3d(app.screen.subsurface((sx, sy, dw, dh)))
        assert (region[:, :, 1] > 150).sum() > 50, "the saw is drawn on the scope"
    finally:
        app.close()


def test_live_engine_keeps_running_through_edits(patch_file):
    app = App(str(patch_file), live=True, use_card=False)
    try:
        deadline = time.monotonic() + 5
        while app.live.engine.frame < 4800 and time.monotonic() < deadline:
            app.step()
        assert app.live.running and app.live.engine.frame >= 4800
        drag(app, app.jack_screen("vco", "output", "saw"), app.jack_screen("vca", "input", "in"))
        knob = app.widget_screen("vca", "param", "level")
        drag(app, knob, (knob[0], knob[1] - 120))  # turned while the update may be pending
        app.live.settle()
        f = app.live.engine.frame
        time.sleep(0.2)
        app.step()
        assert app.live.engine.frame > f
        assert {(c.src, c.dst) for c in app.live.engine.patch.cables} == set(cables(app))
        assert app.live.engine.get_param("vca", "level") == 1.0
        vmax, vmin = app.live.level("vca", "out")
        assert vmax - vmin > 1.0, "the saw reaches the VCA output: its port light is lit"
        app.live.rtf()
        time.sleep(0.3)
        assert app.live.rtf() > 0.5, "the software clock keeps real time"
    finally:
        app.close()
    assert not app.live.running


def test_screenshot_command_writes_a_png(patch_file, tmp_path, modular_cmd, cli_env):
    out = tmp_path / "shot.png"
    patch_file = Path(__file__).parent / "rack_demo.json"  # the README's screenshot
    env = dict(cli_env, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    r = subprocess.run(modular_cmd + ["gui", str(patch_file), "--screenshot", str(out), "--size", "800", "600"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    img = pygame.image.load(str(out))
    assert img.get_size() == (800, 600)
    r = subprocess.run(modular_cmd + ["gui", str(tmp_path / "nope.json"), "--screenshot", str(out)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_status_of_a_crowded_panel_shows_on_hover(app, monkeypatch):
    app._status = {"vca": {"state": "connected", "rtt_ms": 12.25}}
    app._status_t = time.monotonic() + 60  # keep this status for the test
    post(pygame.MOUSEMOTION, pos=app.panel_screen("vca"), rel=(0, 0), buttons=(0, 0, 0))
    app.step()
    text, _ = app._tooltip_text()
    assert text == "state: connected\nrtt_ms: 12.2"
