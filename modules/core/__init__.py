"""The core plugin: oscillators, amplifiers, mixers, and the way out to speakers and files."""

from modular.module import Plugin

from .adsr import ADSR
from .audio_out import AudioOut
from .const import Const
from .lfo import LFO
from .mixer import Mixer
from .pan import Pan
from .vca import VCA
from .vcf import VCF
from .vco import VCO
from .wav_out import WavOut

plugin = Plugin("core", name="Core", models=[
    VCO, LFO, VCF, VCA, ADSR, Mixer, Const, Pan, AudioOut, WavOut,
])
