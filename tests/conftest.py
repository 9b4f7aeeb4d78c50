"""Fixtures shared by the test modules, in every folder of tests/.

The test folders are packages (``tests.models.gbm.test_american``...), so that modules of
the same name in different folders do not clash; this folder is put on the path so that
every module, at any depth, imports the shared helpers as ``helpers``."""

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def runner():
    return CliRunner()
