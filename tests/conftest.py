"""Shared pytest fixtures.

Tests that need the lab (a real NetBox, simulated devices) are marked ``@pytest.mark.lab`` and
use the fixtures below, which start the lab once per session; ``pytest -m "not lab"`` runs the
pure unit tests without starting anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.lab.netbox_server import NetBoxLab


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``lab`` marker (also declared in pyproject.toml)."""
    config.addinivalue_line(
        "markers", "lab: needs the lab (real NetBox and simulated devices); started by fixtures"
    )


@pytest.fixture(scope="session")
def netbox_lab() -> Iterator[NetBoxLab]:
    """The lab NetBox, started once per test session from the template database."""
    with NetBoxLab.start() as lab:
        yield lab


@pytest.fixture
def nb(netbox_lab: NetBoxLab) -> Any:
    """A pynetbox API for the lab NetBox, authenticated with the classic (v1) token."""
    return netbox_lab.api()
