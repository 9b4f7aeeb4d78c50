"""Fixtures shared by the test modules."""

import pytest
from click.testing import CliRunner


@pytest.fixture
def runner():
    return CliRunner()
