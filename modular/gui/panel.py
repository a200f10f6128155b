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


def _screw(surf, x, y):
    W.disc(surf, x, y, 5, T.SCREW_DARK)
    W.disc(surf, x, y, 4, T.SCREW)
    pygame.draw.line(surf, T.SCREW_DARK, (x - 3, y + 2), (x + 3, y - 2), 2)


class PanelPainter:
    def __init__(self):
        self._cache: dict = {}

    def background(self, cls) -> pygame.Surface:
        surf = self._cache.get(cls)
        if surf is None:
            surf = self._cache[cls] = self._draw_background(cls)
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
        small = font(13)
        for wd in lay.widgets:
            if wd.kind == "param":
                cls_p = cls.params[wd.index]
                lab = fit(small, cls_p.title, int(max(30, wd.r * 2 + 16)), T.PANEL_LABEL)
                s.blit(lab, (wd.x - lab.get_width() / 2, wd.y - wd.r - 13 - (3 if wd.style == "knob" else 1)))
                if wd.style == "knob":
                    W.knob_body(s, wd.x, wd.y, wd.r)
            else:
                color = T.OUT_TEXT if wd.kind == "output" else T.PANEL_LABEL
                lab = fit(small, wd.label, 34, color)
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
        for i, tr in enumerate(traces):
            a = np.asarray(tr, np.float32).ravel()
            if a.size < 2:
                continue
            idx = np.linspace(0, a.size - 1, rect.width).astype(np.int64)
            ys = mid - np.clip(a[idx], -10.0, 10.0) / 10.0 * half
            xs = rect.left + np.arange(rect.width)
            pts = np.stack([xs, ys], axis=1).tolist()
            pygame.draw.lines(surf, T.SCOPE_COLORS[i % len(T.SCOPE_COLORS)], False, pts, 1)

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
