"""core.ADSR: an envelope generator, 0..10 V.

A gate (above ~1 V) starts the attack; the envelope decays to the sustain level and
holds while the gate is high, then releases. A trigger at ``retrig`` restarts the
attack from the current level. Stage times run from 1 ms to 10 s and are met within a
millisecond (modular/dsp/env.py).
"""

from modular.dsp.env import ENV_STATE_SIZE, adsr_block
from modular.module import MAX_CHANNELS, Input, Module, Output, Param, kernel

S = ENV_STATE_SIZE


@kernel
def adsr_kernel(gate, retrig, env, p0, p1, state, mem, nch, ctx):
    st = state[: MAX_CHANNELS * S].reshape((MAX_CHANNELS, S))[:nch]
    adsr_block(gate, retrig, env, st, p0[0], p1[0], p0[1], p1[1], p0[2], p1[2], p0[3], p1[3], ctx[0])


class ADSR(Module):
    model = "ADSR"
    title = "ADSR"
    description = "Envelope: attack, decay, sustain, release; gate and retrigger"
    hp = 6
    params = (
        Param("attack", 0.001, 10.0, 0.01, unit="s", label="Attack"),
        Param("decay", 0.001, 10.0, 0.2, unit="s", label="Decay"),
        Param("sustain", 0.0, 1.0, 0.5, label="Sustain"),
        Param("release", 0.001, 10.0, 0.3, unit="s", label="Release"),
    )
    inputs = (Input("gate", "Gate"), Input("retrig", "Retrig"))
    outputs = (Output("env", "Envelope"),)
    kernel = adsr_kernel
    state_per_channel = S
    finite_outputs = True
