"""Rack layout, hit testing, placement, model search and undo history: no display."""

import copy

from modular import plugins
from modular.gui import rack as R
from modular.gui.browser import search
from modular.gui.document import Document, new_id
from modular.gui.history import History
from modular.gui.theme import HP, ROW_H
from modular.patch import Patch, from_dict


def models():
    return plugins.models()


def doc_with(*mods, cables=()):
    d = {"format": "modular-patch", "version": 1, "modules": [], "cables": []}
    for mid, model, pos in mods:
        d["modules"].append({"id": mid, "model": model, "pos": list(pos)})
    d["cables"] = [{"from": a, "to": b} for a, b in cables]
    return from_dict(d)


def test_every_model_gets_a_layout_with_all_its_widgets_inside_the_panel():
    for name, cls in models().items():
        lay = R.panel_layout(cls)
        assert lay.w == cls.hp * HP and lay.h == ROW_H
        kinds = [(w.kind, w.name) for w in lay.widgets]
        assert kinds == [("output", o.name) for o in cls.outputs] + [("input", i.name) for i in cls.inputs] + \
            [("param", p.name) for p in cls.params], name
        for w in lay.widgets:
            assert w.r <= w.x <= lay.w - w.r + 1 and 30 <= w.y <= lay.h - w.r, (name, w)
        # no two widgets overlap
        for a in lay.widgets:
            for b in lay.widgets:
                if a is not b:
                    assert (a.x - b.x) ** 2 + (a.y - b.y) ** 2 >= (a.r + b.r) ** 2 * 0.8, (name, a, b)


def test_hit_finds_widgets_panels_and_empty_rack():
    m = models()
    p = doc_with(("vco", "core.VCO", (0, 0)), ("vca", "core.VCA", (10, 1)))
    lay = R.panel_layout(m["core.VCO"])
    knob = lay.widget("param", "freq")
    assert R.hit(p, m, knob.x, knob.y) == R.Hit("vco", "param", "freq")
    jack = R.panel_layout(m["core.VCA"]).widget("input", "cv")
    assert R.hit(p, m, 10 * HP + jack.x, ROW_H + jack.y) == R.Hit("vca", "input", "cv")
    assert R.hit(p, m, 5, 5) == R.Hit("vco", "panel")
    assert R.hit(p, m, 10 * HP + 1, 5) is None  # row 0 at column 10 is free
    assert R.port_pos(p, m, "vca.cv", "input") == (10 * HP + jack.x, ROW_H + jack.y)


def test_free_pos_never_overlaps_and_stays_near():
    m = models()
    p = doc_with(("a", "core.VCO", (0, 0)), ("b", "core.VCO", (8, 0)), ("c", "core.VCA", (20, 0)))
    assert R.free_pos(p, m, 4, (3, 0)) == (16, 0)  # right after b (16..20 is free)
    assert R.free_pos(p, m, 6, (17, 0)) == (24, 0)  # 16..20 is too narrow for 6 HP
    assert R.free_pos(p, m, 4, (2, 1)) == (2, 1)
    assert R.free_pos(p, m, 8, (1, 0), ignore="a") == (0, 0)
    assert R.free_pos(p, m, 4, (-5, -2)) == (16, 0)


def test_overlapping_and_missing_positions_are_resolved_on_load():
    m = models()
    d = {"format": "modular-patch", "version": 1, "cables": [], "modules": [
        {"id": "a", "model": "core.VCO", "pos": [0, 0]},
        {"id": "b", "model": "core.VCO", "pos": [4, 0]},
        {"id": "c", "model": "core.VCA"}]}
    p = from_dict(d)
    R.normalize_positions(p, m)
    spans = sorted((s.pos[0], s.pos[0] + m[s.model].hp) for s in p.modules)
    assert spans == [(0, 8), (8, 16), (16, 20)]


def test_search_ranks_name_matches_first():
    m = models()
    assert search(m, "")[:1] and set(search(m, "")) == set(m)
    assert search(m, "vco")[0] == "core.VCO"
    assert "core.VCA" in search(m, "amplifier")
    assert search(m, "no such thing") == []


def test_history_undo_redo_round_trip():
    h = History()
    h.push("a", {"v": 1})
    h.push("b", {"v": 2})
    assert h.undo({"v": 3}) == {"v": 2}
    assert h.undo({"v": 2}) == {"v": 1}
    assert h.undo({"v": 1}) is None
    assert h.redo({"v": 1}) == {"v": 2}
    h.push("c", {"v": 2})
    assert h.redo({"v": 9}) is None, "a new edit drops the redo stack"


def test_document_edits_are_undoable_one_by_one():
    m = models()
    doc = Document(m)
    seen = []
    doc.on_change.append(lambda d: seen.append(len(d.patch.modules)))
    vco = doc.add_module("core.VCO")
    vca = doc.add_module("core.VCA", (0, 0))
    assert doc.spec(vca).pos == (8, 0)
    doc.add_cable(f"{vco}.saw", f"{vca}.in")
    doc.add_cable(f"{vco}.sin", f"{vca}.in")
    assert [(c.src, c.dst) for c in doc.patch.cables] == [("vco.sin", "vca.in")], "an input takes one cable"
    doc.set_param(vco, "freq", 1.5)
    doc.begin()
    for v in (0.1, 0.2, 0.3):
        doc.set_param(vca, "level", v)
    doc.commit("turn")
    dup = doc.duplicate(vco)
    assert doc.spec(dup).params == {"freq": 1.5} and doc.spec(dup).pos == (12, 0)
    doc.remove_module(vco)
    assert [c.dst for c in doc.patch.cables] == []
    states = []
    while True:
        states.append(copy.deepcopy(doc.patch.to_dict()))
        if not doc.undo():
            break
    assert len(states) == 9  # 8 edits, the knob drag is one
    assert states[-1]["modules"] == []
    assert states[2]["modules"][1]["params"] == {"level": 0.3}
    while doc.redo():
        pass
    assert doc.patch.to_dict() == states[0]
    assert seen and doc.dirty


def test_new_ids_are_readable_and_unique():
    p = Patch()
    assert new_id(p, "core.VCO") == "vco"
    p = doc_with(("vco", "core.VCO", (0, 0)), ("vco2", "core.VCO", (8, 0)))
    assert new_id(p, "core.VCO") == "vco3"
