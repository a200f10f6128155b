import json
import os
import sys
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
