"""The radio server's directory: handles, their owners, streams and listeners. Pure state.

No sessions, bytes or clocks are read here: callers pass ``now`` and opaque member keys
(the relay uses its per-session ``Member`` objects). The rules:

- A handle belongs to the broadcaster holding its token. REGISTER with the right token
  takes the handle over (a broadcaster that reconnected, whose old session has not timed
  out yet); with another token it is DENIED while the handle exists.
- A handle whose owner vanished (timeout, not a normal BYE) stays ``offline`` for
  ``grace`` seconds with its listeners and streams, so the broadcaster can come back
  without the listeners noticing more than a gap; after that, or at once on a normal
  goodbye, it is removed and anyone may claim the name.
- Each listener of a handle holds a slot: the smallest free integer. Its return streams
  reach the broadcaster as stream ids ``RETURN_BASE + slot * SLOT_STREAMS + i``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from modular.net.wire import MAX_TEXT, Encoding, ErrorCode, STREAM_CV

RETURN_BASE = 0x8000  # broadcast stream ids are below this; return streams at or above
SLOT_STREAMS = 16  # return streams per listener slot
MAX_SLOTS = (0xFFFF - RETURN_BASE) // SLOT_STREAMS  # 2047 listeners per handle
MAX_TAGS = 32


def return_stream_id(slot: int, index: int) -> int:
    return RETURN_BASE + slot * SLOT_STREAMS + index


def slot_of(stream: int) -> tuple[int, int]:
    """(slot, index) of a return stream id as the broadcaster sees it."""
    k = stream - RETURN_BASE
    return k // SLOT_STREAMS, k % SLOT_STREAMS


@dataclass
class StreamEntry:
    stream: int
    kind: int
    channels: int
    encoding: Encoding
    sample_rate: int
    name: str = ""
    frames: int = 0  # relayed so far
    position: int = 0  # of the latest frame

    def describe(self) -> dict:
        return {"stream": self.stream, "kind": "cv" if self.kind == STREAM_CV else "audio",
                "channels": self.channels, "encoding": self.encoding.name.lower(),
                "sample_rate": self.sample_rate, "name": self.name, "frames": self.frames,
                "position": self.position}


@dataclass(eq=False)
class Handle:
    name: str
    token: bytes
    tags: tuple
    created: float
    owner: object | None = None  # the member broadcasting it; None while offline
    offline_since: float | None = None
    streams: dict = field(default_factory=dict)  # stream id -> StreamEntry
    listeners: dict = field(default_factory=dict)  # member -> slot
    return_slots: int = 16  # slots whose returns reach the broadcaster (its REGISTER says)
    joins: int = 0
    leaves: int = 0

    @property
    def online(self) -> bool:
        return self.owner is not None

    def free_slot(self) -> int:
        used = set(self.listeners.values())
        slot = 0
        while slot in used:
            slot += 1
        return slot

    def describe(self, now: float) -> dict:
        streams = [s.describe() for s in sorted(self.streams.values(), key=lambda s: s.stream)]
        return {"handle": self.name, "tags": list(self.tags), "online": self.online,
                "listeners": len(self.listeners), "slots": sorted(self.listeners.values()),
                "channels": sum(s["channels"] for s in streams),
                "encoding": sorted({s["encoding"] for s in streams}),
                "streams": streams, "uptime_s": round(now - self.created, 3),
                "offline_s": None if self.offline_since is None else round(now - self.offline_since, 3),
                "joins": self.joins, "leaves": self.leaves}


class Directory:
    def __init__(self, grace: float = 30.0, max_handles: int = 4096):
        self.grace = grace
        self.max_handles = max_handles
        self.handles: dict[str, Handle] = {}

    # -- broadcasters

    def register(self, member, name: str, token: bytes, tags: tuple, now: float,
                 return_slots: int = 16) -> tuple[ErrorCode, str, Handle | None]:
        """(code, reason, handle). On success the member owns the handle; a previous owner
        (same token, an older session of the same broadcaster) simply loses it."""
        if not token:
            return ErrorCode.BAD_VALUE, "empty token", None
        if len(tags) > MAX_TAGS:
            return ErrorCode.BAD_VALUE, f"at most {MAX_TAGS} tags", None
        h = self.handles.get(name)
        if h is None:
            if len(self.handles) >= self.max_handles:
                return ErrorCode.SERVER_FULL, "too many handles", None
            h = self.handles[name] = Handle(name, bytes(token), tuple(tags), now)
        elif not hmac.compare_digest(h.token, bytes(token)):
            return ErrorCode.DENIED, f"handle {name!r} belongs to another token", None
        h.owner = member
        h.offline_since = None
        h.tags = tuple(tags)
        h.return_slots = return_slots
        return ErrorCode.NONE, "", h

    def owner_gone(self, h: Handle, now: float, graceful: bool) -> bool:
        """The owner's session ended. True if the handle was removed (its listeners must
        be told), False if it waits offline for its broadcaster."""
        h.owner = None
        if graceful or self.grace <= 0:
            self.handles.pop(h.name, None)
            return True
        h.offline_since = now
        return False

    def expire(self, now: float) -> list[Handle]:
        """Remove handles offline for longer than the grace; returns them."""
        gone = [h for h in self.handles.values()
                if h.offline_since is not None and now - h.offline_since >= self.grace]
        for h in gone:
            del self.handles[h.name]
        return gone

    # -- listeners

    def subscribe(self, member, name: str) -> tuple[ErrorCode, str, Handle | None, int]:
        h = self.handles.get(name)
        if h is None:
            return ErrorCode.NOT_FOUND, f"no handle {name!r}", None, -1
        slot = h.listeners.get(member)
        if slot is None:
            if len(h.listeners) >= MAX_SLOTS:
                return ErrorCode.SERVER_FULL, "too many listeners", None, -1
            slot = h.listeners[member] = h.free_slot()
            h.joins += 1
        return ErrorCode.NONE, f"slot {slot}", h, slot

    def unsubscribe(self, member, h: Handle) -> bool:
        if h.listeners.pop(member, None) is None:
            return False
        h.leaves += 1
        return True

    # -- reading

    def listing(self, tag: str = "", limit: int = 4096) -> list[tuple[str, tuple, int]]:
        out = []
        for h in sorted(self.handles.values(), key=lambda h: h.name):
            if tag and tag not in h.tags:
                continue
            out.append((h.name, h.tags, min(len(h.listeners), 0xFFFF)))
            if len(out) >= limit:
                break
        return out

    def describe(self, now: float) -> list[dict]:
        return [h.describe(now) for h in sorted(self.handles.values(), key=lambda h: h.name)]


def clip_text(s: str) -> str:
    """``s`` cut to fit a wire text field (255 bytes of UTF-8)."""
    raw = s.encode("utf-8")[:MAX_TEXT]
    return raw.decode("utf-8", "ignore")
