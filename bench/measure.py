"""Run one method over one fleet, phase by phase, and measure what each phase cost NetBox.

Every phase is one ``nr.run`` over the whole fleet with Nornir's threaded runner. For each
phase the benchmark records:

* the requests the client sent, by HTTP method, counted by a response hook on the pynetbox
  session (``tests.lab.inventory.counting``) and, per device, by a second hook that knows
  which Nornir host the calling thread is working on;
* the requests gunicorn logged for the same window of time (when its access log is known),
  with the server time they took;
* the wall time of the run, and the process's peak resident set size after it.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pynetbox
import requests
from nornir.core import Nornir
from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task

from bench.baseline import per_object_sync
from bench.fleet import Fleet, create_fleet, delete_fleet
from nornir_nb_ifsync import SyncReport, connect, netbox_update_interfaces
from nornir_nb_ifsync.netbox import DEFAULT_TIMEOUT
from tests.lab.inventory import counting, make_nornir

logger = logging.getLogger(__name__)

#: Nornir's threaded-runner workers: as many as the lab's gunicorn has sync workers (3, on
#: 2 cores). NetBox takes about 0.2 s of server time per interface it creates, so one device's
#: bulk create is several seconds; a client thread more than gunicorn has workers only waits
#: in gunicorn's socket backlog, and that wait counts against the client's read timeout.
DEFAULT_WORKERS = 3
#: Seconds to wait for gunicorn to log the last requests of a phase.
LOG_WAIT = 15.0

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOG_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) \S+ (?P<ms>\d+)\s*$'
)
_current = threading.local()


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, MiB (``ru_maxrss``; KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class HostTracker:
    """A Nornir processor that tells the request counter which host a thread works on."""

    def task_started(self, task: Task) -> None:
        """Nothing to do when the run starts."""

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        """Nothing to do when the run ends."""

    def task_instance_started(self, task: Task, host: Host) -> None:
        """Remember the host this thread now works on."""
        _current.host = host.name

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """Forget the host."""
        _current.host = None

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        """Subtasks run in the host's thread; nothing to do."""

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """Subtasks run in the host's thread; nothing to do."""


