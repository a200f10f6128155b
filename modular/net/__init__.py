"""The network layer: sans-I/O protocol objects, and the sockets and thread around them.

For an engine module (radio.Client / radio.Server):

    from modular.net import transport
    from modular.net.endpoint import LinkEndpoint
    from modular.net.netthread import NetThread

    ep = LinkEndpoint(channels_out=2, channels_in=2, block=64, sample_rate=48000, cv=True)
    net = NetThread.shared()
    t = net.add(transport.server(ep, port))            # or transport.client(ep, host, port)
    ...                                                # transport=transport.TCP for the fallback
    ep.send(position, block); ep.receive(out)          # audio thread, every block
    ep.set_depth(blocks); ep.set_mode("auto")          # param + CV, every block
    ep.status                                          # connected, rtt_ms, jitter_ms, depth, ...
    net.remove(t)

Pieces: wire (codec), session (state machine), latency, jitter (+ kernels, spsc),
kcp_link and udp (UDP carrier: KCP for what must arrive, DATAGRAMs with forward error
correction for audio: fec, gf256), framing (TCP carrier), simlink (simulated link),
impair (the relay), endpoint, transport, netthread. The protocol is docs/protocol.md.
"""
