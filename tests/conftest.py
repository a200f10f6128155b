import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modular import plugins
from tests import fixture_modules
from tests.helpers import ROOT

plugins.register(fixture_modules.plugin)


@pytest.fixture
def write_patch(tmp_path):
    def write(doc, name="patch.json"):
        p = tmp_path / name
        p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        return p
    return write


@pytest.fixture(scope="session")
def modular_cmd():
    exe = Path(sys.executable).parent / "modular"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "modular.cli"]


@pytest.fixture(scope="session")
def cli_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def jack_dummy():
    """A JACK server on the dummy driver (48 kHz, 64 frames): a real-time sound card
    without hardware. Yields its name, for JACK_DEFAULT_SERVER in the child's env."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd2 is not installed")
    name = f"modular-test-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(["jackd", "-n", name, "-d", "dummy", "-r", "48000", "-p", "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    assert proc.poll() is None, "jackd did not start"
    yield name
    proc.terminate()
    proc.wait(10)
