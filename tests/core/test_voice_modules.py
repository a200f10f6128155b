"""VCO, LFO, VCF, VCA, ADSR, Pan and Const through the engine, polyphonic, measured.

The dsp tests measure the kernels; these check what a patch gets: params and inputs
wired to the right places, channel counts, units. Every test builds the same rack (one
compiled runner) and only changes params and cables.
"""

import numpy as np

from modular.engine import Engine
from modular.patch import from_dict
from tests.core.rack import Sink  # noqa: F401  (registers coretest.Sink)
from tests.helpers import make_patch, peak_hz

SR = 48000
C4 = 261.6256
RACK = (
    ("pitch", "test.PolyConst"),
    ("cv", "test.PolyConst"),
    ("gate", "test.PolyConst"),
    ("const", "core.Const"),
    ("vco", "core.VCO"),
    ("lfo", "core.LFO"),
    ("vcf", "core.VCF"),
    ("adsr", "core.ADSR"),
    ("vca", "core.VCA"),
    ("pan", "core.Pan"),
    ("sink", "coretest.Sink"),
)


def rack(params=None, cables=()):
    params = params or {}
    mods = [(mid, model, params.get(mid, {})) for mid, model in RACK]
    return Engine(from_dict(make_patch(mods, cables)))


def capture(engine, port, seconds):
    m, p = port.split(".")
    out = []
    for _ in range(int(seconds * SR) // 64):
        engine.process(1)
        out.append(engine.output(m, p).copy())
    return np.concatenate(out, axis=1).astype(np.float64)


def crossing_hz(x):
    """Frequency from the rising zero crossings, each placed between samples by linear
    interpolation, fitted by least squares: exact enough for a cent at 16 Hz."""
    i = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    t = i + x[i] / (x[i] - x[i + 1])
    k = np.arange(len(t))
    slope = np.polyfit(k, t, 1)[0]
    return SR / slope


def test_vco_pitch_within_a_cent_across_eight_octaves_on_a_poly_cable():
    volts = [-4.0, -2.5, -1.0, 0.0, 1.0, 2.5, 4.0]
    e = rack({"pitch": {"channels": 7, "start": -4.0, "step": 0.0}, "const": {"channels": 7, **{
        f"v{k + 1}": v for k, v in enumerate(volts)}}},
        [("const.out", "vco.pitch"), ("vco.sin", "sink.in1"), ("vco.saw", "sink.in2")])
    sin = capture(e, "vco.sin", 1.0)
    saw = capture(e, "vco.saw", 1.0)
    assert sin.shape[0] == 7
    for c, v in enumerate(volts):
        want = C4 * 2 ** v
        assert abs(1200 * np.log2(crossing_hz(sin[c]) / want)) < 1.0, (v, crossing_hz(sin[c]), want)
        if v >= 0:  # the saw by FFT where a bin is well under a cent
            assert abs(1200 * np.log2(peak_hz(saw[c], SR) / want)) < 1.0


def test_vco_hard_sync_locks_the_slave_to_the_master():
    # The slave (783 Hz) hard-synced to the LFO run at audio rate (6 V: 2 Hz * 64 = 128
    # Hz) repeats with the master's period, 375 samples, not its own (61.3).
    e = rack({"vco": {"sync": 1, "freq": 1.58}, "lfo": {"freq": 6.0}},
             [("lfo.sin", "vco.sync"), ("vco.saw", "sink.in1")])
    saw = capture(e, "vco.saw", 1.0)[0][4800:]
    assert np.corrcoef(saw[:-375], saw[375:])[0, 1] > 0.99
    assert np.corrcoef(saw[:-61], saw[61:])[0, 1] < 0.9
    free = rack({"vco": {"freq": 1.58}}, [("vco.saw", "sink.in1")])
    assert abs(peak_hz(capture(free, "vco.saw", 1.0)[0], SR) - C4 * 2 ** 1.58) < 1.0


def test_lfo_rate_and_range_per_channel():
    e = rack({"cv": {"channels": 3, "start": 0.0, "step": 1.0}, "lfo": {"unipolar": 1}},
             [("cv.out", "lfo.freq"), ("lfo.sin", "sink.in1")])
    x = capture(e, "lfo.sin", 4.0)
    for c, hz in enumerate((2.0, 4.0, 8.0)):
        assert abs(peak_hz(x[c], SR) - hz) < 0.05
        assert -0.01 < x[c].min() < 0.05 and 9.95 < x[c].max() < 10.01


def test_vcf_cutoff_is_the_minus_3db_point_within_2_percent():
    # A Butterworth low-pass (Q = 0.7071) passes a sine at its cutoff at -3 dB and one
    # two octaves below at almost unity; two channels at different cutoffs.
    results = {}
    for cut_v in (0.0, 2.0):
        fc = C4 * 2 ** cut_v
        for probe in (fc, fc / 4):
            e = rack({"vcf": {"freq": cut_v, "q": 0.7071},
                      "pitch": {"channels": 1, "start": float(np.log2(probe / C4))}},
                     [("pitch.out", "vco.pitch"), ("vco.sin", "vcf.in"), ("vcf.lp", "sink.in1")])
            y = capture(e, "vcf.lp", 0.5)[0][SR // 10:]
            results[(cut_v, probe == fc)] = np.sqrt(2) * np.std(y) / 5.0
    for cut_v in (0.0, 2.0):
        at_cutoff = results[(cut_v, True)]
        assert abs(20 * np.log10(at_cutoff) + 3.01) < 0.17, at_cutoff  # 2 % of cutoff is 0.17 dB here
        assert results[(cut_v, False)] > 0.99


def test_adsr_attack_and_decay_times_through_the_module():
    e = rack({"gate": {"start": 10.0}, "adsr": {"attack": 0.05, "decay": 0.1, "sustain": 0.5, "release": 0.2}},
             [("gate.out", "adsr.gate"), ("adsr.env", "sink.in1")])
    env = capture(e, "adsr.env", 0.5)[0]
    peak = int(np.argmax(env))
    assert abs(peak - 0.05 * SR) <= 48, peak  # within 1 ms
    assert abs(env[peak] - 10.0) < 0.01
    settled = peak + int(0.1 * SR)
    assert abs(env[settled + 48] - 5.0) < 0.05


def test_vca_linear_and_exponential_response():
    for exp, gain in ((0, 0.5), (1, 0.0625)):
        e = rack({"pitch": {"start": 2.0}, "cv": {"start": 5.0}, "vca": {"exp": exp}},
                 [("pitch.out", "vca.in"), ("cv.out", "vca.cv"), ("vca.out", "sink.in1")])
        e.process(2)
        assert np.allclose(e.output("vca", "out"), 2.0 * gain)


def test_pan_keeps_constant_power_on_every_channel():
    positions = [-5.0, -2.5, 0.0, 2.5, 5.0]
    e = rack({"pitch": {"channels": 5, "start": 1.0},
              "const": {"channels": 5, **{f"v{k + 1}": v for k, v in enumerate(positions)}}},
             [("pitch.out", "pan.in"), ("const.out", "pan.pos"), ("pan.left", "sink.in1"), ("pan.right", "sink.in2")])
    e.process(2)
    left, right = e.output("pan", "left")[:, -1], e.output("pan", "right")[:, -1]
    assert left.shape == (5,)
    assert np.allclose(left ** 2 + right ** 2, 1.0, atol=1e-6)
    assert np.allclose([left[0], right[0]], [1.0, 0.0], atol=1e-6)
    assert np.allclose(left[2], right[2]) and abs(left[2] - np.sqrt(0.5)) < 1e-6
