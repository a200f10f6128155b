"""Rack layout without a display: where panels sit, where their widgets are, what is
under the mouse, and where a module may go without overlapping another.

Coordinates are *world* pixels: a module at ``pos = (column, row)`` (columns in HP)
has its top-left corner at ``(column * HP, row * ROW_H)``. The view adds a scroll
offset and the toolbar height to get screen pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from .theme import HP, JACK_R, KNOB_BIG, KNOB_SMALL, ROW_H

TITLE_H = 34
BOTTOM = 18  # free strip at the bottom of a panel (screws, rail)
# From roomy to compact: (knob diameter, knob cell w, knob cell h) and (jack cell w, h).
KNOB_SIZES = ((KNOB_BIG, 46, 60), (KNOB_SMALL, 34, 48), (KNOB_SMALL, 32, 44), (20, 28, 38), (18, 24, 32))
JACK_SIZES = ((34, 44), (30, 38), (28, 34), (24, 32))


@dataclass(frozen=True)
class Widget:
    kind: str  # "param", "input" or "output"
    name: str
    index: int
    x: float  # centre, relative to the panel
    y: float
    r: float  # radius for hit testing and drawing
    style: str  # "knob", "switch" or "jack"
    label: str
    label_w: int = 34  # room for the label above it


@dataclass(frozen=True)
class PanelLayout:
    w: int
    h: int
    widgets: tuple[Widget, ...]
    display: tuple[int, int, int, int] | None  # free area for a scope or status lines
    plate: tuple[int, int, int, int] | None  # the dark plate behind the outputs

    def widget(self, kind: str, name: str) -> Widget:
        for w in self.widgets:
            if w.kind == kind and w.name == name:
                return w
        raise KeyError((kind, name))


def _grid(n: int, width: float, cell_w: float) -> tuple[int, int]:
    """(columns, rows) for ``n`` cells of ``cell_w`` in ``width``."""
    if not n:
        return 0, 0
    cols = max(1, min(n, int(width // cell_w)))
    return cols, math.ceil(n / cols)


def _place(n: int, cols: int, inner: float, left: float = 4):
    """Centre x of each of ``n`` cells in rows of ``cols``, each row centred."""
    cw = inner / cols
    for i in range(n):
        r, c = divmod(i, cols)
        in_row = min(cols, n - r * cols)
        yield r, left + (inner - in_row * cw) / 2 + (c + 0.5) * cw, cw


@lru_cache(maxsize=None)
def panel_layout(cls) -> PanelLayout:
    """Place a model's knobs, switches and jacks on its panel, from its declarations:
    params in a grid under the title, inputs above the outputs at the bottom, the
    outputs on a dark plate (VCV's convention). Crowded panels get smaller cells."""
    w, h = int(cls.hp) * HP, ROW_H
    inner = w - 8
    params, ins, outs = cls.params, cls.inputs, cls.outputs
    room = h - BOTTOM - (TITLE_H + 4) - 6 - (8 if ins and outs else 0)

    def jack_height(jw, jh):
        return (_grid(len(ins), inner, jw)[1] + _grid(len(outs), inner, jw)[1]) * jh

    def param_height(kw, kh):
        return _grid(len(params), inner, kw)[1] * kh

    choice = None
    for k in range(len(KNOB_SIZES) + len(JACK_SIZES) - 1):  # the roomiest that fits
        for jl in range(len(JACK_SIZES)):
            kl = k - jl
            if 0 <= kl < len(KNOB_SIZES):
                kd, kw, kh = KNOB_SIZES[kl]
                jw, jh = JACK_SIZES[jl]
                if jack_height(jw, jh) + param_height(kw, kh) <= room:
                    choice = (kd, kw, kh, jw, jh)
                    break
        if choice:
            break
    if choice is None:  # a very crowded panel: the smallest cells, squeezed to fit
        kd, kw, _ = KNOB_SIZES[-1]
        jw, jh = JACK_SIZES[-1]
        kh = max(20, (room - jack_height(jw, jh)) // max(1, _grid(len(params), inner, kw)[1]))
        choice = (kd, kw, kh, jw, jh)
    kd, kw, kh, jw, jh = choice

    widgets: list[Widget] = []

    def jacks(ports, kind, bottom):
        if not ports:
            return bottom, None
        cols, rows = _grid(len(ports), inner, jw)
        top = bottom - rows * jh
        for i, (r, x, cw) in enumerate(_place(len(ports), cols, inner)):
            cy = top + (r + 1) * jh - JACK_R - 3
            widgets.append(Widget(kind, ports[i].name, i, x, cy, JACK_R + 2, "jack", ports[i].title, int(cw) - 2))
        return top, (3, top - 2, w - 6, bottom - top + 4)

    out_top, plate = jacks(outs, "output", h - BOTTOM)
    ports_top, _ = jacks(ins, "input", out_top - (8 if outs and ins else 0))

    top = TITLE_H + 4
    params_bottom = top
    if params:
        cols, rows = _grid(len(params), inner, kw)
        for i, (r, x, cw) in enumerate(_place(len(params), cols, inner)):
            p = params[i]
            cy = top + r * kh + min(14, kh - kd) + kd / 2
            style = "switch" if p.options or (p.integer and p.max - p.min <= 2) else "knob"
            widgets.append(Widget("param", p.name, i, x, cy, kd / 2, style, p.title, int(cw) - 2))
        params_bottom = top + rows * kh
    free = (6, params_bottom + 2, w - 12, ports_top - 8 - params_bottom)
    display = free if free[3] >= 36 and free[2] >= 40 else None
    return PanelLayout(w, h, tuple(widgets), display, plate)


# --- positions ----------------------------------------------------------------------

def module_rect(spec, models) -> tuple[int, int, int, int]:
    col, row = spec.pos or (0, 0)
    return col * HP, row * ROW_H, models[spec.model].hp * HP, ROW_H


def occupied(patch, models, row: int, ignore: str | None = None) -> list[tuple[int, int]]:
    """Column intervals [start, end) taken in ``row``, sorted."""
    spans = []
    for m in patch.modules:
        if m.id == ignore or m.pos is None or m.pos[1] != row:
            continue
        spans.append((m.pos[0], m.pos[0] + models[m.model].hp))
    return sorted(spans)


def free_column(spans: list[tuple[int, int]], hp: int, want: int) -> int:
    """The column nearest ``want`` (>= 0) where ``hp`` columns fit between ``spans``."""
    def fits(c):
        return c >= 0 and all(c + hp <= a or c >= b for a, b in spans)

    cands = [max(0, want)] + [b for _, b in spans] + [a - hp for a, _ in spans]
    ok = [c for c in cands if fits(c)]
    return min(ok, key=lambda c: (abs(c - want), c))


def free_pos(patch, models, hp: int, want: tuple[int, int], ignore: str | None = None) -> tuple[int, int]:
    """Where a module of width ``hp`` goes when asked for ``want``: the same row, at
    the nearest column where it overlaps nothing."""
    col, row = int(want[0]), max(0, int(want[1]))
    return free_column(occupied(patch, models, row, ignore), hp, col), row


def normalize_positions(patch, models) -> None:
    """Give every module a position and resolve overlaps, in patch order: modules
    without ``pos`` go to the end of row 0, as VCV appends them."""
    placed = []
    for m in patch.modules:
        if m.pos is None:
            continue
        hp = models[m.model].hp
        spans = sorted((p.pos[0], p.pos[0] + models[p.model].hp) for p in placed if p.pos[1] == max(0, m.pos[1]))
        m.pos = (free_column(spans, hp, m.pos[0]), max(0, int(m.pos[1])))
        placed.append(m)
    for m in patch.modules:
        if m.pos is None:
            spans = occupied(patch, models, 0, ignore=m.id)
            end = max((b for _, b in spans), default=0)
            m.pos = (end, 0)


# --- hit testing --------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    module: str
    kind: str  # "param", "input", "output" or "panel"
    name: str = ""


def module_at(patch, models, x: float, y: float):
    for m in reversed(patch.modules):
        mx, my, mw, mh = module_rect(m, models)
        if mx <= x < mx + mw and my <= y < my + mh:
            return m
    return None


def hit(patch, models, x: float, y: float) -> Hit | None:
    """What is at world point (x, y): a widget of a module, a panel, or nothing."""
    m = module_at(patch, models, x, y)
    if m is None:
        return None
    mx, my, _, _ = module_rect(m, models)
    lay = panel_layout(models[m.model])
    lx, ly = x - mx, y - my
    for w in lay.widgets:
        reach = w.r + 3
        if (lx - w.x) ** 2 + (ly - w.y) ** 2 <= reach * reach:
            return Hit(m.id, w.kind, w.name)
    return Hit(m.id, "panel")


def port_pos(patch, models, ref: str, kind: str) -> tuple[float, float]:
    """World position of the jack ``module.port`` (kind "input" or "output")."""
    mid, _, port = ref.partition(".")
    spec = patch.module(mid)
    mx, my, _, _ = module_rect(spec, models)
    w = panel_layout(models[spec.model]).widget(kind, port)
    return mx + w.x, my + w.y


def extent(patch, models) -> tuple[int, int]:
    """World size covered by the modules (for scrolling and screenshots)."""
    w = h = 0
    for m in patch.modules:
        x, y, mw, mh = module_rect(m, models)
        w, h = max(w, x + mw), max(h, y + mh)
    return w, h
