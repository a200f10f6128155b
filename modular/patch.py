"""Patch files: load, validate, save.

A patch is checked whole before anything runs; every error names the module or cable
at fault and lists what would have been valid. ``save`` then ``load`` gives back an
equal ``Patch``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import plugins

FORMAT = "modular-patch"
VERSION = 1
DEFAULT_SAMPLE_RATE = 48000
DEFAULT_BLOCK = 64
MAX_BLOCK = 4096
MIN_RATE, MAX_RATE = 1000, 768000

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TOP_KEYS = ("format", "version", "sample_rate", "block_size", "modules", "cables")
_MODULE_KEYS = ("id", "model", "params", "data", "pos")
_CABLE_KEYS = ("from", "to", "color")


class PatchError(ValueError):
    """A patch that cannot run. The message names the offending module or cable."""


@dataclass
class ModuleSpec:
    id: str
    model: str
    params: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    pos: tuple[int, int] | None = None


@dataclass
class Cable:
    src: str  # "module.output"
    dst: str  # "module.input"
    color: str | None = None

    @property
    def src_module(self) -> str:
        return self.src.split(".", 1)[0]

    @property
    def src_port(self) -> str:
        return self.src.split(".", 1)[1]

    @property
    def dst_module(self) -> str:
        return self.dst.split(".", 1)[0]

    @property
    def dst_port(self) -> str:
        return self.dst.split(".", 1)[1]


@dataclass
class Patch:
    modules: list[ModuleSpec] = field(default_factory=list)
    cables: list[Cable] = field(default_factory=list)
    sample_rate: int = DEFAULT_SAMPLE_RATE
    block_size: int = DEFAULT_BLOCK

    def module(self, id: str) -> ModuleSpec:
        for m in self.modules:
            if m.id == id:
                return m
        raise KeyError(id)

    def to_dict(self) -> dict:
        mods = []
        for m in self.modules:
            d: dict[str, Any] = {"id": m.id, "model": m.model}
            if m.params:
                d["params"] = dict(m.params)
            if m.data:
                d["data"] = dict(m.data)
            if m.pos is not None:
                d["pos"] = list(m.pos)
            mods.append(d)
        cables = []
        for c in self.cables:
            d = {"from": c.src, "to": c.dst}
            if c.color is not None:
                d["color"] = c.color
            cables.append(d)
        return {
            "format": FORMAT,
            "version": VERSION,
            "sample_rate": self.sample_rate,
            "block_size": self.block_size,
            "modules": mods,
            "cables": cables,
        }

    def check_rates(self) -> None:
        sr, bs = self.sample_rate, self.block_size
        if not isinstance(sr, int) or isinstance(sr, bool) or not MIN_RATE <= sr <= MAX_RATE:
            raise PatchError(f"patch: field 'sample_rate' must be an integer in {MIN_RATE}..{MAX_RATE}, got {sr!r}")
        if not isinstance(bs, int) or isinstance(bs, bool) or not 1 <= bs <= MAX_BLOCK:
            raise PatchError(f"patch: field 'block_size' must be an integer in 1..{MAX_BLOCK}, got {bs!r}")

    def set_param(self, target: str, value: float) -> None:
        """Apply a ``MODULE.PARAM=VALUE`` override, validated like the file itself."""
        mod_id, _, pname = target.partition(".")
        if not pname:
            raise PatchError(f"--set {target}: expected MODULE.PARAM")
        try:
            spec = self.module(mod_id)
        except KeyError:
            raise PatchError(f"--set {target}: no module {mod_id!r}; modules: {', '.join(m.id for m in self.modules)}") from None
        spec.params[pname] = value
        validate(self)


def _type_name(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(v), type(v).__name__)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _unknown_keys(where: str, d: dict, valid: tuple[str, ...]) -> None:
    extra = [k for k in d if k not in valid]
    if extra:
        raise PatchError(f"{where}: unknown key {extra[0]!r}; valid keys: {', '.join(valid)}")


def from_dict(doc: Any) -> Patch:
    """Build and validate a Patch from parsed JSON."""
    if not isinstance(doc, dict):
        raise PatchError(f"patch: expected a JSON object, got {_type_name(doc)}")
    _unknown_keys("patch", doc, _TOP_KEYS)
    if doc.get("format") != FORMAT:
        raise PatchError(f"patch: field 'format' must be {FORMAT!r}, got {doc.get('format')!r}")
    if doc.get("version") != VERSION:
        raise PatchError(f"patch: field 'version' must be {VERSION}, got {doc.get('version')!r}")
    sr = doc.get("sample_rate", DEFAULT_SAMPLE_RATE)
    bs = doc.get("block_size", DEFAULT_BLOCK)

    mods_doc = doc.get("modules", [])
    if not isinstance(mods_doc, list):
        raise PatchError(f"patch: field 'modules' must be an array, got {_type_name(mods_doc)}")
    modules = []
    for i, md in enumerate(mods_doc):
        where = f"modules[{i}]"
        if not isinstance(md, dict):
            raise PatchError(f"{where}: expected an object, got {_type_name(md)}")
        if isinstance(md.get("id"), str):
            where = f"module {md['id']!r}"
        _unknown_keys(where, md, _MODULE_KEYS)
        for key, kind in (("id", str), ("model", str)):
            if key not in md:
                raise PatchError(f"{where}: missing field {key!r}")
            if not isinstance(md[key], kind):
                raise PatchError(f"{where}: field {key!r} must be a string, got {_type_name(md[key])}")
        params = md.get("params", {})
        if not isinstance(params, dict):
            raise PatchError(f"{where}: field 'params' must be an object, got {_type_name(params)}")
        data = md.get("data", {})
        if not isinstance(data, dict):
            raise PatchError(f"{where}: field 'data' must be an object, got {_type_name(data)}")
        pos = md.get("pos")
        if pos is not None:
            if not (isinstance(pos, list) and len(pos) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in pos)):
                raise PatchError(f"{where}: field 'pos' must be [column, row] integers, got {pos!r}")
            pos = (pos[0], pos[1])
        modules.append(ModuleSpec(md["id"], md["model"], dict(params), dict(data), pos))

    cables_doc = doc.get("cables", [])
    if not isinstance(cables_doc, list):
        raise PatchError(f"patch: field 'cables' must be an array, got {_type_name(cables_doc)}")
    cables = []
    for i, cd in enumerate(cables_doc):
        where = f"cables[{i}]"
        if not isinstance(cd, dict):
            raise PatchError(f"{where}: expected an object, got {_type_name(cd)}")
        _unknown_keys(where, cd, _CABLE_KEYS)
        for key in ("from", "to"):
            if key not in cd:
                raise PatchError(f"{where}: missing field {key!r}")
            if not isinstance(cd[key], str):
                raise PatchError(f"{where}: field {key!r} must be a string 'module.port', got {_type_name(cd[key])}")
        color = cd.get("color")
        if color is not None and not (isinstance(color, str) and _COLOR.match(color)):
            raise PatchError(f"{where}: field 'color' must be '#rrggbb', got {color!r}")
        cables.append(Cable(cd["from"], cd["to"], color))

    patch = Patch(modules, cables, sr, bs)
    validate(patch)
    return patch


def validate(patch: Patch) -> None:
    """Check rates, models, params, data and cables against the installed modules."""
    patch.check_rates()
    installed = plugins.models()
    seen: dict[str, ModuleSpec] = {}
    for m in patch.modules:
        where = f"module {m.id!r}"
        if not _ID.match(m.id):
            raise PatchError(f"{where}: id must be letters, digits, '_' or '-', starting with a letter or '_'")
        if m.id in seen:
            raise PatchError(f"{where}: id used by two modules")
        seen[m.id] = m
        cls = installed.get(m.model)
        if cls is None:
            raise PatchError(f"{where}: unknown model {m.model!r}; installed models: {', '.join(sorted(installed))}")
        where = f"module {m.id!r} ({m.model})"
        valid = {p.name: p for p in cls.params}
        for name, value in m.params.items():
            p = valid.get(name)
            if p is None:
                raise PatchError(f"{where}: unknown param {name!r}; valid params: {', '.join(valid) or 'none'}")
            if not _is_number(value) or not math.isfinite(value):
                raise PatchError(f"{where}: param {name!r} must be a number, got {value!r}")
            if not p.min <= value <= p.max:
                raise PatchError(f"{where}: param {name!r} = {value} is out of range [{p.min}, {p.max}]")
        try:
            cls.validate_data(m.data)
        except ValueError as e:
            raise PatchError(f"{where}: data: {e}") from None

    taken: dict[str, int] = {}
    for i, c in enumerate(patch.cables):
        where = f"cable {i} ({c.src} -> {c.dst})"
        for end, ref, kind in (("from", c.src, "outputs"), ("to", c.dst, "inputs")):
            mod_id, dot, port = ref.partition(".")
            if not dot or not port:
                raise PatchError(f"{where}: field {end!r} must be 'module.port', got {ref!r}")
            spec = seen.get(mod_id)
            if spec is None:
                raise PatchError(f"{where}: no module {mod_id!r}; modules: {', '.join(seen) or 'none'}")
            ports = [p.name for p in getattr(installed[spec.model], kind)]
            if port not in ports:
                raise PatchError(
                    f"{where}: module {mod_id!r} ({spec.model}) has no {kind[:-1]} {port!r}; "
                    f"valid {kind}: {', '.join(ports) or 'none'}"
                )
        if c.dst in taken:
            raise PatchError(f"{where}: input {c.dst} already has cable {taken[c.dst]}; an input takes one cable")
        taken[c.dst] = i


def loads(text: str, source: str = "patch") -> Patch:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise PatchError(f"{source}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    return from_dict(doc)


def load(path: str | Path) -> Patch:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PatchError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise PatchError(f"{path}: not a UTF-8 text file") from None
    try:
        return loads(text, str(path))
    except PatchError as e:
        msg = str(e)
        raise PatchError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def dumps(patch: Patch) -> str:
    return json.dumps(patch.to_dict(), indent=2) + "\n"


def save(patch: Patch, path: str | Path) -> None:
    validate(patch)
    Path(path).write_text(dumps(patch), encoding="utf-8")
