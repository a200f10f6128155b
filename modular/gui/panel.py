"""Drawing a module's panel from its declarations.

The static part (plate, screws, title, labels, knob bodies, jacks) is drawn once per
model into a cached surface; each frame blits it and draws what moves: knob pointers,
switches, port lights, a scope's traces, status lines and the CPU meter.
"""

from __future__ import annotations

import numpy as np
import pygame

from . import theme as T
from . import widgets as W
from .rack import panel_layout

_fonts: dict = {}


def font(size: int, bold: bool = False) -> pygame.font.Font:
    key = (size, bold)
    f = _fonts.get(key)
    if f is None:
        if not pygame.font.get_init():
            pygame.font.init()
        f = pygame.font.Font(None, size)
        f.set_bold(bold)
        _fonts[key] = f
    return f


def fit(f: pygame.font.Font, text: str, width: int, color) -> pygame.Surface:
    """Render ``text`` no wider than ``width``, cutting it with an ellipsis."""
    s = f.render(text, True, color)
    while s.get_width() > width and len(text) > 1:
        text = text[:-1]
        s = f.render(text + "…" if len(text) > 2 else text, True, color)
    return s


def label(f: pygame.font.Font, title: str, name: str, width: int, color) -> pygame.Surface:
    """A widget's label: its title, or its short name when the title does not fit
    ("Pulse width" -> "PW"), cut with an ellipsis as a last resort."""
    s = f.render(title, True, color)
    if s.get_width() <= width:
        return s
    short = name.replace("_", " ")
    short = short.upper() if len(short) <= 4 else short.capitalize()
    return fit(f, short, width, color)


def _screw(surf, x, y):
    W.disc(surf, x, y, 5, T.SCREW_DARK)
    W.disc(surf, x, y, 4, T.SCREW)
    pygame.draw.line(surf, T.SCREW_DARK, (x - 3, y + 2), (x + 3, y - 2), 2)


def scope_lines(traces) -> list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """Traces to draw, as (line, min, max) 1-D arrays in volts, from either form a
    module offers: ``scope_traces()``, a list of arrays (one trace per row), or
    core.Scope's ``traces()`` dict (``in1``/``in2`` with ``_min``/``_max`` ranges)."""
    out = []
    if isinstance(traces, dict):
        for name in ("in1", "in2"):
            mids = traces.get(name)
            if mids is None:
                continue
            mids = np.atleast_2d(np.asarray(mids, np.float32))
            los, his = traces.get(name + "_min"), traces.get(name + "_max")
            for c in range(mids.shape[0]):
                out.append((mids[c], None if los is None else np.asarray(los[c], np.float32),
                            None if his is None else np.asarray(his[c], np.float32)))
        return out
    for tr in traces or ():
        a = np.atleast_2d(np.asarray(tr, np.float32))
        out.extend((row, None, None) for row in a)
    return out


