"""modular: a modular patch engine in the style of VCV Rack.

Importing the package points numba's on-disk cache at a directory named by a hash of
the engine's and the built-in plugins' sources. Numba checks a cached function against
its own file only, not the functions it calls from other files, so after an edit to a
dsp routine a kernel that inlines it would load stale machine code; a new directory per
source state makes every edit start from a clean cache.
"""

import hashlib
import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent


def _kernel_sources():
    """Files numba code can live in: the engine's top level, dsp and io, and the
    built-in plugins (not the GUI, the network or the server, which are plain Python)."""
    yield from sorted(_ROOT.glob("*.py"))
    for sub in ("dsp", "io"):
        yield from sorted((_ROOT / sub).rglob("*.py"))
    yield from sorted((_ROOT.parent / "modules").rglob("*.py"))


def _source_hash() -> str:
    h = hashlib.sha256()
    for f in _kernel_sources():
        h.update(str(f.relative_to(_ROOT.parent)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _point_numba_cache() -> None:
    if "NUMBA_CACHE_DIR" in os.environ:  # the user chose
        return
    cache = os.environ.get("MODULAR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "modular")
    path = os.path.join(cache, "numba", _source_hash())
    os.environ["NUMBA_CACHE_DIR"] = path
    if "numba" in sys.modules:  # imported first by someone else: tell its config too
        from numba.core import config

        config.CACHE_DIR = path


_point_numba_cache()
