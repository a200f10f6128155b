"""The radio server's relay: session events in, messages queued on sessions out. Sans-I/O.

The carrier (UDP/KCP or TCP, see core.py and sockets.py) hands every session event to
``RadioHub.event(peer, ev, now)``, where ``peer`` is any object with a ``.session`` (a
``modular.net.session.Session``), and afterwards sends what the sessions queued. The hub:

- answers REGISTER / SUBSCRIBE / UNSUBSCRIBE with RESULT and LIST with LISTING pages;
- relays each broadcast FRAME of a handle's owner, unchanged, to every listener
  (CV reliably, audio as droppable), and STREAM_INFO of the broadcast streams too;
- relays each response FRAME (flag RESPONSE) of a subscribed listener to the handle's
  owner, with the stream id mapped to the listener's slot (directory.return_stream_id)
  and the position untouched: it is the broadcast position the listener answers;
- forwards the PARITY that protects relayed audio (UDP) along with it, that of a
  listener's return adjusted to the stream id it gets (fec.restream_parity), instead of
  coding every listener's copy and every return again: audio is protected end to end,
  and the server's work per listener is a copy;
- rejects and counts broadcast frames from a session that does not own a handle and
  returns from a session that is not a subscribed listener (and tells it, at most once
  a second, with ERROR AUTH);
- tells a broadcaster its listener count with an unsolicited LISTING (request 0) of its
  own handle whenever it changes, tells each listener its slot and whether the
  broadcaster takes its returns (SLOT, after SUBSCRIBE's RESULT and whenever that
  changes), and tells listeners with ERROR NOT_FOUND (about SUBSCRIBE) when their
  handle is removed.

docs/protocol.md, "Radio server", is the normative description.
"""

from __future__ import annotations

import struct

from modular.net import wire
from modular.net.fec import restream_parity
from modular.net.session import (DROPPABLE, FORWARDED_PARITY, PROTECTED, RELIABLE, Connected, FrameReceived,
                                 MessageReceived, ParityReceived, PeerClosed, PeerGone, State)
from modular.net.wire import FLAG_CV, FLAG_RESPONSE, NO_STREAM, STREAM_AUDIO, STREAM_CV, ErrorCode, MsgType

from .directory import RETURN_BASE, SLOT_STREAMS, Directory, Handle, StreamEntry, clip_text, return_stream_id

LIST_PAGE = 64  # entries per LISTING message
ERROR_INTERVAL = 1.0  # seconds between ERRORs told to one misbehaving session
PATH_LOSS_INTERVAL = 0.25  # seconds between updates of the loss each sender's parity must cover
_STREAM_ID = struct.Struct(">H")
_OPEN = (State.ESTABLISHED, State.AWAITING)


def _push(session, data: bytes, how: int, now: float) -> bool:
    """Queue already-encoded bytes on a session (Session.send re-encodes and is always
    RELIABLE; relayed audio must stay droppable)."""
    if session.state not in _OPEN:
        return False
    session._queue(data, now, how)
    return True


def _reported_loss(peer, now: float) -> float:
    """The loss a peer reports on its path from us; 0 for a TCP peer (no parity) and
    for one that has not reported yet (a listener that just joined is protected like
    the others until its first REPORT, rather than forcing every piece on all)."""
    reported = getattr(peer, "reported", None)
    return reported.loss(now) if reported is not None and reported.known else 0.0


def _set_extra(peer, loss: float):
    loss_in = getattr(peer, "loss_in", None)
    if loss_in is not None:
        loss_in.extra = loss


def _restream(data: bytes, stream: int) -> bytes:
    """An encoded FRAME or STREAM_INFO with another stream id (both have it at offset 4)."""
    return data[:4] + _STREAM_ID.pack(stream) + data[6:]


