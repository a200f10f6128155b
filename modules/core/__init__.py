"""The core plugin: oscillators, amplifiers, mixers, and the way out to speakers and files."""

from modular.module import Plugin

from .audio_out import AudioOut
from .mixer import Mixer
from .vca import VCA
from .vco import VCO
from .wav_out import WavOut

plugin = Plugin("core", name="Core", models=[VCO, VCA, Mixer, AudioOut, WavOut])
