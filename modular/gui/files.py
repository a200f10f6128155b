"""Files: the small in-window prompt that asks for a patch path (open, save as)."""

from __future__ import annotations

import os
from typing import Callable

import pygame

from . import theme as T
from .overlay import Overlay, TextField
from .panel import fit, font


def expand(path: str) -> str:
    """What the user typed, as a path: ``~`` expanded, ``.json`` added when missing."""
    path = os.path.expanduser(path.strip())
    if path and not os.path.splitext(path)[1]:
        path += ".json"
    return path


class Prompt(Overlay):
    """Asks for one line of text; Enter calls ``on_submit(text)``, Escape cancels.
    ``on_submit`` returns an error message to show (the prompt stays) or None."""

    def __init__(self, title: str, text: str, on_submit: Callable[[str], str | None],
                 screen_size: tuple[int, int]):
        self.title = title
        self.field = TextField(text)
        self.on_submit = on_submit
        self.error: str | None = None
        self.rect = pygame.Rect(0, 0, min(720, screen_size[0] - 40), 108)
        self.rect.center = (screen_size[0] // 2, screen_size[1] // 3)
        pygame.key.start_text_input()

    @property
    def text(self) -> str:
        return self.field.text

    def handle(self, event) -> bool:
        if self.field.handle(event):
            self.error = None
            return True
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                self.close()
            elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                err = self.on_submit(self.field.text)
                if err:
                    self.error = err
                else:
                    self.close()
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and not self.rect.collidepoint(event.pos):
            self.close()
        return event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP, pygame.MOUSEMOTION,
                              pygame.KEYUP, pygame.TEXTEDITING, pygame.MOUSEWHEEL)

    def draw(self, surf) -> None:
        r = self.rect
        pygame.draw.rect(surf, T.MENU_BG, r, border_radius=6)
        pygame.draw.rect(surf, (90, 90, 100), r, 1, border_radius=6)
        surf.blit(font(19, True).render(self.title, True, T.MENU_FG), (r.left + 12, r.top + 10))
        field = pygame.Rect(r.left + 10, r.top + 34, r.width - 20, 28)
        pygame.draw.rect(surf, (24, 24, 28), field, border_radius=4)
        t = font(20).render(self.field.text + "|", True, T.MENU_FG)
        if t.get_width() > field.width - 12:  # keep the end of a long path in view
            surf.set_clip(field)
            surf.blit(t, (field.right - 6 - t.get_width(), field.top + 6))
            surf.set_clip(None)
        else:
            surf.blit(t, (field.left + 6, field.top + 6))
        msg = self.error or "Enter to confirm, Esc to cancel"
        color = (255, 120, 120) if self.error else T.MENU_DIM
        surf.blit(fit(font(16), msg, r.width - 24, color), (r.left + 12, r.top + 72))
