import numpy as np
import pytest

from measure import BLOCK, SR, run_blocks
from modular.dsp.env import ENV_STATE_SIZE, adsr_block


def adsr(gate, a, d, s, r, retrig=None):
    gate = np.asarray(gate, np.float32)[None, :]
    rt = np.zeros_like(gate) if retrig is None else np.asarray(retrig, np.float32)[None, :]
    st = np.zeros((1, ENV_STATE_SIZE))
    (out,) = run_blocks(adsr_block, [gate, rt], 1, 1, gate.shape[1] / SR, st, a, a, d, d, s, s, r, r, SR)
    return out[0].astype(np.float64)


@pytest.mark.parametrize("t", [0.001, 0.01, 0.25, 2.0])
def test_stage_times_within_1ms(t):
    n = int((3 * t + 0.1) * SR) // BLOCK * BLOCK + BLOCK
    on = int(1.5 * t * SR) + 2 * int(t * SR) + 480
    total = (on + int(1.2 * t * SR) + 4800) // BLOCK * BLOCK + BLOCK
    gate = np.zeros(total)
    gate[:on] = 10.0
    sus = 0.5
    env = adsr(gate, t, t, sus, t)
    ms = 1000.0 / SR
    # Attack: from the gate edge (sample 0) to the first sample at 10 V.
    peak = int(np.argmax(env >= 10.0))
    assert abs(peak * ms - 1000 * t) <= 1.0
    # Decay: peak to the first sample at sustain.
    at_sus = peak + int(np.argmax(env[peak:] <= 10 * sus + 1e-9))
    assert abs((at_sus - peak) * ms - 1000 * t) <= 1.0
    assert abs(env[on - 1] - 10 * sus) < 1e-6
    # Release: gate off to the first sample at 0 V.
    zero = on + int(np.argmax(env[on:] <= 0.0))
    assert abs((zero - on) * ms - 1000 * t) <= 1.0


def test_output_range_and_curve_is_exponential_ish():
    gate = np.full(48000, 10.0)
    env = adsr(gate, 0.1, 0.1, 0.3, 0.1)
    assert env.max() == 10.0 and env.min() >= 0.0
    # The attack is concave (fast start), like VCV's.
    a = env[:4800]
    assert a[2400] > 5.5


def test_release_from_mid_attack_takes_release_time():
    gate = np.zeros(48000)
    gate[:2400] = 10.0  # 50 ms of a 200 ms attack
    env = adsr(gate, 0.2, 0.1, 0.5, 0.05)
    assert 0.5 < env[2399] < 9.0
    zero = 2400 + int(np.argmax(env[2400:] <= 0.0))
    assert abs((zero - 2400) / SR - 0.05) <= 0.001


def test_retrigger_restarts_attack_while_gate_held():
    gate = np.full(48000, 10.0)
    rt = np.zeros(48000)
    rt[24000:24048] = 10.0
    env = adsr(gate, 0.01, 0.01, 0.2, 0.1, retrig=rt)
    assert abs(env[23999] - 2.0) < 1e-6
    assert env[24000 + 400] == 10.0 or env[24000:24000 + 480].max() == 10.0


def test_polyphonic_channels_are_independent():
    gate = np.zeros((2, 9600), np.float32)
    gate[0, :4800] = 10.0
    st = np.zeros((2, ENV_STATE_SIZE))
    (out,) = run_blocks(adsr_block, [gate, np.zeros((1, 9600), np.float32)], 1, 2, 0.2, st,
                        0.01, 0.01, 0.1, 0.1, 0.5, 0.5, 0.1, 0.1, SR)
    assert out[1].max() == 0.0 and out[0].max() == 10.0