class PerHostCounter:
    """A thread-safe response hook counting requests per host and per method."""

    def __init__(self, hosts: list[str]) -> None:
        self._lock = threading.Lock()
        self.by_host: Counter[str] = Counter(dict.fromkeys(hosts, 0))
        self.by_method: Counter[str] = Counter()

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count one response (the hook's signature)."""
        host = getattr(_current, "host", None) or "(no host)"
        with self._lock:
            self.by_host[host] += 1
            self.by_method[str(response.request.method)] += 1


@dataclass(frozen=True)
class LogWindow:
    """What gunicorn's access log holds for one phase.

    Attributes:
        by_method: Requests by HTTP method.
        total: All requests.
        server_ms: Sum of the durations gunicorn logged, milliseconds.
        errors: Requests answered with a status of 400 or more.
    """

    by_method: dict[str, int]
    total: int
    server_ms: int
    errors: int


class AccessLog:
    """Reads the lines gunicorn appended to its access log during a phase.

    Args:
        path: The access log, or None when it is not known (a NetBox not started here).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def _size(self) -> int:
        return self.path.stat().st_size if self.path and self.path.exists() else 0

    def mark(self) -> int:
        """Wait until the log stops growing (lines of earlier requests are in), return its size."""
        if self.path is None:
            return 0
        size, deadline = self._size(), time.monotonic() + 3.0
        while time.monotonic() < deadline:
            time.sleep(0.15)
            now = self._size()
            if now == size:
                break
            size = now
        return size

    def _lines(self, start: int) -> list[str]:
        assert self.path is not None
        with self.path.open("rb") as log:
            log.seek(start)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]
        return complete.decode("utf-8", "replace").splitlines()

    def window(self, start: int, expected: int) -> LogWindow | None:
        """Return the requests logged since ``start``, waiting for ``expected`` of them.

        gunicorn writes a line after the response is sent, so the last lines of a phase can
        land a moment after the client has its answers.
        """
        if self.path is None:
            return None
        deadline = time.monotonic() + LOG_WAIT
        lines = self._lines(start)
        while len(lines) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
            lines = self._lines(start)
        by_method: Counter[str] = Counter()
        server_ms = errors = 0
        for line in lines:
            match = _LOG_LINE.search(line)
            if match is None:
                continue
            by_method[match["method"]] += 1
            server_ms += int(match["ms"])
            errors += int(match["status"]) >= 400
        return LogWindow(dict(by_method), sum(by_method.values()), server_ms, errors)


@dataclass
class Phase:
    """The cost and outcome of one phase.

    Attributes:
        name: ``first``, ``steady``, ``dry_run``, ``drift`` or ``recheck``.
        method: ``library`` or ``baseline``.
        devices: Devices in the fleet.
        interfaces: Interfaces per device.
        seconds: Wall time of the run.
        requests: Client-side count by HTTP method (``counting()`` hook).
        per_host_total: Requests attributed to hosts by the per-host hook (cross-check).
        per_device_mean: Requests per device (client total / devices).
        per_device_min: Fewest requests one device took.
        per_device_max: Most requests one device took.
        access_log: What gunicorn logged in the same window, or None.
        hosts_failed: Hosts whose task failed.
        hosts_changed: Hosts where something was (or would be) written.
        interfaces_created: Interfaces created (or planned, in a dry run).
        interfaces_updated: Interfaces updated (or planned, in a dry run).
        peak_rss_mb: Peak RSS of the process after the phase.
        tracemalloc_peak_mb: Peak of Python allocations during the phase, when traced.
        errors: The first few failure messages.
        load_average: The machine's 1-minute load average when the phase ended (the lab
            shares the CPUs with whatever else runs).
    """

    name: str
    method: str
    devices: int
    interfaces: int
    seconds: float
    requests: dict[str, int]
    per_host_total: int
    per_device_mean: float
    per_device_min: int
    per_device_max: int
    access_log: LogWindow | None
    hosts_failed: int
    hosts_changed: int
    interfaces_created: int
    interfaces_updated: int
    peak_rss_mb: float
    tracemalloc_peak_mb: float | None = None
    errors: list[str] = field(default_factory=list)
    load_average: float | None = None

    @property
    def total(self) -> int:
        """All requests the client counted."""
        return sum(self.requests.values())

    @property
    def writes(self) -> int:
        """POST, PUT, PATCH and DELETE requests the client counted."""
        return sum(n for m, n in self.requests.items() if m in _WRITE_METHODS)

    @property
    def counted_total(self) -> int:
        """The larger of the client's count and gunicorn's (which also sees timed-out ones)."""
        return max(self.total, self.access_log.total if self.access_log else 0)

    @property
    def server_per_device(self) -> float | None:
        """Requests per device as gunicorn logged them, or None without an access log.

        The server sees what the client's hooks cannot: requests whose answer never came
        (read timeouts) and urllib3's own retries.
        """
        if self.access_log is None:
            return None
        return round(self.access_log.total / self.devices, 3)

    @property
    def worst_per_device(self) -> float:
        """The larger of the most requests one device took (client) and the server's mean."""
        return max(float(self.per_device_max), self.server_per_device or 0.0)

    @property
    def seconds_per_host(self) -> float:
        """Wall time divided by the number of devices."""
        return self.seconds / self.devices

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Phase:
        """Rebuild a phase from :meth:`to_dict`'s output."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if values.get("access_log") is not None:
            values["access_log"] = LogWindow(**values["access_log"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the phase as JSON-able data."""
        data = asdict(self)
        data.update(total=self.total, writes=self.writes, seconds_per_host=self.seconds_per_host)
        return data


