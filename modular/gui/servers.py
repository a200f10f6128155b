"""The server browser: the live handles on a radio server, to pick one for a module.

Thin on purpose: ``fetch(server)`` returns the handles (strings, or dicts with a
"handle" key and anything else worth showing); by default it asks the radio client
once that exists (``modular streams`` uses the same call).
"""

from __future__ import annotations

from typing import Callable

from .menu import Menu


def default_fetch(server: str) -> list:
    try:
        from ..net import directory  # provided with the radio server (issue: network)
    except ImportError:
        return []
    fn = getattr(directory, "list_streams", None)
    return list(fn(server)) if fn else []


def handle_name(item) -> str:
    return item.get("handle", "?") if isinstance(item, dict) else str(item)


def label(item) -> str:
    if isinstance(item, dict):
        extra = "  ".join(f"{k}={v}" for k, v in item.items() if k != "handle")
        return f"{handle_name(item)}  {extra}".strip()
    return str(item)


def server_menu(pos, server: str, items: list, on_pick: Callable[[str], None],
                screen_size: tuple[int, int]) -> Menu:
    """A menu of ``items`` (the live streams on ``server``); picking one calls ``on_pick``."""
    entries = [(label(it), (lambda h=handle_name(it): on_pick(h))) for it in items]
    if not entries:
        entries = [("no live streams", None)]
    return Menu(pos, entries, screen_size, title=f"Streams on {server or '?'}")
