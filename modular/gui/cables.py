"""Cables: the hanging curve between two jacks, as VCV Rack draws it, and their drawing."""

from __future__ import annotations

import math

import pygame

from . import theme as T
from . import widgets as W

TENSION = 0.5  # VCV's default cable tension
SEGMENTS = 20
WIDTH = 6


def curve(p1: tuple[float, float], p2: tuple[float, float], segments: int = SEGMENTS) -> list[tuple[float, float]]:
    """Points of a cable hanging from p1 to p2: a quadratic Bézier whose middle
    control point slumps by (1 - tension) * (150 + distance), as in VCV Rack."""
    (x1, y1), (x2, y2) = p1, p2
    dist = math.hypot(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 + (1 - TENSION) * (150 + dist)
    pts = []
    for k in range(segments + 1):
        t = k / segments
        u = 1 - t
        pts.append((u * u * x1 + 2 * u * t * cx + t * t * x2, u * u * y1 + 2 * u * t * cy + t * t * y2))
    return pts


def _thick(surf, color, pts, width) -> None:
    pygame.draw.lines(surf, color, False, pts, width)
    r = width // 2
    for x, y in pts[1:-1]:
        pygame.draw.circle(surf, color, (int(x), int(y)), r)


def draw(surf, p1, p2, color: tuple[int, int, int], plugs: bool = True) -> None:
    """One cable with its shadow, outline and plugs."""
    pts = curve(p1, p2)
    shadow = [(x + 2, y + 4) for x, y in pts]
    _thick(surf, (0, 0, 0, 70), shadow, WIDTH)
    dark = tuple(int(c * 0.55) for c in color)
    _thick(surf, dark, pts, WIDTH + 2)
    _thick(surf, color, pts, WIDTH - 2)
    if plugs:
        for p in (p1, p2):
            W.plug(surf, p[0], p[1], color)
