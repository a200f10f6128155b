"""A right-click menu: a list of labelled actions."""

from __future__ import annotations

from typing import Callable

import pygame

from . import theme as T
from .overlay import Overlay
from .panel import font

ITEM_H = 24


class Menu(Overlay):
    def __init__(self, pos: tuple[int, int], items: list[tuple[str, Callable[[], None] | None]],
                 screen_size: tuple[int, int], title: str | None = None):
        self.items = items
        self.title = title
        f = font(18)
        w = max([f.size(label)[0] for label, _ in items] + [f.size(title or "")[0]]) + 28
        h = ITEM_H * (len(items) + (1 if title else 0)) + 6
        x = min(pos[0], screen_size[0] - w - 2)
        y = min(pos[1], screen_size[1] - h - 2)
        self.rect = pygame.Rect(x, y, w, h)
        self.hover = -1

    def _item_at(self, pos) -> int:
        if not self.rect.collidepoint(pos):
            return -1
        i = (pos[1] - self.rect.top - 3) // ITEM_H - (1 if self.title else 0)
        return i if 0 <= i < len(self.items) else -1

    def handle(self, event) -> bool:
        if event.type == pygame.MOUSEMOTION:
            self.hover = self._item_at(event.pos)
            return True
        if event.type == pygame.MOUSEBUTTONDOWN:
            i = self._item_at(event.pos)
            self.close()
            if i >= 0 and self.items[i][1] is not None:
                self.items[i][1]()
                return True
            return self.rect.collidepoint(event.pos)
        if event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE:
            self.close()
            return True
        return event.type == pygame.MOUSEBUTTONUP

    def draw(self, surf) -> None:
        pygame.draw.rect(surf, T.MENU_BG, self.rect, border_radius=4)
        pygame.draw.rect(surf, (90, 90, 100), self.rect, 1, border_radius=4)
        y = self.rect.top + 3
        f = font(18)
        if self.title:
            surf.blit(font(18, True).render(self.title, True, T.MENU_DIM), (self.rect.left + 12, y + 5))
            y += ITEM_H
        for i, (label, action) in enumerate(self.items):
            row = pygame.Rect(self.rect.left + 3, y, self.rect.width - 6, ITEM_H)
            if i == self.hover and action is not None:
                pygame.draw.rect(surf, T.MENU_HI, row, border_radius=3)
            surf.blit(f.render(label, True, T.MENU_FG if action else T.MENU_DIM), (row.left + 9, row.top + 5))
            y += ITEM_H
