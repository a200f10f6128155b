"""The patch being edited: every edit the GUI makes, undoable, with the file it
came from. No display needed; the app listens through ``on_change``.

Edits are grouped into steps: a plain edit method makes one step by itself; a gesture
calls ``begin()`` when it starts and ``commit(label)`` when it ends, and every change in
between (a knob dragged through a hundred values) is one step.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Callable

from .. import patch as patchmod
from ..patch import Cable, ModuleSpec, Patch, PatchError
from . import rack
from .history import History
from .theme import CABLE_COLORS


def new_id(patch: Patch, model: str) -> str:
    """A readable id not yet used: "vco", then "vco2", "vco3"..."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", model.rsplit(".", 1)[-1].lower()) or "module"
    if not re.match(r"[A-Za-z_]", base):
        base = "m_" + base
    taken = {m.id for m in patch.modules}
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


class Document:
    def __init__(self, models: dict, patch: Patch | None = None, path: str | None = None):
        self.models = models
        self.patch = patch or Patch()
        self.path = path
        self.history = History()
        self.saved = self._doc()
        self._before: dict | None = None
        self._color = 0
        # Called with the document after every change to the patch (edit, undo, open).
        self.on_change: list[Callable[[Document], None]] = []
        rack.normalize_positions(self.patch, models)
        self.saved = self._doc()

    # --- snapshots --------------------------------------------------------------------

    def _doc(self) -> dict:
        return copy.deepcopy(self.patch.to_dict())

    def _restore(self, doc: dict) -> None:
        self.patch = patchmod.from_dict(copy.deepcopy(doc))
        self._changed()

    def _changed(self) -> None:
        for fn in self.on_change:
            fn(self)

    @property
    def dirty(self) -> bool:
        return self._doc() != self.saved

    def begin(self) -> None:
        """Start a gesture: later changes until ``commit`` make one undo step."""
        if self._before is None:
            self._before = self._doc()

    def commit(self, label: str) -> bool:
        """End the gesture; True when it changed the patch (and made a step)."""
        before, self._before = self._before, None
        if before is None or before == self._doc():
            return False
        self.history.push(label, before)
        self._changed()
        return True

    def cancel(self) -> None:
        """Abandon the gesture, putting the patch back as it was."""
        before, self._before = self._before, None
        if before is not None and before != self._doc():
            self._restore(before)

    def _edit(self, label: str, fn):
        outer = self._before is not None
        self.begin()
        try:
            result = fn()
        except Exception:
            if not outer:
                self.cancel()
            raise
        if not outer:
            self.commit(label)
        return result

    # --- undo -------------------------------------------------------------------------

    def undo(self) -> bool:
        doc = self.history.undo(self._doc())
        if doc is None:
            return False
        self._restore(doc)
        return True

    def redo(self) -> bool:
        doc = self.history.redo(self._doc())
        if doc is None:
            return False
        self._restore(doc)
        return True

    # --- modules ----------------------------------------------------------------------

    def spec(self, module_id: str) -> ModuleSpec:
        return self.patch.module(module_id)

    def add_module(self, model: str, pos: tuple[int, int] = (0, 0), data: dict | None = None,
                   params: dict | None = None) -> str:
        cls = self.models[model]

        def do():
            mid = new_id(self.patch, model)
            where = rack.free_pos(self.patch, self.models, cls.hp, pos)
            self.patch.modules.append(ModuleSpec(mid, model, dict(params or {}), dict(data or {}), where))
            return mid
        return self._edit(f"add {model}", do)

    def remove_module(self, module_id: str) -> None:
        def do():
            self.patch.modules = [m for m in self.patch.modules if m.id != module_id]
            self.patch.cables = [c for c in self.patch.cables
                                 if c.src_module != module_id and c.dst_module != module_id]
        self._edit(f"delete {module_id}", do)

    def duplicate(self, module_id: str) -> str:
        """A copy with the same params and data, placed right of the original."""
        src = self.spec(module_id)
        hp = self.models[src.model].hp
        return self.add_module(src.model, (src.pos[0] + hp, src.pos[1]), copy.deepcopy(src.data),
                               dict(src.params))

    def reset_module(self, module_id: str) -> None:
        def do():
            self.spec(module_id).params.clear()
        self._edit(f"reset {module_id}", do)

    def move_module(self, module_id: str, pos: tuple[int, int]) -> tuple[int, int]:
        """Move to the free position nearest ``pos``; returns where it went."""
        spec = self.spec(module_id)
        where = rack.free_pos(self.patch, self.models, self.models[spec.model].hp, pos, ignore=module_id)

        def do():
            spec.pos = where
        self._edit(f"move {module_id}", do)
        return where

    def set_data(self, module_id: str, key: str, value) -> None:
        def do():
            self.spec(module_id).data[key] = value
        self._edit(f"set {module_id}.{key}", do)

    # --- params -----------------------------------------------------------------------

    def param(self, module_id: str, name: str) -> float:
        spec = self.spec(module_id)
        p = self.models[spec.model].params[self.models[spec.model].param_index(name)]
        return float(spec.params.get(name, p.default))

    def set_param(self, module_id: str, name: str, value: float) -> float:
        spec = self.spec(module_id)
        cls = self.models[spec.model]
        p = cls.params[cls.param_index(name)]
        v = p.clamp(value)

        def do():
            if v == p.default:
                spec.params.pop(name, None)
            else:
                spec.params[name] = int(v) if (p.integer or p.options) else v
        self._edit(f"set {module_id}.{name}", do)
        return v

    # --- cables -----------------------------------------------------------------------

    def next_color(self) -> str:
        c = CABLE_COLORS[self._color % len(CABLE_COLORS)]
        return c

    def cable_into(self, dst: str) -> Cable | None:
        for c in self.patch.cables:
            if c.dst == dst:
                return c
        return None

    def cables_from(self, src: str) -> list[Cable]:
        return [c for c in self.patch.cables if c.src == src]

    def add_cable(self, src: str, dst: str, color: str | None = None) -> Cable:
        """Patch ``src`` (an output) to ``dst`` (an input); an input takes one cable,
        so a cable already there is replaced."""
        def do():
            cable = Cable(src, dst, color or self.next_color())
            if color is None or color == self.next_color():
                self._color += 1
            self.patch.cables = [c for c in self.patch.cables if c.dst != dst] + [cable]
            patchmod.validate(self.patch)
            return cable
        return self._edit(f"patch {src} -> {dst}", do)

    def remove_cable(self, cable: Cable) -> None:
        def do():
            self.patch.cables = [c for c in self.patch.cables if c is not cable]
        self._edit(f"unpatch {cable.src} -> {cable.dst}", do)

    # --- files ------------------------------------------------------------------------

    def new(self) -> None:
        self.patch = Patch()
        self.path = None
        self._reset()

    def open(self, path: str) -> None:
        """Load a patch file (an error leaves the document as it was)."""
        p = patchmod.load(path)
        rack.normalize_positions(p, self.models)
        self.patch = p
        self.path = str(path)
        self._reset()

    def save(self, path: str | None = None) -> str:
        path = str(path or self.path or "")
        if not path:
            raise PatchError("no file name to save to")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        patchmod.save(self.patch, path)
        self.path = path
        self.saved = self._doc()
        return path

    def _reset(self) -> None:
        self._before = None
        self.history.clear()
        self.saved = self._doc()
        self._changed()

    def title(self) -> str:
        name = self.path or "untitled"
        return f"{'*' if self.dirty else ''}{name} — modular"