class Member:
    """What the hub knows of one session."""

    __slots__ = ("peer", "session", "handle", "sub", "slot", "heard", "returns", "next_error",
                 "frames_in", "rejected", "parity_broadcast", "parity_returns")

    def __init__(self, peer):
        self.peer = peer
        self.session = peer.session
        self.handle: Handle | None = None  # the handle it broadcasts
        self.sub: Handle | None = None  # the handle it listens to
        self.slot = -1
        self.heard: bool | None = None  # what SLOT last told it: the broadcaster takes its returns
        self.returns: dict[int, tuple[int, bytes]] = {}  # its stream id -> (index, STREAM_INFO for the owner)
        self.next_error = 0.0
        self.frames_in = 0
        self.rejected = 0
        # streams whose audio comes with the sender's PARITY (forwarded, not made again)
        self.parity_broadcast: set[int] = set()  # of the handle it broadcasts
        self.parity_returns: set[int] = set()  # of its returns (its own stream ids)

    @property
    def name(self) -> str:
        return self.session.peer_name


class RadioHub:
    def __init__(self, directory: Directory | None = None, *, grace: float = 30.0):
        self.directory = directory or Directory(grace=grace)
        self.members: dict[object, Member] = {}
        self.changed = True  # something a snapshot shows changed since the last one
        # counters
        self.broadcast_frames = 0  # received from owners
        self.relayed_frames = 0  # copies queued to listeners
        self.return_frames = 0  # relayed to broadcasters
        self.returns_rejected = 0  # from sessions that are not subscribed listeners
        self.returns_dropped = 0  # from listeners whose broadcaster is offline
        self.returns_unheard = 0  # from slots beyond what the broadcaster takes (REGISTER return_slots)
        self.broadcasts_rejected = 0  # from sessions that own no handle
        self.messages_rejected = 0  # radio messages that were invalid or unexpected
        self.sessions_opened = 0
        self._next_path_loss = 0.0
        self._dispatch = {
            wire.Register: self._register, wire.Subscribe: self._subscribe,
            wire.Unsubscribe: self._unsubscribe, wire.ListStreams: self._list,
            wire.StreamInfo: self._stream_info,
        }

    # ---------------------------------------------------------------- input

    def member(self, peer) -> Member:
        m = self.members.get(peer)
        if m is None:
            m = self.members[peer] = Member(peer)
            self.sessions_opened += 1
            self.changed = True
        return m

    def event(self, peer, ev, now: float):
        t = type(ev)
        if t is FrameReceived:
            self._frame(self.member(peer), ev.frame, ev.data, now)
        elif t is MessageReceived:
            msg = ev.message
            m = self.member(peer)
            fn = self._dispatch.get(type(msg))
            if fn is not None:
                fn(m, msg, now)
            elif type(msg) is not wire.Error:  # a client's ERROR is only noted
                self._refuse(m, ErrorCode.UNEXPECTED, msg.TYPE, "not a client message", now)
        elif t is ParityReceived:
            self._parity(self.member(peer), ev, now)
        elif t is Connected:
            self.member(peer)
        elif t is PeerClosed:
            self.drop(peer, now, graceful=ev.code == ErrorCode.NONE)
        elif t is PeerGone:
            self.drop(peer, now, graceful=False)

    def drop(self, peer, now: float, graceful: bool = False):
        """The session ended: release what it held."""
        m = self.members.pop(peer, None)
        if m is None:
            return
        self.changed = True
        if m.sub is not None:
            self._leave(m, now)
        h = m.handle
        if h is not None and h.owner is m:
            if self.directory.owner_gone(h, now, graceful):
                self._removed(h, now)
        m.handle = None

    def tick(self, now: float):
        for h in self.directory.expire(now):
            self._removed(h, now)
        for peer, m in list(self.members.items()):  # sessions closed without an event
            if m.session.state is State.CLOSED:
                self.drop(peer, now)
        if now >= self._next_path_loss:
            self._next_path_loss = now + PATH_LOSS_INTERVAL
            self._path_loss(now)

    def _path_loss(self, now: float):
        """Tell each sender, in the REPORTs its session sends (pathloss.py), the loss
        further on that the parity forwarded from it must cover: a broadcaster's
        pieces go to every listener, so the worst listener's path; a heard listener's
        go to the broadcaster. A TCP hop carries no parity and counts as clean."""
        for h in self.directory.handles.values():
            worst = max((_reported_loss(lm.peer, now) for lm in h.listeners), default=0.0)
            owner = h.owner
            if owner is not None:
                _set_extra(owner.peer, worst)
            back = _reported_loss(owner.peer, now) if owner is not None else 0.0
            for lm in h.listeners:
                _set_extra(lm.peer, back if lm.slot < h.return_slots else 0.0)

    # ---------------------------------------------------------------- frames

    def _frame(self, m: Member, frame: wire.Frame, data, now: float):
        """``data``: the FRAME as it arrived, relayed as it is (or, empty, encoded again)."""
        m.frames_in += 1
        data = bytes(data) if data else wire.encode(frame)
        if frame.flags & FLAG_RESPONSE:
            self._return(m, frame, data, now)
            return
        h = m.handle
        if h is None or h.owner is not m:
            self.broadcasts_rejected += 1
            self._refuse(m, ErrorCode.AUTH, MsgType.FRAME, "no handle registered by this session", now)
            return
        if frame.stream >= RETURN_BASE:
            self.broadcasts_rejected += 1
            self._refuse(m, ErrorCode.BAD_VALUE, MsgType.FRAME, f"broadcast stream ids are below {RETURN_BASE}", now)
            return
        self.broadcast_frames += 1
        entry = h.streams.get(frame.stream)
        if entry is None or entry.channels != frame.channels or entry.encoding != frame.encoding:
            # a stream never announced (or changed): announce it ourselves
            kind = STREAM_CV if frame.flags & FLAG_CV else STREAM_AUDIO
            rate = entry.sample_rate if entry is not None else m.session.peer_sample_rate
            name = entry.name if entry is not None else ""
            entry = h.streams[frame.stream] = StreamEntry(frame.stream, kind, frame.channels, frame.encoding, rate, name)
            info = wire.encode(wire.StreamInfo(frame.stream, kind, frame.channels, frame.encoding, rate, NO_STREAM, name))
            for lm in h.listeners:
                _push(lm.session, info, RELIABLE, now)
            self.changed = True
        entry.frames += 1
        entry.position = frame.position
        if not h.listeners:
            return
        if frame.flags & FLAG_CV:
            how = RELIABLE
        else:
            how = PROTECTED if frame.stream in m.parity_broadcast else DROPPABLE
        n = 0
        for lm in h.listeners:
            s = lm.session
            if s.state in _OPEN:
                s._queue(data, now, how)
                n += 1
        self.relayed_frames += n

    def _return(self, m: Member, frame: wire.Frame, data: bytes, now: float):
        h = m.sub
        if h is None:
            self.returns_rejected += 1
            m.rejected += 1
            self._refuse(m, ErrorCode.AUTH, MsgType.FRAME, "a return from a session that is not a subscribed listener", now)
            return
        owner = h.owner
        if owner is None:
            self.returns_dropped += 1
            return
        if m.slot >= h.return_slots:
            self.returns_unheard += 1  # the broadcaster takes fewer listeners back
            return
        known = m.returns.get(frame.stream)
        if known is not None:
            mapped = return_stream_id(m.slot, known[0])
        else:
            # not announced yet (audio frames travel outside the reliable stream and can
            # overtake their STREAM_INFO): announce it ourselves, on the timeline of the
            # handle's first broadcast stream; the listener's STREAM_INFO then corrects it
            kind = STREAM_CV if frame.flags & FLAG_CV else STREAM_AUDIO
            answers = min(h.streams) if h.streams else NO_STREAM
            mapped = self._map_return(m, wire.StreamInfo(frame.stream, kind, frame.channels, frame.encoding,
                                                         m.session.peer_sample_rate, answers), now)
            if mapped is None:
                return
        if frame.flags & FLAG_CV:
            how = RELIABLE
        else:
            how = PROTECTED if frame.stream in m.parity_returns else DROPPABLE
        _push(owner.session, _restream(data, mapped), how, now)
        self.return_frames += 1

    def _parity(self, m: Member, ev: ParityReceived, now: float):
        """Forward the parity of relayed audio with it. Parity of a stream not relayed
        (not announced yet, or CV) is dropped: its frames get parity from the hop."""
        p = ev.parity
        h = m.sub
        known = m.returns.get(p.stream) if h is not None else None
        if known is not None:
            if h.owner is not None and m.slot < h.return_slots:
                m.parity_returns.add(p.stream)
                _push(h.owner.session, restream_parity(p, ev.data, return_stream_id(m.slot, known[0])), FORWARDED_PARITY, now)
            return
        h = m.handle
        if h is None or h.owner is not m:
            return
        entry = h.streams.get(p.stream)
        if entry is None or entry.kind != STREAM_AUDIO:
            return
        m.parity_broadcast.add(p.stream)
        for lm in h.listeners:
            _push(lm.session, ev.data, FORWARDED_PARITY, now)

    def _map_return(self, m: Member, info: wire.StreamInfo, now: float) -> int | None:
        """Give a listener's return stream its id on the broadcaster's side and announce it
        there; None (rejected) beyond SLOT_STREAMS streams."""
        known = m.returns.get(info.stream)
        index = known[0] if known is not None else len(m.returns)
        if index >= SLOT_STREAMS:
            self.returns_rejected += 1
            self._refuse(m, ErrorCode.BAD_VALUE, MsgType.STREAM_INFO, f"at most {SLOT_STREAMS} return streams", now)
            return None
        sid = return_stream_id(m.slot, index)
        name = clip_text(info.name or m.name)
        announce = wire.encode(wire.StreamInfo(sid, info.kind, info.channels, info.encoding, info.sample_rate,
                                               info.answers, name))
        m.returns[info.stream] = (index, announce)
        if m.sub is not None and m.sub.owner is not None and m.slot < m.sub.return_slots:
            _push(m.sub.owner.session, announce, RELIABLE, now)
        return sid

    # ---------------------------------------------------------------- radio messages

    def _register(self, m: Member, msg: wire.Register, now: float):
        if m.handle is not None and m.handle.name != msg.handle and m.handle.owner is m:
            self._result(m, msg.request, ErrorCode.UNEXPECTED, f"this session broadcasts {m.handle.name!r} already", now)
            return
        before = self.directory.handles.get(msg.handle)
        previous = before.owner if before is not None else None
        code, reason, h = self.directory.register(m, msg.handle, msg.token, msg.tags, now, msg.return_slots)
        self._result(m, msg.request, code, reason, now)
        if h is None:
            self.messages_rejected += 1
            return
        self.changed = True
        if previous is not None and previous is not m:
            previous.handle = None  # an older session of the same broadcaster
        m.handle = h
        self._tell_count(h, now)
        for lm in h.listeners:  # the return streams already announced, for this new session
            if lm.slot < h.return_slots:
                for _index, announce in lm.returns.values():
                    _push(m.session, announce, RELIABLE, now)
            self._tell_slot(lm, h, now)  # return_slots may have changed

    def _subscribe(self, m: Member, msg: wire.Subscribe, now: float):
        if m.sub is not None and m.sub.name != msg.handle:
            self._leave(m, now)
        code, reason, h, slot = self.directory.subscribe(m, msg.handle)
        self._result(m, msg.request, code, reason, now)
        if h is None:
            return
        if m.sub is not h:
            self.changed = True
            m.sub, m.slot = h, slot
            m.returns, m.parity_returns = {}, set()
            self._tell_count(h, now)
        m.heard = None
        self._tell_slot(m, h, now)
        for e in sorted(h.streams.values(), key=lambda e: e.stream):
            _push(m.session, wire.encode(wire.StreamInfo(e.stream, e.kind, e.channels, e.encoding, e.sample_rate,
                                                         NO_STREAM, e.name)), RELIABLE, now)

    def _unsubscribe(self, m: Member, msg: wire.Unsubscribe, now: float):
        if m.sub is None or m.sub.name != msg.handle:
            self._result(m, msg.request, ErrorCode.NOT_FOUND, f"not subscribed to {msg.handle!r}", now)
            return
        self._leave(m, now)
        self._result(m, msg.request, ErrorCode.NONE, "", now)

    def _list(self, m: Member, msg: wire.ListStreams, now: float):
        entries = self.directory.listing(msg.tag)
        pages = [entries[i:i + LIST_PAGE] for i in range(0, len(entries), LIST_PAGE)] or [[]]
        for i, page in enumerate(pages):
            _push(m.session, wire.encode(wire.Listing(msg.request, tuple(page), i < len(pages) - 1)), RELIABLE, now)

    def _stream_info(self, m: Member, info: wire.StreamInfo, now: float):
        h = m.handle
        is_owner = h is not None and h.owner is m
        if info.answers != NO_STREAM or not is_owner:
            if m.sub is None:
                self.messages_rejected += 1
                self._refuse(m, ErrorCode.UNEXPECTED, MsgType.STREAM_INFO, "neither broadcaster nor listener", now)
                return
            self._map_return(m, info, now)
            return
        if info.stream >= RETURN_BASE:
            self.messages_rejected += 1
            self._refuse(m, ErrorCode.BAD_VALUE, MsgType.STREAM_INFO, f"broadcast stream ids are below {RETURN_BASE}", now)
            return
        e = h.streams.get(info.stream)
        frames, position = (e.frames, e.position) if e is not None else (0, 0)
        h.streams[info.stream] = StreamEntry(info.stream, info.kind, info.channels, info.encoding,
                                             info.sample_rate, info.name, frames, position)
        self.changed = True
        data = wire.encode(info)
        for lm in h.listeners:
            _push(lm.session, data, RELIABLE, now)

    # ---------------------------------------------------------------- helpers

    def _leave(self, m: Member, now: float):
        h = m.sub
        m.sub, m.slot, m.heard, m.returns, m.parity_returns = None, -1, None, {}, set()
        if h is not None and self.directory.unsubscribe(m, h):
            self.changed = True
            self._tell_count(h, now)

    def _removed(self, h: Handle, now: float):
        """A handle is gone: its listeners lose their subscription and are told."""
        self.changed = True
        data = wire.encode(wire.Error(ErrorCode.NOT_FOUND, MsgType.SUBSCRIBE, clip_text(f"handle {h.name!r} is gone")))
        for lm in list(h.listeners):
            lm.sub, lm.slot, lm.heard, lm.returns, lm.parity_returns = None, -1, None, {}, set()
            _push(lm.session, data, RELIABLE, now)
        h.listeners.clear()

    def _tell_slot(self, m: Member, h: Handle, now: float):
        """SLOT to a listener when whether its returns are heard is news to it: a
        listener the broadcaster does not take back stops sending its returns."""
        heard = m.slot < h.return_slots
        if heard != m.heard:
            m.heard = heard
            _push(m.session, wire.encode(wire.Slot(h.name, min(m.slot, 0xFFFF), heard)), RELIABLE, now)

    def _tell_count(self, h: Handle, now: float):
        if h.owner is not None:
            entry = (h.name, h.tags, min(len(h.listeners), 0xFFFF))
            _push(h.owner.session, wire.encode(wire.Listing(0, (entry,), False)), RELIABLE, now)

    def _result(self, m: Member, request: int, code: ErrorCode, reason: str, now: float):
        _push(m.session, wire.encode(wire.Result(request, code, clip_text(reason))), RELIABLE, now)

    def _refuse(self, m: Member, code: ErrorCode, about: int, reason: str, now: float):
        if now >= m.next_error:
            m.next_error = now + ERROR_INTERVAL
            _push(m.session, wire.encode(wire.Error(code, about, clip_text(reason))), RELIABLE, now)

    # ---------------------------------------------------------------- reading

    def counters(self) -> dict:
        return {"broadcast_frames": self.broadcast_frames, "relayed_frames": self.relayed_frames,
                "return_frames": self.return_frames, "returns_rejected": self.returns_rejected,
                "returns_dropped": self.returns_dropped, "returns_unheard": self.returns_unheard,
                "broadcasts_rejected": self.broadcasts_rejected,
                "messages_rejected": self.messages_rejected, "sessions_opened": self.sessions_opened}

    def snapshot(self, now: float) -> dict:
        return {"sessions": len(self.members), "handles": self.directory.describe(now), **self.counters()}
