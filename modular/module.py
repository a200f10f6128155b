"""How a module declares itself: params, inputs, outputs, state and its block kernel.

A module is one small class. It names its ports and params, says how much state it
keeps, and points at a numba kernel that processes one block::

    @kernel
    def vca_kernel(inp, cv, out, p0, p1, state, mem, nch, ctx):
        n = out.shape[1]
        for c in range(nch):
            ri = row(inp, c)
            rc = row(cv, c)
            for i in range(n):
                out[c, i] = inp[ri, i] * cv[rc, i] * 0.1 * ramp(p0[0], p1[0], i, n)

    class VCA(Module):
        model = "VCA"
        params = (Param("level", 0.0, 1.0, 1.0),)
        inputs = (Input("in"), Input("cv", normal=10.0))
        outputs = (Output("out"),)
        kernel = vca_kernel

The kernel's arguments are, in order: one 2-D float32 array ``(rows, block)`` per input,
one per output, then

- ``p0``, ``p1``: float64 param values at the start and the end of the block, in
  declaration order; ramp between them (``ramp``) so knob moves never zipper;
- ``state``: the module's float64 state (``state_size`` values, zeroed at build);
- ``mem``: the module's float32 memory (``memory_size`` values: delay lines, tables,
  rings shared with the host);
- ``nch``: the module's channel count (1-16);
- ``ctx``: float64 engine context, indexed by ``CTX_SAMPLE_RATE``, ``CTX_FRAME`` (the
  engine's sample position of the block's first sample) and ``CTX_BLOCK``.

An input with one row is mono and applies to every channel; a poly input has 16 rows,
zero past its channel count (VCV Rack's polyphony rules). ``row(a, c)`` picks the row
for channel ``c``. An unconnected input reads its ``normal`` voltage (0 V by default).
The engine turns NaN and infinities on outputs into 0 V after every kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np
from numba import njit

from .dsp.block import JIT, ramp, row  # noqa: F401  (re-exported for module authors)

MAX_CHANNELS = 16

# Indexes into the engine context array that every kernel receives.
CTX_SAMPLE_RATE = 0
CTX_BLOCK = 1
CTX_FRAME = 2
CTX_SIZE = 4


def kernel(fn: Callable) -> Callable:
    """Compile a block kernel: cached on disk, releasing the GIL, with the dsp library's
    flags (numpy's error model, so divisions carry no exception checks and loops
    vectorise; safe fastmath only, which keeps NaN checks working)."""
    return njit(**JIT)(fn)


@dataclass(frozen=True)
class Param:
    """A knob or switch. ``options`` names the positions of a switch (integer params)."""

    name: str
    min: float
    max: float
    default: float
    unit: str = ""
    label: str = ""
    integer: bool = False
    options: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.min <= self.default <= self.max:
            raise ValueError(f"param {self.name}: default {self.default} outside [{self.min}, {self.max}]")
        if self.options and len(self.options) != int(self.max - self.min) + 1:
            raise ValueError(f"param {self.name}: {len(self.options)} options for range {self.min}..{self.max}")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").title()

    @property
    def smoothed(self) -> bool:
        """Switches jump; continuous knobs ramp across the block."""
        return not (self.integer or self.options)

    def clamp(self, value: float) -> float:
        v = min(max(float(value), self.min), self.max)
        return float(round(v)) if (self.integer or self.options) else v

    def describe(self) -> dict:
        d = {"name": self.name, "min": self.min, "max": self.max, "default": self.default, "unit": self.unit}
        if self.options:
            d["options"] = list(self.options)
        elif self.integer:
            d["integer"] = True
        return d


@dataclass(frozen=True)
class Input:
    """An input jack. Unconnected, it reads ``normal`` volts."""

    name: str
    label: str = ""
    normal: float = 0.0
    # Unconnected, read the cable of this other input instead (as a stereo input's
    # right jack follows its left), falling back to ``normal`` when that is free too.
    normal_to: str | None = None

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class Output:
    name: str
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")


class Module:
    """Base class of every module. Subclasses set the class attributes below.

    Instances hold the patch-side identity (``id``, ``data``) and, once the engine has
    built the graph, views onto their slices of the engine's pools (``state``, ``mem``)
    so host-side code (the GUI, recorders, the network) can read them.
    """

    # Set by the plugin on registration: "plugin.Model".
    plugin: ClassVar[str] = ""
    model: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    hp: ClassVar[int] = 6  # panel width in rack units, for the GUI
    tags: ClassVar[tuple[str, ...]] = ()

    params: ClassVar[tuple[Param, ...]] = ()
    inputs: ClassVar[tuple[Input, ...]] = ()
    outputs: ClassVar[tuple[Output, ...]] = ()
    kernel: ClassVar[Callable | None] = None

    # Which input sets the channel count (VCV: the "primary" input). None: the first.
    primary: ClassVar[str | None] = None
    # Float64 state values per channel, and besides those, per module.
    state_per_channel: ClassVar[int] = 0
    state_fixed: ClassVar[int] = 0
    # Keys of ``data`` the module understands; the patch loader rejects others.
    data_keys: ClassVar[tuple[str, ...]] = ()
    # True when the kernel can never write NaN or infinity (bounded math on finite
    # inputs): the runner then skips its NaN guard on this module's outputs.
    finite_outputs: ClassVar[bool] = False
    # True when the kernel skips outputs of zero rows: outputs no cable reads are then
    # handed over with zero rows, and cost nothing (a VCO patched from its saw alone).
    skips_unconnected: ClassVar[bool] = False
    # True for modules whose outputs this block do not depend on their inputs this block
    # (network links, recorders): cables through them never count as cycles.
    outputs_lead_inputs: ClassVar[bool] = False

    def __init__(self, id: str, data: dict | None = None, params: dict | None = None):
        self.id = id
        self.data: dict[str, Any] = dict(data or {})
        # Param values as the patch set them at build time; the live values are in the
        # engine. Params that shape the graph (a channel count) are read from here.
        given = params or {}
        self.param_values = {p.name: p.clamp(given.get(p.name, p.default)) for p in self.params}
        self.state: np.ndarray = np.zeros(0)
        self.mem: np.ndarray = np.zeros(0, np.float32)
        self.channels = 1

    # --- declarations the engine asks for -------------------------------------------

    @classmethod
    def full_model(cls) -> str:
        return f"{cls.plugin}.{cls.model}"

    @classmethod
    def param_index(cls, name: str) -> int:
        for i, p in enumerate(cls.params):
            if p.name == name:
                return i
        raise KeyError(name)

    @classmethod
    def validate_data(cls, data: dict) -> None:
        """Raise ValueError naming the key when ``data`` is not usable."""
        unknown = sorted(set(data) - set(cls.data_keys))
        if unknown:
            valid = ", ".join(cls.data_keys) or "none"
            raise ValueError(f"unknown data key {unknown[0]!r}; valid keys: {valid}")

    def channel_count(self, input_channels: list[int]) -> int:
        """Channels this module runs, from the channel count on each input (0: unconnected)."""
        if not self.inputs:
            return 1
        idx = 0
        if self.primary is not None:
            idx = [i.name for i in self.inputs].index(self.primary)
        return max(1, input_channels[idx])

    def output_channels(self, index: int, nch: int) -> int:
        """Channels carried by output ``index`` when the module runs ``nch`` channels."""
        return nch

    def state_size(self, sample_rate: float, block: int) -> int:
        return self.state_per_channel * MAX_CHANNELS + self.state_fixed

    def scratch_size(self, sample_rate: float, block: int) -> int:
        """Float64 scratch values the kernel needs within one block (per-sample
        coefficients and the like). Non-zero: the kernel takes one more argument,
        ``scratch``, after ``ctx``: a float64 array shared by every module, so its
        contents are undefined when the kernel starts. Keeping working arrays out of
        the state keeps a large patch's memory traffic small."""
        return 0

    def memory_size(self, sample_rate: float, block: int) -> int:
        """Float32 values of memory (delay lines, tables, host rings)."""
        return 0

    def init(self, sample_rate: float, block: int) -> None:
        """Fill ``state``/``mem`` after allocation (they arrive zeroed). Python, build time."""

    # --- host side: called from Python around the compiled graph --------------------

    has_host_io: ClassVar[bool] = False

    def before_block(self, frame: int) -> None:
        """Host work before each block (fill input rings). Only if ``has_host_io``."""

    def after_block(self, frame: int) -> None:
        """Host work after each block (drain output rings). Only if ``has_host_io``."""

    def service(self, frame: int) -> None:
        """Host work off the audio thread (write files, move network data), called with
        the frame the engine has reached: between render chunks, or every few
        milliseconds by the real-time runner's housekeeping thread."""

    def start(self, engine) -> None:
        """Called once when the engine starts running (open files, sockets)."""

    def stop(self) -> None:
        """Called once when the engine stops (flush and close)."""

    def status(self) -> dict:
        """Values worth showing in the GUI and ``--stats``."""
        return {}

    @classmethod
    def describe(cls) -> dict:
        return {
            "model": cls.full_model(),
            "title": cls.title or cls.model,
            "description": cls.description,
            "hp": cls.hp,
            "params": [p.describe() for p in cls.params],
            "inputs": [{"name": i.name, "label": i.title} for i in cls.inputs],
            "outputs": [{"name": o.name, "label": o.title} for o in cls.outputs],
            "data": list(cls.data_keys),
        }


@dataclass
class Plugin:
    """A named set of models, exported through the ``modular.plugins`` entry point."""

    slug: str
    models: list[type[Module]] = field(default_factory=list)
    name: str = ""

    def __post_init__(self):
        for m in self.models:
            m.plugin = self.slug
