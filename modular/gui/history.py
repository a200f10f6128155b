"""Undo and redo for every patch edit, as whole-patch snapshots.

A patch document is small (a few kilobytes for a big rack), so each step keeps the
patch as it was before the edit; undo swaps it with the present, redo swaps back.
Gestures (a knob drag, a cable drag) make one step however many events they span.
"""

from __future__ import annotations

import copy


class History:
    def __init__(self, limit: int = 500):
        self.limit = limit
        self.undo_stack: list[tuple[str, dict]] = []
        self.redo_stack: list[tuple[str, dict]] = []

    def push(self, label: str, before: dict) -> None:
        """Record an edit named ``label``; ``before`` is the patch as it was."""
        self.undo_stack.append((label, copy.deepcopy(before)))
        del self.undo_stack[:-self.limit]
        self.redo_stack.clear()

    def undo(self, current: dict) -> dict | None:
        """The patch to go back to, or None; ``current`` becomes redoable."""
        if not self.undo_stack:
            return None
        label, before = self.undo_stack.pop()
        self.redo_stack.append((label, copy.deepcopy(current)))
        return before

    def redo(self, current: dict) -> dict | None:
        if not self.redo_stack:
            return None
        label, after = self.redo_stack.pop()
        self.undo_stack.append((label, copy.deepcopy(current)))
        return after

    def clear(self) -> None:
        self.undo_stack.clear()
        self.redo_stack.clear()

    @property
    def undo_label(self) -> str | None:
        return self.undo_stack[-1][0] if self.undo_stack else None

    @property
    def redo_label(self) -> str | None:
        return self.redo_stack[-1][0] if self.redo_stack else None
