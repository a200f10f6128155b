"""The module browser: every installed model, searchable; picking one adds it."""

from __future__ import annotations

from typing import Callable

import pygame

from . import theme as T
from .overlay import Overlay, TextField
from .panel import fit, font

ROW = 40
W, H = 560, 480


def search(models: dict, query: str) -> list[str]:
    """Model names matching every word of ``query`` in their name, title, description
    or tags; names starting with the query first, then alphabetical."""
    words = query.lower().split()
    hits = []
    for name, cls in models.items():
        hay = " ".join([name, cls.title or "", cls.description or "", " ".join(cls.tags)]).lower()
        if all(w in hay for w in words):
            short = name.rsplit(".", 1)[-1].lower()
            rank = 0 if words and short.startswith(words[0]) else 1 if words and words[0] in name.lower() else 2
            hits.append((rank if words else 0, name.lower(), name))
    return [n for _, _, n in sorted(hits)]


class Browser(Overlay):
    def __init__(self, models: dict, on_pick: Callable[[str], None], screen_size: tuple[int, int]):
        self.models = models
        self.on_pick = on_pick
        self.field = TextField()
        self.sel = 0
        self.top = 0
        self.rect = pygame.Rect(0, 0, W, min(H, screen_size[1] - 60))
        self.rect.center = (screen_size[0] // 2, screen_size[1] // 2)
        self.results = search(models, "")
        pygame.key.start_text_input()

    @property
    def query(self) -> str:
        return self.field.text

    def _visible(self) -> int:
        return max(1, (self.rect.height - 48) // ROW)

    def _row_at(self, pos) -> int | None:
        x, y = pos
        if not self.rect.collidepoint(pos) or y < self.rect.top + 44:
            return None
        i = self.top + (y - self.rect.top - 44) // ROW
        return i if i < len(self.results) else None

    def _pick(self, i: int) -> None:
        if 0 <= i < len(self.results):
            self.close()
            self.on_pick(self.results[i])

    def handle(self, event) -> bool:
        if self.field.handle(event):
            self.results = search(self.models, self.field.text)
            self.sel = self.top = 0
            return True
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                self.close()
            elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self._pick(self.sel)
            elif event.key == pygame.K_DOWN:
                self.sel = min(len(self.results) - 1, self.sel + 1)
            elif event.key == pygame.K_UP:
                self.sel = max(0, self.sel - 1)
            if self.sel < self.top:
                self.top = self.sel
            elif self.sel >= self.top + self._visible():
                self.top = self.sel - self._visible() + 1
            return True
        if event.type == pygame.MOUSEBUTTONDOWN:
            if event.button == 1:
                i = self._row_at(event.pos)
                if i is not None:
                    self._pick(i)
                elif not self.rect.collidepoint(event.pos):
                    self.close()
            elif event.button in (4, 5):
                self.top = max(0, min(len(self.results) - 1, self.top + (1 if event.button == 5 else -1)))
            return True
        if event.type == pygame.MOUSEWHEEL:
            self.top = max(0, min(max(0, len(self.results) - self._visible()), self.top - event.y))
            return True
        if event.type == pygame.MOUSEMOTION:
            i = self._row_at(event.pos)
            if i is not None:
                self.sel = i
            return True
        return event.type in (pygame.MOUSEBUTTONUP, pygame.KEYUP, pygame.TEXTEDITING)

    def draw(self, surf) -> None:
        r = self.rect
        shade = pygame.Surface(surf.get_size(), pygame.SRCALPHA)
        shade.fill((0, 0, 0, 110))
        surf.blit(shade, (0, 0))
        pygame.draw.rect(surf, T.MENU_BG, r, border_radius=6)
        pygame.draw.rect(surf, (90, 90, 100), r, 1, border_radius=6)
        field = pygame.Rect(r.left + 10, r.top + 10, r.width - 20, 26)
        pygame.draw.rect(surf, (24, 24, 28), field, border_radius=4)
        text = self.query or "Search modules…"
        t = font(20).render(text + ("|" if self.query else ""), True, T.MENU_FG if self.query else T.MENU_DIM)
        surf.blit(t, (field.left + 6, field.top + 5))
        n = self._visible()
        for k, name in enumerate(self.results[self.top:self.top + n]):
            i = self.top + k
            row = pygame.Rect(r.left + 6, r.top + 44 + k * ROW, r.width - 12, ROW - 2)
            if i == self.sel:
                pygame.draw.rect(surf, T.MENU_HI, row, border_radius=4)
            cls = self.models[name]
            surf.blit(font(19, True).render(name, True, T.MENU_FG), (row.left + 8, row.top + 4))
            hp = font(15).render(f"{cls.hp} HP", True, T.MENU_DIM)
            surf.blit(hp, (row.right - hp.get_width() - 8, row.top + 5))
            desc = fit(font(15), cls.description or cls.title or "", row.width - 16, (200, 200, 210))
            surf.blit(desc, (row.left + 8, row.top + 22))
        if not self.results:
            surf.blit(font(18).render("no module matches", True, T.MENU_DIM), (r.left + 16, r.top + 54))
