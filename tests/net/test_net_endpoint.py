"""The send side of a link endpoint: when the network thread is held up, the audio that
waited is still sent as long as the other end's buffer could play it; older audio is
dropped (counted), and CV never is."""

import numpy as np

from modular.net.endpoint import LinkEndpoint

B = 64


class Session:
    """Records what the endpoint sends."""

    is_open = True

    def __init__(self):
        self.sent = []

    def send_frame(self, stream, position, data, now, cv, encoding):
        self.sent.append(position)


def held_up(ep, blocks):
    """The audio thread queues ``blocks`` blocks while the network thread is held up;
    then it pumps once. The positions sent."""
    s = Session()
    ep.pump(s, 0.0)  # (the session is new: the endpoint starts a link epoch)
    block = np.zeros((2, B), np.float32)
    for k in range(blocks):
        ep.send(k * B, block)
    ep.pump(s, 0.0)
    return s.sent


def test_audio_that_waited_less_than_the_deepest_buffer_is_sent():
    ep = LinkEndpoint(2, 2, B, cv=False, max_depth=32)
    assert held_up(ep, 20) == [k * B for k in range(20)]  # 27 ms held up: all of it goes
    assert ep.dropped_stale == 0


def test_older_audio_is_dropped_and_counted():
    ep = LinkEndpoint(2, 2, B, cv=False, max_depth=32)
    assert held_up(ep, 40) == [k * B for k in range(8, 40)]  # the newest 32 (max_depth) go
    assert ep.dropped_stale == 8


def test_cv_is_never_dropped():
    ep = LinkEndpoint(2, 2, B, cv=True, max_depth=32)
    assert held_up(ep, 100) == [k * B for k in range(100)]
    assert ep.dropped_stale == 0
