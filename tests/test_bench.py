"""The benchmark's own measuring function over a tiny fleet: request counts, never timings.

The claim is a constant number of NetBox requests per device, whatever the number of
interfaces: the same 3 devices are measured at 8 and at 40 interfaces each.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bench.measure import Measurement, measure_library
from bench.sync_bench import FIRST_MAX_PER_DEVICE, STEADY_MAX_PER_DEVICE
from tests.lab.netbox_server import NetBoxLab

pytestmark = pytest.mark.lab

DEVICES = 3
SIZES = (8, 40)


@pytest.fixture(scope="module")
def measured(
    netbox_lab: NetBoxLab, tmp_path_factory: pytest.TempPathFactory
) -> dict[int, Measurement]:
    """The library measured over a fresh 3-device fleet at each size (devices deleted after)."""
    workdir: Path = tmp_path_factory.mktemp("bench")
    tag = uuid.uuid4().hex[:6]
    return {
        size: measure_library(
            netbox_lab.url,
            netbox_lab.token_v1,
            devices=DEVICES,
            interfaces=size,
            workdir=workdir,
            prefix=f"test-bench-{tag}-{size}",
            first_index=index * DEVICES,
            access_log=netbox_lab.access_log,
            cleanup=True,
        )
        for index, size in enumerate(SIZES)
    }


@pytest.mark.parametrize("size", SIZES)
def test_every_check_holds(measured: dict[int, Measurement], size: int) -> None:
    failed = [name for name, ok in measured[size].checks.items() if not ok]
    assert not failed, failed


@pytest.mark.parametrize("size", SIZES)
def test_requests_per_device_stay_under_the_targets(
    measured: dict[int, Measurement], size: int
) -> None:
    measurement = measured[size]
    assert measurement.phase("steady").worst_per_device <= STEADY_MAX_PER_DEVICE
    assert measurement.phase("first").worst_per_device <= FIRST_MAX_PER_DEVICE
    assert measurement.phase("dry_run").writes == 0


@pytest.mark.parametrize("phase", ["first", "steady", "dry_run", "drift", "recheck"])
def test_requests_per_device_do_not_grow_with_interfaces(
    measured: dict[int, Measurement], phase: str
) -> None:
    small, large = (measured[size].phase(phase) for size in SIZES)
    assert large.worst_per_device <= small.worst_per_device
    assert large.per_device_max <= small.per_device_max


def test_client_count_matches_gunicorn_access_log(measured: dict[int, Measurement]) -> None:
    for measurement in measured.values():
        for phase in measurement.phases:
            assert phase.access_log is not None
            assert phase.access_log.total == phase.total, (measurement.interfaces, phase.name)
