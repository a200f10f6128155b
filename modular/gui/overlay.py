"""Base of the things drawn over the rack that take the keyboard and mouse first:
the module browser, menus, the file prompt, the server browser."""

from __future__ import annotations

import pygame


class Overlay:
    done = False

    def handle(self, event) -> bool:
        """Take an event; True when it was used (the rack does not see it)."""
        return False

    def draw(self, surf: pygame.Surface) -> None:
        pass

    def close(self) -> None:
        self.done = True


class TextField:
    """One line of editable text: typing, backspace, Ctrl-Backspace, paste-free."""

    def __init__(self, text: str = ""):
        self.text = text

    def handle(self, event) -> bool:
        if event.type == pygame.TEXTINPUT:
            self.text += event.text
            return True
        if event.type == pygame.KEYDOWN and event.key == pygame.K_BACKSPACE:
            if getattr(event, "mod", 0) & pygame.KMOD_CTRL:
                self.text = self.text.rstrip().rsplit(" ", 1)[0] if " " in self.text.strip() else ""
            else:
                self.text = self.text[:-1]
            return True
        return False
