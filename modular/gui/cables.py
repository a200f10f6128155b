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


def outline(pts, width: float) -> list[tuple[float, float]]:
    """The polygon of a polyline ``width`` wide: one side, then the other, back."""
    h = width / 2
    left, right = [], []
    n = len(pts)
    for k in range(n):
        x0, y0 = pts[max(0, k - 1)]
        x1, y1 = pts[min(n - 1, k + 1)]
        dx, dy = x1 - x0, y1 - y0
        d = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / d * h, dx / d * h
        x, y = pts[k]
        left.append((x + nx, y + ny))
        right.append((x - nx, y - ny))
    return left + right[::-1]


def draw(surf, p1, p2, color: tuple[int, int, int], plugs: bool = True) -> None:
    """One cable: a dark edge, the coloured body, a highlight, and the plugs."""
    pts = curve(p1, p2)
    dark = tuple(int(c * 0.5) for c in color)
    pygame.draw.polygon(surf, dark, outline(pts, WIDTH + 2))
    pygame.draw.polygon(surf, color, outline(pts, WIDTH - 1))
    light = tuple(min(255, int(c * 0.6 + 110)) for c in color)
    pygame.draw.lines(surf, light, False, [(x - 1, y - 1) for x, y in pts[2:-2]], 1)
    if plugs:
        for p in (p1, p2):
            W.plug(surf, p[0], p[1], color)