class PanelPainter:
    def __init__(self):
        self._cache: dict = {}

    def background(self, cls) -> pygame.Surface:
        surf = self._cache.get(cls)
        if surf is None:
            surf = self._draw_background(cls)
            if pygame.display.get_surface() is not None:
                surf = surf.convert()  # opaque, in the screen's format: the fastest blit
            self._cache[cls] = surf
        return surf

    def _draw_background(self, cls) -> pygame.Surface:
        lay = panel_layout(cls)
        w, h = lay.w, lay.h
        s = pygame.Surface((w, h), pygame.SRCALPHA)
        s.fill(T.PANEL)
        for y in range(0, 24):  # a soft highlight under the top edge
            c = min(255, T.PANEL[0] + 10 - y // 3)
            pygame.draw.line(s, (c, c, c - 3), (0, y), (w, y))
        pygame.draw.rect(s, T.PANEL_EDGE, (0, 0, w, h), 1)
        pygame.draw.line(s, (250, 250, 248), (1, 1), (w - 2, 1))
        if w < 6 * T.HP:  # narrow panels: two screws, diagonally
            screws = ((7, 7), (w - 8, h - 8))
        else:
            screws = ((7, 7), (w - 8, 7), (7, h - 8), (w - 8, h - 8))
        for sx, sy in screws:
            _screw(s, sx, sy)
        title = cls.title or cls.model
        t = fit(font(19, True), title, w - 8, T.PANEL_TEXT)
        s.blit(t, ((w - t.get_width()) // 2, 16))
        if lay.plate:
            x, y, pw, ph = lay.plate
            pygame.draw.rect(s, T.OUT_PLATE, (x, y, pw, ph), border_radius=4)
        small = font(14)
        for wd in lay.widgets:
            if wd.kind == "param":
                cls_p = cls.params[wd.index]
                lab = label(small, cls_p.title, cls_p.name, wd.label_w, T.PANEL_LABEL)
                s.blit(lab, (wd.x - lab.get_width() / 2, wd.y - wd.r - 13 - (3 if wd.style == "knob" else 1)))
                if wd.style == "knob":
                    W.knob_body(s, wd.x, wd.y, wd.r)
            else:
                color = T.OUT_TEXT if wd.kind == "output" else T.PANEL_LABEL
                lab = label(small, wd.label, wd.name, wd.label_w, color)
                s.blit(lab, (wd.x - lab.get_width() / 2, wd.y - T.JACK_R - 13))
                W.jack(s, wd.x, wd.y)
        return s

    # --- every frame ------------------------------------------------------------------

    def draw(self, surf, cls, x: int, y: int, values: dict, lights: dict, active: tuple | None = None) -> None:
        """Blit the panel at (x, y) with its params at ``values`` (name -> value) and
        lights ``lights`` ((kind, port) -> (vmax, vmin))."""
        surf.blit(self.background(cls), (x, y))
        lay = panel_layout(cls)
        for wd in lay.widgets:
            cx, cy = x + wd.x, y + wd.y
            if wd.kind == "param":
                p = cls.params[wd.index]
                v = values.get(wd.name, p.default)
                if wd.style == "knob":
                    W.knob_face(surf, cx, cy, wd.r, W.fraction(p, v), p.min < 0 < p.max,
                                active == ("param", wd.name))
                else:
                    W.switch(surf, cx, cy, int(round(v - p.min)), int(p.max - p.min) + 1)
            else:
                lv = lights.get((wd.kind, wd.name))
                if lv is not None:
                    W.light(surf, cx + T.JACK_R + 3, cy - T.JACK_R - 1, lv[0], lv[1], 2)

    def display(self, surf, cls, x: int, y: int, traces=None, status: dict | None = None) -> None:
        """The free area of a panel: a scope's traces, or status lines (radio modules)."""
        lay = panel_layout(cls)
        if lay.display is None or (traces is None and not status):
            return
        dx, dy, dw, dh = lay.display
        rect = pygame.Rect(x + dx, y + dy, dw, dh)
        pygame.draw.rect(surf, T.DISPLAY_BG, rect, border_radius=3)
        if traces is not None:
            self._scope(surf, rect.inflate(-4, -4), traces)
        elif status:
            f = font(13)
            ty = rect.top + 3
            for k, v in status.items():
                if ty + 11 > rect.bottom:
                    break
                if isinstance(v, float):
                    v = f"{v:.3g}"
                line = fit(f, f"{k}: {v}", rect.width - 6, T.DISPLAY_FG)
                surf.blit(line, (rect.left + 3, ty))
                ty += 12

    @staticmethod
    def _scope(surf, rect: pygame.Rect, traces) -> None:
        mid = rect.centery
        for k in range(1, 4):
            gy = rect.top + rect.height * k // 4
            pygame.draw.line(surf, T.DISPLAY_GRID, (rect.left, gy), (rect.right - 1, gy))
        half = rect.height / 2 - 1
        width = rect.width

        def ys(a):
            return mid - np.clip(a, -10.0, 10.0) / 10.0 * half

        for i, (line, lo, hi) in enumerate(scope_lines(traces)):
            n = line.size
            if n < 2:
                continue
            color = T.SCOPE_COLORS[i % len(T.SCOPE_COLORS)]
            if n > width:  # several points per pixel: reduce to each pixel's range
                starts = (np.arange(width) * n) // width
                lo = np.minimum.reduceat(lo if lo is not None else line, starts)
                hi = np.maximum.reduceat(hi if hi is not None else line, starts)
                line = 0.5 * (lo + hi)
                n = width
            xs = rect.left + np.arange(n) * (width - 1) / (n - 1)
            if lo is not None and hi is not None and float(np.max(hi - lo)) > 0.4:
                band = np.concatenate([np.stack([xs, ys(hi)], 1), np.stack([xs, ys(lo)], 1)[::-1]])
                dim = tuple(int(c * 0.55) for c in color)
                pygame.draw.polygon(surf, dim, band.tolist())
            pygame.draw.lines(surf, color, False, np.stack([xs, ys(line)], 1).tolist(), 1)

    def meter(self, surf, x: int, y: int, w: int, row: dict | None) -> None:
        """VCV's CPU meter over the panel top: microseconds per block and a bar."""
        box = pygame.Surface((w, 18), pygame.SRCALPHA)
        box.fill(T.METER_BG)
        if row is not None:
            frac = min(1.0, row["percent"] / 20.0)
            pygame.draw.rect(box, T.METER_FG, (0, 14, int(w * frac), 4))
            t = fit(font(14), f"{row['us_per_block']:.1f} µs {row['percent']:.1f}%", w - 4, (255, 255, 255))
            box.blit(t, (2, 1))
        surf.blit(box, (x, y))
