"""Messages over a byte stream (the TCP fallback): each one preceded by its length as a
big-endian u32. A length of 0 or over wire.MAX_MESSAGE is a ProtocolError: the stream
cannot be resynchronised after that, so the connection is closed."""

from __future__ import annotations

import struct

from . import wire
from .wire import ErrorCode, ProtocolError

_LEN = struct.Struct(">I")


def frame(message: bytes) -> bytes:
    return _LEN.pack(len(message)) + message


class StreamDecoder:
    def __init__(self):
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The complete messages now available; ProtocolError on an impossible length."""
        self._buf += data
        out = []
        while len(self._buf) >= 4:
            (n,) = _LEN.unpack_from(self._buf)
            if n == 0 or n > wire.MAX_MESSAGE:
                raise ProtocolError(ErrorCode.MALFORMED, f"record length {n}")
            if len(self._buf) < 4 + n:
                break
            out.append(bytes(self._buf[4:4 + n]))
            del self._buf[:4 + n]
        return out
