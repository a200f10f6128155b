"""The audio thread never compiles: after a radio module's warm-up, a jitter buffer taken
through every path a stream can take (late bursts that starve it, losses, depth changes)
loads no new numba specialization. Loading one from the disk cache stalls the thread for
several ms, which the peer hears as a glitch and its auto buffer as jitter to cover."""

import subprocess
import sys

from tests.helpers import ROOT

SCRIPT = r"""
import numpy as np
from numba.core.registry import CPUDispatcher
from modular.net import fec, kernels, runs, wire
from modular.net.endpoint import LinkEndpoint
from modules.radio.link import _warm_up

def signatures():
    return {f"{m.__name__}.{n}": len(d.signatures) for m in (kernels, fec, runs)
            for n, d in vars(m).items() if isinstance(d, CPUDispatcher)}

B = 64
for cv in (True, False):
    _warm_up(B, 48000, cv)
before = signatures()
stalls = 0
rng = np.random.default_rng(1)
for cv in (True, False):
    for mode in ("auto", "fixed"):
        ep = LinkEndpoint(2, 2, B, 48000, cv=cv, mode=mode)
        out = np.zeros((2, B), np.float32)
        waiting = []
        for k in range(3000):
            # frames of half a block, the second half a block behind the first, so that
            # a starved read finds part of its block; now and then the carrier holds
            # 6 blocks and releases them at once (over KCP what follows a lost segment
            # waits for its resend)
            for j in (2 * k, 2 * k + 1):
                lost = not cv and rng.random() < 0.02
                if not lost:
                    half = np.full((2, B // 2), j, np.float32)
                    due = k + (j % 2)
                    if 250 <= due % 500 < 256:
                        due += 256 - due % 500
                    waiting.append((due, wire.Frame(1, j, j * B // 2, 2, B // 2, wire.Encoding.FLOAT32,
                                                    half.tobytes(), wire.FLAG_CV if cv else 0)))
            for due, f in [w for w in waiting if w[0] <= k]:
                ep.rx.offer(f)
            waiting = [w for w in waiting if w[0] > k]
            if mode == "fixed" and k in (1500, 2200):
                ep.rx.set_depth(3.0 if k == 1500 else 1.0)  # deeper, then shallower (audio cross-fades)
            ep.receive(out)
        stalls += ep.rx.stalls
after = signatures()
print(stalls)
print({n: (before[n], after[n]) for n in after if after[n] != before[n]})
"""


def test_warm_up_loads_every_kernel_the_audio_thread_calls():
    p = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    stalls, compiled = p.stdout.strip().splitlines()[-2:]
    assert int(stalls) > 0, "the scenario starves the buffer (its partial-block path)"
    assert compiled == "{}", f"compiled in the audio thread after the warm-up: {compiled}"
