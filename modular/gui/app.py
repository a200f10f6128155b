"""The rack window: the event loop, drags, the toolbar, and drawing each frame.

Everything the user does becomes an edit of the ``Document`` (undoable) and reaches the
engine through ``Live``: knob turns as ``set_param``, structural edits as
``Engine.update`` on a worker thread. The audio thread never waits on the window.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import pygame

from .. import plugins
from ..patch import PatchError
from . import cables as C
from . import rack as R
from . import theme as T
from . import widgets as W
from .browser import Browser
from .document import Document
from .files import Prompt, expand
from .live import Live
from .menu import Menu
from .panel import PanelPainter, fit, font
from .servers import default_fetch, server_menu

DOUBLE_CLICK = 0.4
KNOB_PIXELS = 240.0  # pixels of vertical drag for a knob's whole range
FINE = 0.1  # Shift or Ctrl while dragging: ten times finer
STATUS_PERIOD = 0.2
METER_PERIOD = 1.0
LIGHT_FALL = 0.85  # per frame


@dataclass
class Drag:
    kind: str  # "knob", "cable", "panel", "pan"
    module: str = ""
    name: str = ""
    # knob: the unclamped value the drag has reached; panel: grab offset; pan: scroll
    value: float = 0.0
    last: tuple = (0, 0)
    grab: tuple = (0, 0)
    # cable: the end that stays put ("mod.port", "input"/"output") and the colour
    fixed: str = ""
    fixed_kind: str = ""
    color: str = ""
    label: str = ""
    extra: dict = field(default_factory=dict)


class App:
    def __init__(self, path: str | None = None, size: tuple[int, int] = (1280, 800), live: bool = True,
                 use_card: bool = True, threaded: bool = True, fetch_streams=default_fetch):
        pygame.display.init()  # no mixer: the engine owns the sound card
        pygame.font.init()
        self.models = plugins.models()
        self.doc = Document(self.models)
        if path:
            self.doc.open(path)
        flags = pygame.RESIZABLE if os.environ.get("SDL_VIDEODRIVER") != "dummy" else 0
        self.screen = pygame.display.set_mode(size, flags)
        self.painter = PanelPainter()
        self.live = Live(self.doc.patch, run=live, use_card=use_card, threaded=threaded)
        self.doc.on_change.append(self._on_change)
        self.fetch_streams = fetch_streams
        self.scroll = [0, 0]
        self.drag: Drag | None = None
        self.overlay = None
        self.hover: R.Hit | None = None
        self.mouse = (0, 0)
        self.mods = 0
        self.meter_on = False
        self.message = ""
        self.message_t = 0.0
        self.running = True
        self._last_click = (0.0, None)
        self._press_pos = (0, 0)
        self._status: dict = {}
        self._status_t = 0.0
        self._meter: dict = {}
        self._meter_t = 0.0
        self._toolbar = None
        self._peaks: dict = {}
        self._title = None
        self.frames = 0
        self._update_title()

    # --- coordinates ------------------------------------------------------------------

    def to_world(self, pos) -> tuple[float, float]:
        return pos[0] + self.scroll[0], pos[1] - T.TOOLBAR_H + self.scroll[1]

    def to_screen(self, wpos) -> tuple[float, float]:
        return wpos[0] - self.scroll[0], wpos[1] + T.TOOLBAR_H - self.scroll[1]

    def jack_screen(self, module_id: str, kind: str, name: str) -> tuple[float, float]:
        """Screen position of a jack (for tests driving the GUI with mouse events)."""
        return self.to_screen(R.port_pos(self.doc.patch, self.models, f"{module_id}.{name}", kind))

    def widget_screen(self, module_id: str, kind: str, name: str) -> tuple[int, int]:
        spec = self.doc.spec(module_id)
        x, y, _, _ = R.module_rect(spec, self.models)
        w = R.panel_layout(self.models[spec.model]).widget(kind, name)
        sx, sy = self.to_screen((x + w.x, y + w.y))
        return int(sx), int(sy)

    def panel_screen(self, module_id: str) -> tuple[int, int]:
        """A point on the module's panel that hits no widget (its title)."""
        x, y, w, _ = R.module_rect(self.doc.spec(module_id), self.models)
        sx, sy = self.to_screen((x + w / 2, y + 22))
        return int(sx), int(sy)

    # --- the document and the engine ------------------------------------------------

    def _on_change(self, doc) -> None:
        self.live.sync(doc.patch)
        self._update_title()

    def _update_title(self) -> None:
        title = self.doc.title()
        if title != self._title:
            pygame.display.set_caption(title)
            self._title = title

    def say(self, text: str) -> None:
        self.message, self.message_t = text, time.monotonic()

    # --- actions (toolbar, keys, menus) -----------------------------------------------

    def quit(self) -> None:
        self.running = False

    def unless_unsaved(self, action, what: str) -> None:
        """Run ``action`` now, or after asking when the patch has unsaved changes."""
        if not self.doc.dirty:
            action()
            return
        items = []
        if self.doc.path:
            def save_then():
                if self.save_path(self.doc.path) is None:
                    action()
            items.append((f"Save, then {what}", save_then))
        items += [(f"Discard changes and {what}", action), ("Cancel", lambda: None)]
        w, h = self.size
        self.overlay = Menu((w // 2 - 120, h // 3), items, self.size, title="The patch has unsaved changes")

    def new(self) -> None:
        self.unless_unsaved(self._new, "start a new patch")

    def _new(self) -> None:
        self.doc.new()
        self.live.replace(self.doc.patch)
        self.scroll = [0, 0]
        self.say("new patch")

    def open_path(self, text: str) -> str | None:
        path = expand(text)
        try:
            self.doc.open(path)
        except PatchError as e:
            return str(e)
        self.live.replace(self.doc.patch)
        self.scroll = [0, 0]
        self.say(f"opened {path}")
        self._update_title()
        return None

    def save_path(self, text: str) -> str | None:
        path = expand(text)
        if not path:
            return "type a file name"
        try:
            self.doc.save(path)
        except (PatchError, OSError) as e:
            return str(e)
        self.say(f"saved {path}")
        self._update_title()
        return None

    def ask_open(self) -> None:
        self.unless_unsaved(self._ask_open, "open another")

    def _ask_open(self) -> None:
        self.overlay = Prompt("Open patch", self.doc.path or os.getcwd() + os.sep, self.open_path, self.size)

    def ask_save_as(self) -> None:
        self.overlay = Prompt("Save patch as", self.doc.path or os.path.join(os.getcwd(), "patch.json"),
                              self.save_path, self.size)

    def save(self) -> None:
        if self.doc.path:
            err = self.save_path(self.doc.path)
            if err:
                self.say(err)
        else:
            self.ask_save_as()

    def undo(self) -> None:
        self.say("undo" if self.doc.undo() else "nothing to undo")

    def redo(self) -> None:
        self.say("redo" if self.doc.redo() else "nothing to redo")

    def toggle_meter(self) -> None:
        self.meter_on = not self.meter_on
        self.live.engine.metering = self.meter_on
        self.live.engine.reset_meter()
        self._meter_t = 0.0

    def open_browser(self, at=None) -> None:
        wx, wy = self.to_world(at or self.mouse)
        if at is None and not (0 <= self.mouse[1] - T.TOOLBAR_H < self.rack_height):
            want = (R.extent(self.doc.patch, self.models)[0] // T.HP, 0)
        else:
            want = (int(wx // T.HP), int(max(0, wy) // T.ROW_H))

        def pick(model):
            mid = self.doc.add_module(model, want)
            self.say(f"added {mid}")
        self.overlay = Browser(self.models, pick, self.size)

    def module_menu(self, module_id: str, pos) -> None:
        spec = self.doc.spec(module_id)
        cls = self.models[spec.model]
        items = [
            ("Duplicate        Ctrl+D", lambda: self.doc.duplicate(module_id)),
            ("Reset params", lambda: self.doc.reset_module(module_id)),
            ("Delete           Del", lambda: self.doc.remove_module(module_id)),
        ]
        if "handle" in cls.data_keys:
            items.insert(0, ("Pick stream…", lambda: self.stream_menu(module_id, pos)))
        self.overlay = Menu(pos, items, self.size, title=f"{module_id} ({spec.model})")

    def stream_menu(self, module_id: str, pos) -> None:
        server = str(self.doc.spec(module_id).data.get("server", ""))
        try:
            items = self.fetch_streams(server)
        except Exception as e:  # a server that does not answer: say so, keep going
            self.say(f"{server}: {e}")
            items = []
        self.overlay = server_menu(pos, server, items, lambda h: self.doc.set_data(module_id, "handle", h), self.size)

    def toolbar(self) -> list[tuple[pygame.Rect, str, object]]:
        if self._toolbar is None:
            self._toolbar = self._make_toolbar()
        return self._toolbar

    def _make_toolbar(self) -> list[tuple[pygame.Rect, str, object]]:
        items = [("New", self.new), ("Open", self.ask_open), ("Save", self.save), ("Save as", self.ask_save_as),
                 ("Undo", self.undo), ("Redo", self.redo), ("Add module", lambda: self.open_browser(at=(0, 0))),
                 ("CPU meter", self.toggle_meter)]
        out, x = [], 6
        f = font(17)
        for label, action in items:
            w = f.size(label)[0] + 16
            out.append((pygame.Rect(x, 4, w, T.TOOLBAR_H - 8), label, action))
            x += w + 4
        return out

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.get_size()

    @property
    def rack_height(self) -> int:
        return self.size[1] - T.TOOLBAR_H - T.STATUS_H

    # --- events -----------------------------------------------------------------------

    def _mod(self, event) -> int:
        m = getattr(event, "mod", None)
        return self.mods | pygame.key.get_mods() if m is None else m

    def handle(self, event) -> None:
        if event.type == pygame.QUIT:
            self.unless_unsaved(self.quit, "quit")
            return
        if event.type in (pygame.KEYDOWN, pygame.KEYUP):
            self.mods = getattr(event, "mod", self.mods)
        if event.type == pygame.MOUSEMOTION:
            self.mouse = event.pos
        if event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
            self.screen = pygame.display.get_surface() or self.screen
        if self.overlay is not None:
            current = self.overlay
            used = current.handle(event)
            if current.done and self.overlay is current:  # an action may open the next one
                self.overlay = None
                pygame.key.stop_text_input()
            if used:
                return
        if event.type == pygame.KEYDOWN:
            self._key(event)
        elif event.type == pygame.MOUSEBUTTONDOWN:
            self.mouse = event.pos
            if event.button == 1:
                self._press(event)
            elif event.button == 3:
                self._right(event)
            elif event.button in (4, 5):  # old-style wheel events
                self.scroll[1] = max(0, self.scroll[1] + (60 if event.button == 5 else -60))
        elif event.type == pygame.MOUSEWHEEL:
            dx, dy = event.x, event.y
            if self.mods & pygame.KMOD_SHIFT:
                dx, dy = -dy, 0
            self.scroll[0] = max(0, self.scroll[0] - 40 * dx)
            self.scroll[1] = max(0, self.scroll[1] - 40 * dy)
        elif event.type == pygame.MOUSEMOTION:
            self._motion(event)
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self._release(event)

    def _key(self, event) -> None:
        mod, k = self._mod(event), event.key
        ctrl, shift = mod & (pygame.KMOD_CTRL | pygame.KMOD_META), mod & pygame.KMOD_SHIFT
        if ctrl:
            if k == pygame.K_n:
                self.new()
            elif k == pygame.K_o:
                self.ask_open()
            elif k == pygame.K_s:
                self.ask_save_as() if shift else self.save()
            elif k == pygame.K_z:
                self.redo() if shift else self.undo()
            elif k == pygame.K_y:
                self.redo()
            elif k == pygame.K_d and self._hovered() is not None:
                self.doc.duplicate(self._hovered())
            elif k == pygame.K_q:
                self.unless_unsaved(self.quit, "quit")
            return
        if k == pygame.K_ESCAPE and self.drag is not None:
            self.doc.cancel()
            self.drag = None
        elif k in (pygame.K_DELETE, pygame.K_BACKSPACE) and self._hovered() is not None and self.drag is None:
            self.doc.remove_module(self._hovered())
            self.hover = None
        elif k in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.open_browser()
        elif k == pygame.K_F3:
            self.toggle_meter()

    def _hovered(self) -> str | None:
        """The id of the module under the mouse, if it still exists."""
        h = self._hit(self.mouse)
        return h.module if h is not None else None

    def _hit(self, pos) -> R.Hit | None:
        if not T.TOOLBAR_H <= pos[1] < self.size[1] - T.STATUS_H:
            return None
        return R.hit(self.doc.patch, self.models, *self.to_world(pos))

    def _press(self, event) -> None:
        pos = self._press_pos = event.pos
        if pos[1] < T.TOOLBAR_H:
            for rect, _, action in self.toolbar():
                if rect.collidepoint(pos):
                    action()
            return
        h = self._hit(pos)
        now = time.monotonic()
        double = h is not None and self._last_click[1] == h and now - self._last_click[0] < DOUBLE_CLICK
        self._last_click = (0.0 if double else now, h)
        mod = self._mod(event)
        if h is None:
            self.drag = Drag("pan", last=pos, grab=tuple(self.scroll))
            return
        spec = self.doc.spec(h.module)
        cls = self.models[spec.model]
        if h.kind == "param":
            p = cls.params[cls.param_index(h.name)]
            lay = R.panel_layout(cls).widget("param", h.name)
            if double:
                self._set(h.module, h.name, p.default, commit=f"reset {h.module}.{h.name}")
            elif lay.style == "switch":
                v = self.doc.param(h.module, h.name) + 1
                self._set(h.module, h.name, p.min if v > p.max else v, commit=f"switch {h.module}.{h.name}")
            else:
                self.doc.begin()
                self.drag = Drag("knob", h.module, h.name, value=self.doc.param(h.module, h.name), last=pos)
        elif h.kind == "output":
            ref = f"{h.module}.{h.name}"
            existing = self.doc.cables_from(ref)
            self.doc.begin()
            if mod & pygame.KMOD_CTRL and existing:  # Ctrl-drag an output: move its newest cable
                c = existing[-1]
                self.doc.remove_cable(c)
                self.drag = Drag("cable", fixed=c.dst, fixed_kind="input", color=c.color or self.doc.next_color(),
                                 last=pos)
            else:
                self.drag = Drag("cable", fixed=ref, fixed_kind="output", color=self.doc.next_color(), last=pos)
        elif h.kind == "input":
            ref = f"{h.module}.{h.name}"
            c = self.doc.cable_into(ref)
            self.doc.begin()
            if c is not None:  # pick up the plugged end
                self.doc.remove_cable(c)
                self.drag = Drag("cable", fixed=c.src, fixed_kind="output", color=c.color or self.doc.next_color(),
                                 last=pos, extra={"picked": True})
            else:
                self.drag = Drag("cable", fixed=ref, fixed_kind="input", color=self.doc.next_color(), last=pos)
        else:
            x, y, _, _ = R.module_rect(spec, self.models)
            wx, wy = self.to_world(pos)
            self.doc.begin()
            self.drag = Drag("panel", h.module, grab=(wx - x, wy - y), last=pos)

    def _set(self, module_id: str, name: str, value: float, commit: str | None = None) -> float:
        self.doc.begin()
        v = self.doc.set_param(module_id, name, value)
        self.live.set_param(module_id, name, v)
        if commit:
            self.doc.commit(commit)
        return v

    def _motion(self, event) -> None:
        pos = event.pos
        d = self.drag
        if d is None:
            self.hover = self._hit(pos)
            return
        if d.kind == "knob":
            cls = self.models[self.doc.spec(d.module).model]
            p = cls.params[cls.param_index(d.name)]
            dy = d.last[1] - pos[1]
            fine = FINE if self._mod(event) & (pygame.KMOD_SHIFT | pygame.KMOD_CTRL) else 1.0
            d.value = min(p.max, max(p.min, d.value + dy * (p.max - p.min) / KNOB_PIXELS * fine))
            self._set(d.module, d.name, d.value)
            d.last = pos
        elif d.kind == "panel":
            wx, wy = self.to_world(pos)
            col = int(round((wx - d.grab[0]) / T.HP))
            row = int((wy - d.grab[1] + T.ROW_H / 2) // T.ROW_H)
            spec = self.doc.spec(d.module)
            if (col, max(0, row)) != tuple(spec.pos):
                self.doc.move_module(d.module, (col, row))
        elif d.kind == "pan":
            self.scroll[0] = max(0, d.grab[0] - (pos[0] - d.last[0]))
            self.scroll[1] = max(0, d.grab[1] - (pos[1] - d.last[1]))
            return
        self.hover = self._hit(pos)

    def _release(self, event) -> None:
        d, self.drag = self.drag, None
        if d is None:
            return
        start = self._press_pos
        if abs(event.pos[0] - start[0]) + abs(event.pos[1] - start[1]) > 3:
            self._last_click = (0.0, None)  # a drag, not a click: no double click after it
        if d.kind == "knob":
            self.doc.commit(f"turn {d.module}.{d.name}")
        elif d.kind == "panel":
            self.doc.commit(f"move {d.module}")
        elif d.kind == "cable":
            h = self._hit(event.pos)
            want = "input" if d.fixed_kind == "output" else "output"
            if h is not None and h.kind == want:
                ref = f"{h.module}.{h.name}"
                src, dst = (d.fixed, ref) if want == "input" else (ref, d.fixed)
                self.doc.add_cable(src, dst, d.color)
                self.doc.commit(f"patch {src} -> {dst}")
            else:
                self.doc.commit(f"unpatch {d.fixed}")
        self.hover = self._hit(event.pos)

    def _right(self, event) -> None:
        if self.drag is not None:
            return
        h = self._hit(event.pos)
        if h is None:
            if event.pos[1] >= T.TOOLBAR_H:
                self.open_browser(at=event.pos)
        else:
            self.module_menu(h.module, event.pos)

    # --- a frame ----------------------------------------------------------------------

    def step(self) -> None:
        """Handle the queued events, then draw one frame."""
        for event in pygame.event.get():
            self.handle(event)
        self.draw()
        pygame.display.flip()
        self.frames += 1

    def run(self) -> None:
        clock = pygame.time.Clock()
        try:
            while self.running:
                self.step()
                clock.tick(60)
        finally:
            self.close()

    def close(self) -> None:
        self.live.close()

    def screenshot(self, path: str) -> None:
        self.draw()
        pygame.image.save(self.screen, path)

    # --- drawing ----------------------------------------------------------------------

    def draw(self) -> None:
        self.live.poll()
        s = self.screen
        sw, sh = s.get_size()
        s.fill(T.RACK_BG)
        s.set_clip(pygame.Rect(0, T.TOOLBAR_H, sw, sh - T.TOOLBAR_H - T.STATUS_H))
        self._draw_rails(s)
        now = time.monotonic()
        if now - self._status_t > STATUS_PERIOD:
            self._status_t = now
            try:
                self._status = self.live.engine.status()
            except Exception:
                self._status = {}
        if self.meter_on and now - self._meter_t > METER_PERIOD:
            self._meter_t = now
            self._meter = {r["id"]: r for r in self.live.engine.meter()}
            self.live.engine.reset_meter()
        patch = self.doc.patch
        connected = {}
        for c in patch.cables:
            connected[c.dst] = c.src
        visible = []
        view = pygame.Rect(self.scroll[0], self.scroll[1], sw, sh)
        for spec in patch.modules:
            x, y, w, h = R.module_rect(spec, self.models)
            if not view.colliderect((x, y, w, h)):
                continue
            visible.append(spec)
            cls = self.models[spec.model]
            sx, sy = self.to_screen((x, y))
            lights = {}
            for o in cls.outputs:
                lights[("output", o.name)] = self._light(spec.id, o.name)
            for i in cls.inputs:
                src = connected.get(f"{spec.id}.{i.name}")
                if src is not None:
                    lights[("input", i.name)] = self._light(*src.split(".", 1))
            active = ("param", self.drag.name) if self.drag and self.drag.kind == "knob" and \
                self.drag.module == spec.id else None
            self.painter.draw(s, cls, sx, sy, spec.params, lights, active)
            inst = self.live.module(spec.id)
            traces = None
            if inst is not None and (hasattr(inst, "scope_traces") or spec.model == "core.Scope"):
                try:
                    traces = inst.scope_traces() if hasattr(inst, "scope_traces") else inst.traces()
                except Exception:  # a module's drawing hook must not stop the rack
                    traces = None
            self.painter.display(s, cls, sx, sy, traces, self._status.get(spec.id))
            if self.meter_on:
                self.painter.meter(s, sx + 1, sy + 1, w - 2, self._meter.get(spec.id))
            if self.drag and self.drag.kind == "panel" and self.drag.module == spec.id:
                pygame.draw.rect(s, (255, 255, 255), (sx, sy, w, h), 2)
        self._draw_cables(s)
        s.set_clip(None)
        self._draw_tooltip(s)
        self._draw_bars(s)
        if self.overlay is not None:
            self.overlay.draw(s)

    def _light(self, module_id: str, port: str) -> tuple[float, float]:
        """An output's level for its light: the last block's peaks, falling back
        slowly (a light does not flicker with each 1.3 ms block)."""
        key = (module_id, port, self.frames)
        hit = self._peaks.get(key[:2])
        if hit is not None and hit[2] == self.frames:
            return hit[0], hit[1]
        vmax, vmin = self.live.level(module_id, port)
        if hit is not None:
            vmax, vmin = max(vmax, hit[0] * LIGHT_FALL), min(vmin, hit[1] * LIGHT_FALL)
        self._peaks[key[:2]] = (vmax, vmin, self.frames)
        return vmax, vmin

    def _draw_rails(self, s) -> None:
        sw, sh = s.get_size()
        row0 = int(self.scroll[1] // T.ROW_H)
        row1 = int((self.scroll[1] + sh) // T.ROW_H) + 1
        x0 = -(self.scroll[0] % T.HP)
        for row in range(row0, row1):
            _, top = self.to_screen((0, row * T.ROW_H))
            for ry in (top, top + T.ROW_H - T.RAIL_H):
                pygame.draw.rect(s, T.RAIL, (0, ry, sw, T.RAIL_H))
                pygame.draw.line(s, (190, 190, 192), (0, ry), (sw, ry))
                pygame.draw.line(s, T.RAIL_DARK, (0, ry + T.RAIL_H - 1), (sw, ry + T.RAIL_H - 1))
                for hx in range(int(x0), sw, T.HP):
                    pygame.draw.rect(s, T.RAIL_HOLE, (hx + 5, ry + 5, 5, 5))

    def _draw_cables(self, s) -> None:
        sw, sh = s.get_size()
        patch = self.doc.patch
        for c in patch.cables:
            try:
                p1 = self.to_screen(R.port_pos(patch, self.models, c.src, "output"))
                p2 = self.to_screen(R.port_pos(patch, self.models, c.dst, "input"))
            except KeyError:
                continue
            if max(p1[0], p2[0]) < -50 or min(p1[0], p2[0]) > sw + 50:
                continue
            C.draw(s, p1, p2, T.rgb(c.color or T.CABLE_COLORS[0]))
        d = self.drag
        if d is not None and d.kind == "cable":
            fixed = self.to_screen(R.port_pos(patch, self.models, d.fixed, d.fixed_kind))
            C.draw(s, fixed, self.mouse, T.rgb(d.color))

    def _tooltip_text(self) -> tuple[str, tuple] | None:
        d = self.drag
        h = R.Hit(d.module, "param", d.name) if d is not None and d.kind == "knob" else self.hover
        if h is None or d is not None and d.kind != "knob":
            return None
        try:
            spec = self.doc.spec(h.module)
        except KeyError:
            return None
        cls = self.models[spec.model]
        if h.kind == "panel":  # a module's status in full (the panel may have no room for it)
            st = self._status.get(h.module)
            if not st:
                return None
            lines = [f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}" for k, v in st.items()]
            return "\n".join(lines), self.mouse
        pos = self.widget_screen(h.module, h.kind, h.name)
        if h.kind == "param":
            p = cls.params[cls.param_index(h.name)]
            return f"{p.title}: {W.format_value(p, self.doc.param(h.module, h.name))}", pos
        port = next(x for x in (cls.inputs if h.kind == "input" else cls.outputs) if x.name == h.name)
        text = f"{port.title} ({h.name}) {h.kind}"
        if h.kind == "output":
            vmax, vmin = self.live.level(h.module, h.name)
            text += f": {vmax:+.2f} V" if abs(vmax) >= abs(vmin) else f": {vmin:+.2f} V"
        return text, pos

    def _draw_tooltip(self, s) -> None:
        tip = self._tooltip_text()
        if tip is None:
            return
        text, (x, y) = tip
        lines = [font(17).render(line, True, T.TOOLTIP_FG) for line in text.split("\n")]
        box = pygame.Rect(0, 0, max(t.get_width() for t in lines) + 12, sum(t.get_height() for t in lines) + 8)
        box.midbottom = (x, y - 22)
        box.clamp_ip(s.get_rect())
        pygame.draw.rect(s, T.TOOLTIP_BG, box, border_radius=4)
        ty = box.top + 4
        for t in lines:
            s.blit(t, (box.left + 6, ty))
            ty += t.get_height()

    def _draw_bars(self, s) -> None:
        sw, sh = s.get_size()
        pygame.draw.rect(s, T.BAR_BG, (0, 0, sw, T.TOOLBAR_H))
        f = font(17)
        for rect, label, _ in self.toolbar():
            hot = rect.collidepoint(self.mouse)
            pygame.draw.rect(s, T.BAR_BUTTON_HI if hot or (label == "CPU meter" and self.meter_on) else T.BAR_BUTTON,
                             rect, border_radius=3)
            t = f.render(label, True, T.BAR_FG)
            s.blit(t, (rect.left + 8, rect.top + (rect.height - t.get_height()) // 2))
        e = self.live.engine
        info = f"{self.live.backend} · {e.sample_rate} Hz · block {e.block}"
        if self.live.running:
            info += f" · {self.live.rtf():.2f}× real time"
        t = f.render(info, True, (160, 160, 170))
        if sw - t.get_width() - 10 > self.toolbar()[-1][0].right + 10:  # only where it fits
            s.blit(t, (sw - t.get_width() - 10, (T.TOOLBAR_H - t.get_height()) // 2))
        pygame.draw.rect(s, T.BAR_BG, (0, sh - T.STATUS_H, sw, T.STATUS_H))
        msg = self.live.error or (self.message if time.monotonic() - self.message_t < 5 else "")
        if not msg:
            msg = ("drag jacks to patch · drag knobs (Shift: fine) · double-click resets · right-click: menu / "
                   "add module · Enter: browser · F3: CPU · Ctrl-Z / Ctrl-Shift-Z")
        color = (255, 120, 120) if self.live.error else (170, 170, 178)
        s.blit(fit(font(16), msg, sw - 20, color), (10, sh - T.STATUS_H + 5))


def screenshot(path: str | None, out: str, size=(1280, 800), seconds: float = 0.25) -> None:
    """Draw a patch once, after running it briefly offline, and write a PNG (headless)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    app = App(path, size=size, live=False, threaded=False)
    try:
        e = app.live.engine
        app.live.step_offline(max(1, int(seconds * e.sample_rate / e.block)))
        app.screenshot(out)
    finally:
        app.close()
        pygame.quit()


def main(path: str | None = None, screenshot_path: str | None = None, use_card: bool = True,
         size=(1280, 800)) -> int:
    if screenshot_path:
        screenshot(path, screenshot_path, size)
        return 0
    app = App(path, size=size, use_card=use_card)
    try:
        app.run()
    finally:
        pygame.quit()
    for note in (app.live._report.notes if app.live._report else []):
        print(f"modular: {note}", file=sys.stderr)
    return 0
