"""Drawing knobs, switches, jacks and lights, and formatting param values."""

from __future__ import annotations

import math

import pygame
import pygame.gfxdraw as gfx

from . import theme as T

SWEEP = math.radians(150)  # a knob turns from -150° to +150° around straight up


def format_value(param, value: float) -> str:
    if param.options:
        i = int(round(value - param.min))
        return param.options[max(0, min(i, len(param.options) - 1))]
    if param.integer:
        return f"{int(round(value))}{(' ' + param.unit) if param.unit else ''}"
    text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    if text in ("-0", ""):
        text = "0"
    return f"{text} {param.unit}".strip()


def fraction(param, value: float) -> float:
    span = param.max - param.min
    return 0.0 if span <= 0 else min(1.0, max(0.0, (value - param.min) / span))


def disc(surf, x, y, r, color) -> None:
    x, y, r = int(round(x)), int(round(y)), int(round(r))
    gfx.filled_circle(surf, x, y, r, color)
    gfx.aacircle(surf, x, y, r, color)


def knob_body(surf, x: float, y: float, r: float) -> None:
    """The static part of a knob: rim, body, cap (drawn once into the panel cache)."""
    disc(surf, x, y + 1.5, r + 1, (0, 0, 0, 60))
    disc(surf, x, y, r, T.KNOB_RIM)
    disc(surf, x, y, r - 2, T.KNOB_BODY)
    disc(surf, x, y, r * 0.55, T.KNOB_CAP)


def knob_face(surf, x: float, y: float, r: float, frac: float, bipolar: bool, active: bool = False) -> None:
    """The moving part: the value arc around the knob and its pointer."""
    a0 = -SWEEP if not bipolar else 0.0
    a1 = -SWEEP + 2 * SWEEP * frac
    lo, hi = min(a0, a1), max(a0, a1)
    color = T.KNOB_ARC if not active else (255, 220, 120)
    ar = r + 3
    if hi - lo > 0.02:
        steps = max(2, int((hi - lo) * ar / 3))
        pts = [(x + ar * math.sin(lo + (hi - lo) * k / steps), y - ar * math.cos(lo + (hi - lo) * k / steps))
               for k in range(steps + 1)]
        pygame.draw.lines(surf, color, False, pts, 2)
    ang = a1
    sx, sy = math.sin(ang), -math.cos(ang)
    pygame.draw.line(surf, T.KNOB_MARK, (x + sx * r * 0.3, y + sy * r * 0.3), (x + sx * (r - 3), y + sy * (r - 3)), 3)


def switch(surf, x: float, y: float, index: int, count: int) -> None:
    """A vertical toggle: the lever at the top for the first position, down for the last."""
    w, h = T.SWITCH_W, T.SWITCH_H
    rect = pygame.Rect(0, 0, w, h)
    rect.center = (int(x), int(y))
    pygame.draw.rect(surf, T.KNOB_RIM, rect, border_radius=3)
    pygame.draw.rect(surf, (90, 90, 96), rect.inflate(-4, -4), border_radius=2)
    frac = 0.0 if count <= 1 else index / (count - 1)
    lever = pygame.Rect(0, 0, w - 4, h // 2 - 1)
    lever.centerx = rect.centerx
    lever.top = rect.top + 2 + int(frac * (h - 4 - lever.height))
    pygame.draw.rect(surf, (230, 230, 232), lever, border_radius=2)


def jack(surf, x: float, y: float) -> None:
    """A 3.5 mm socket, VCV's silver nut around a dark hole."""
    disc(surf, x, y + 1.5, T.JACK_R + 1, (0, 0, 0, 70))
    disc(surf, x, y, T.JACK_R, T.JACK_OUTER)
    disc(surf, x, y, T.JACK_R - 3, T.JACK_RING)
    disc(surf, x, y, T.JACK_R - 5, T.JACK_HOLE)


def light(surf, x: float, y: float, vmax: float, vmin: float, r: int = 3) -> None:
    """A port light: green for positive volts, red for negative, brightness by level."""
    g = min(1.0, max(0.0, vmax) / 5.0)
    rd = min(1.0, max(0.0, -vmin) / 5.0)
    base = T.LIGHT_OFF
    color = tuple(int(min(255, base[k] + T.LIGHT_POS[k] * g + T.LIGHT_NEG[k] * rd)) for k in range(3))
    disc(surf, x, y, r, color)


def plug(surf, x: float, y: float, color) -> None:
    """The plug at a cable's end, seen from above."""
    disc(surf, x, y, T.JACK_R - 1, (20, 20, 20))
    disc(surf, x, y, T.JACK_R - 2, color)
    disc(surf, x, y, T.JACK_R - 6, tuple(int(c * 0.45) for c in color))
