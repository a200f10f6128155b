"""The pygame rack: panels drawn from module declarations, patching by drag, a live engine.

Pure logic (layout, hit testing, placement, undo history, model search, file naming)
lives in modules that do not need a display; drawing and the event loop sit on top.
``modular gui [PATCH]`` runs :func:`modular.gui.app.main`.
"""

import os as _os

_os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