@dataclass
class Measurement:
    """All phases of one method over one fleet.

    Attributes:
        method: ``library`` or ``baseline``.
        devices: Devices in the fleet.
        interfaces: Interfaces per device.
        workers: Nornir threaded-runner workers.
        phases: The phases, in the order they ran.
        checks: Named correctness checks and whether they held.
        drifted_per_device: Interfaces the drift changed on each device.
        seeded_seconds: When the interfaces were written by a seeding step instead of a
            measured first sync, the seconds it took.
    """

    method: str
    devices: int
    interfaces: int
    workers: int
    phases: list[Phase] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    drifted_per_device: int = 0
    seeded_seconds: float | None = None

    def find(self, name: str) -> Phase | None:
        """Return the phase of that name, or None when it did not run."""
        return next((p for p in self.phases if p.name == name), None)

    def phase(self, name: str) -> Phase:
        """Return the phase of that name.

        Raises:
            KeyError: No such phase ran.
        """
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)

    @property
    def verified(self) -> bool:
        """True when every check held."""
        return all(self.checks.values())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        """Rebuild a measurement from :meth:`to_dict`'s output."""
        return cls(
            method=data["method"],
            devices=data["devices"],
            interfaces=data["interfaces"],
            workers=data["workers"],
            phases=[Phase.from_dict(p) for p in data["phases"]],
            checks=dict(data["checks"]),
            drifted_per_device=data.get("drifted_per_device", 0),
            seeded_seconds=data.get("seeded_seconds"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the measurement as JSON-able data."""
        return {
            "method": self.method,
            "devices": self.devices,
            "interfaces": self.interfaces,
            "workers": self.workers,
            "drifted_per_device": self.drifted_per_device,
            "seeded_seconds": self.seeded_seconds,
            "checks": dict(self.checks),
            "verified": self.verified,
            "phases": [p.to_dict() for p in self.phases],
        }


def _outcome(result: AggregatedResult) -> tuple[int, int, int, int, list[str]]:
    """Hosts failed and changed, interfaces created and updated, first errors."""
    failed = changed = created = updated = 0
    errors: list[str] = []
    for host, multi in result.items():
        outcome = multi[0].result
        if multi.failed:
            failed += 1
            if len(errors) < 3:
                reason = outcome.error if isinstance(outcome, SyncReport) else ""
                errors.append(f"{host}: {(reason or str(multi[0].exception))[:500]}")
        changed += bool(multi[0].changed)
        if isinstance(outcome, SyncReport):
            created += len(outcome.created)
            updated += len(outcome.updated)
        elif isinstance(outcome, dict):
            created += int(outcome.get("created", 0))
            updated += int(outcome.get("saved", 0))
    return failed, changed, created, updated, errors


def run_phase(
    nr: Nornir,
    api: Any,
    log: AccessLog,
    name: str,
    method: str,
    interfaces: int,
    task: Any,
    trace_memory: bool = False,
    **kwargs: Any,
) -> Phase:
    """Run ``task`` over every host once and measure it.

    Args:
        nr: Nornir over the fleet.
        api: The pynetbox API the task uses (its session gets the counting hooks).
        log: gunicorn's access log.
        name: Phase name.
        method: ``library`` or ``baseline``.
        interfaces: Interfaces per device, for the record.
        task: The Nornir task.
        trace_memory: Trace Python allocations during the run (slows it down).
        **kwargs: Arguments of the task.
    """
    hosts = list(nr.inventory.hosts)
    per_host = PerHostCounter(hosts)
    hooks = api.http_session.hooks.setdefault("response", [])
    start = log.mark()
    if trace_memory:
        tracemalloc.start()
    hooks.append(per_host)
    try:
        with counting(api) as counter:
            began = time.perf_counter()
            result = nr.with_processors([HostTracker()]).run(task=task, on_failed=True, **kwargs)
            seconds = time.perf_counter() - began
    finally:
        hooks.remove(per_host)
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace_memory else None
    if trace_memory:
        tracemalloc.stop()
    window = log.window(start, counter.total)
    nr.close_connections(on_failed=True)
    failed, changed, created, updated, errors = _outcome(result)
    del result
    counts = [per_host.by_host[h] for h in hosts]
    phase = Phase(
        name=name,
        method=method,
        devices=len(hosts),
        interfaces=interfaces,
        seconds=round(seconds, 3),
        requests=dict(sorted(counter.by_method.items())),
        per_host_total=sum(per_host.by_host.values()),
        per_device_mean=round(counter.total / len(hosts), 3),
        per_device_min=min(counts),
        per_device_max=max(counts),
        access_log=window,
        hosts_failed=failed,
        hosts_changed=changed,
        interfaces_created=created,
        interfaces_updated=updated,
        peak_rss_mb=round(peak_rss_mb(), 1),
        tracemalloc_peak_mb=None if traced is None else round(traced, 1),
        errors=errors,
        load_average=round(os.getloadavg()[0], 2),
    )
    logger.info(
        "%s %s %dx%d: %d requests (%.2f/device, max %d) in %.2fs",
        method,
        name,
        phase.devices,
        interfaces,
        phase.total,
        phase.per_device_mean,
        phase.per_device_max,
        phase.seconds,
    )
    return phase


def _check_access_log(measurement: Measurement) -> None:
    for phase in measurement.phases:
        if phase.access_log is not None:
            measurement.checks[f"{phase.name}: access log matches client count"] = (
                phase.access_log.total == phase.total
            )


def _object_changes(admin: Any) -> int:
    return int(admin.core.object_changes.count())


def measure_library(
    url: str,
    token: str,
    *,
    devices: int,
    interfaces: int,
    workdir: Path,
    prefix: str,
    first_index: int = 0,
    workers: int = DEFAULT_WORKERS,
    access_log: Path | None = None,
    drift: bool = True,
    trace_memory: bool = False,
    cleanup: bool = False,
    read_timeout: float | None = None,
    plan_first: bool = False,
    seed: Callable[[Fleet], float] | None = None,
) -> Measurement:
    """Measure ``netbox_update_interfaces`` over a fresh fleet.

    Phases: with ``plan_first``, ``first_dry`` (a dry run of the first sync: every interface
    planned, nothing written), then ``first`` (everything created; with ``seed``, the
    interfaces are written by ``seed`` instead and no ``first`` phase is measured),
    ``steady`` (nothing changed); with ``drift``, the
    devices' replies are rewritten with 10% of the interfaces changed, then ``dry_run`` (must
    write nothing), ``drift`` (writes the changes) and ``recheck`` (nothing left to change).
    When a host fails in the first sync, the later phases are not run (they would measure
    the repair of the failure, not the phase).

    Args:
        url: NetBox URL.
        token: API token with write permission.
        devices: Devices in the fleet.
        interfaces: Interfaces per device.
        workdir: Directory for the mock-driver files.
        prefix: Start of the device names (must be new to NetBox).
        first_index: Index of the fleet's first device (keeps MAC addresses distinct).
        workers: Nornir threaded-runner workers.
        access_log: gunicorn's access log, when known.
        drift: Run the drift phases.
        trace_memory: Trace Python allocations during the first sync.
        cleanup: Delete the fleet's devices at the end.
        read_timeout: The sync client's read timeout, seconds (default: the library's).
        plan_first: Run ``first_dry`` before the first sync.
        seed: Writes the fleet's interfaces into NetBox instead of a measured first sync
            (see :mod:`bench.seed_direct`); returns the seconds it took.
    """
    admin = connect(url, token)
    fleet = create_fleet(admin, prefix, devices, interfaces, workdir, first_index)
    api = (
        connect(url, token)
        if read_timeout is None
        else connect(url, token, timeout=(DEFAULT_TIMEOUT[0], read_timeout))
    )
    log = AccessLog(access_log)
    nr = make_nornir(fleet.hosts(), num_workers=workers)
    measurement = Measurement("library", devices, interfaces, workers)
    expected = devices * interfaces

    def run(name: str, dry_run: bool, traced: bool = False) -> Phase:
        phase = run_phase(
            nr,
            api,
            log,
            name,
            "library",
            interfaces,
            netbox_update_interfaces,
            trace_memory=traced,
            netbox=api,
            dry_run=dry_run,
            run_id=f"bench-{prefix}-{name}",
        )
        measurement.phases.append(phase)
        measurement.checks[f"{name}: no host failed"] = phase.hosts_failed == 0
        return phase

    try:
        if plan_first:
            planned = run("first_dry", dry_run=True, traced=trace_memory and seed is not None)
            measurement.checks["first_dry: planned every interface, wrote nothing"] = (
                planned.interfaces_created == expected and planned.writes == 0
            )
        if seed is not None:
            measurement.seeded_seconds = round(seed(fleet), 1)
        else:
            first = run("first", dry_run=False, traced=trace_memory)
            measurement.checks["first: every interface created"] = (
                first.interfaces_created == expected and first.hosts_changed == devices
            )
            if first.hosts_failed:
                return measurement
        steady = run("steady", dry_run=False)
        measurement.checks["steady: nothing written"] = (
            steady.hosts_changed == 0 and steady.writes == 0
        )
        if drift and not steady.hosts_failed:
            changed = fleet.write_replies(drift=True)
            measurement.drifted_per_device = changed
            before = _object_changes(admin)
            dry = run("dry_run", dry_run=True)
            after = _object_changes(admin)
            logged_writes = (
                sum(n for m, n in dry.access_log.by_method.items() if m in _WRITE_METHODS)
                if dry.access_log
                else 0
            )
            measurement.checks["dry_run: wrote nothing"] = (
                dry.writes == 0 and logged_writes == 0 and before == after
            )
            measurement.checks["dry_run: planned every drifted interface"] = (
                dry.interfaces_updated == devices * changed and dry.hosts_changed == devices
            )
            applied = run("drift", dry_run=False)
            measurement.checks["drift: updated every drifted interface"] = (
                applied.interfaces_updated == devices * changed and applied.interfaces_created == 0
            )
            recheck = run("recheck", dry_run=False)
            measurement.checks["recheck: nothing left to write"] = (
                recheck.hosts_changed == 0 and recheck.writes == 0
            )
    finally:
        _check_access_log(measurement)
        nr.close_connections(on_failed=True)
        if cleanup:
            delete_fleet(admin, fleet)
    return measurement


def measure_baseline(
    url: str,
    token: str,
    *,
    devices: int,
    interfaces: int,
    workdir: Path,
    prefix: str,
    first_index: int = 0,
    workers: int = DEFAULT_WORKERS,
    access_log: Path | None = None,
    cleanup: bool = False,
) -> Measurement:
    """Measure the per-object baseline over a fresh fleet: ``first`` then ``steady``.

    Arguments as for :func:`measure_library`. The baseline uses a plain ``pynetbox.api``.
    """
    admin = connect(url, token)
    fleet: Fleet = create_fleet(admin, prefix, devices, interfaces, workdir, first_index)
    nb = pynetbox.api(url, token=token)
    log = AccessLog(access_log)
    nr = make_nornir(fleet.hosts(), num_workers=workers)
    measurement = Measurement("baseline", devices, interfaces, workers)
    try:
        for name in ("first", "steady"):
            phase = run_phase(nr, nb, log, name, "baseline", interfaces, per_object_sync, nb=nb)
            measurement.phases.append(phase)
            measurement.checks[f"{name}: no host failed"] = phase.hosts_failed == 0
            if phase.access_log is not None:
                measurement.checks[f"{name}: access log matches client count"] = (
                    phase.access_log.total == phase.total
                )
        measurement.checks["first: every interface created"] = (
            measurement.phase("first").interfaces_created == devices * interfaces
        )
        measurement.checks["steady: nothing written"] = measurement.phase("steady").writes == 0
    finally:
        nr.close_connections(on_failed=True)
        if cleanup:
            delete_fleet(admin, fleet)
    return measurement
