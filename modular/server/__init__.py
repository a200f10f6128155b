"""The radio server (``modular server``) and the client side engine modules use with it.

Server: directory.py (handles, tokens, tags, streams, listener slots: pure state),
relay.py (RadioHub: session events in, relayed frames and answers out; sans-I/O),
core.py (RadioServerCore: UdpServer + RadioHub, datagrams in and out), sockets.py
(ServerTransport for a NetThread: UDP/KCP and TCP), web.py (GET /api/streams), app.py
(the command). Client: client.py (RadioPeer sans-I/O, RadioTransport for the NetThread,
RadioSocket for tools, ``list_streams``). The messages: docs/protocol.md, "Radio server".

    from modular.server import list_streams
    list_streams("host:7350")   # [StreamListing(handle, tags, listeners)], over the protocol
"""

from .client import list_streams  # noqa: F401
