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
from .audio_in import AudioIn
from .clock import Clock
from .delay import Delay
from .merge import Merge
from .noise import Noise
from .quantizer import Quantizer
from .sample_hold import SampleHold
from .scope import Scope
from .seq import SEQ
from .slew import Slew
from .split import Split
from .wav_in import WavIn

plugin = Plugin("core", name="Core", models=[
    VCO, LFO, VCF, VCA, ADSR, Mixer, Const, Pan, AudioOut, WavOut,
    Noise, Clock, SEQ, Quantizer, SampleHold, Slew, Delay, Merge, Split, Scope, AudioIn, WavIn,
])
