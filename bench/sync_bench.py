"""Benchmark: what ``netbox_update_interfaces`` costs NetBox, against a per-object baseline.

Run from the repository root::

    .venv/bin/python -m bench.sync_bench                     # 10x48 both methods, 100x48 library
    .venv/bin/python -m bench.sync_bench --sweep --scaling   # plus 8/48/384 and 10/100/1000 hosts
    .venv/bin/python -m bench.sync_bench --large             # the library over 1,000 devices

It starts the lab NetBox (``tests.lab.netbox_server.NetBoxLab``: NetBox 4.7.3 under gunicorn
with a fresh database) unless ``--nb-url``/``--nb-token`` (or ``NB_URL``/``NB_TOKEN``) name an
existing one. Devices are served by NAPALM's mock driver, so NetBox is what is measured.

What runs, each on its own fresh devices:

* comparison: the library and the per-object baseline (:mod:`bench.baseline`) over two
  fleets of the same size (``--baseline-devices`` x ``--interfaces``); ratios of requests and
  wall time for the first sync and the steady state;
* main: the library over ``--devices`` x ``--interfaces``: first sync, steady state, dry run
  of a 10% drift (verified to write nothing), the drift, and a recheck;
* ``--sweep``: the library at 8, 48 and 384 interfaces per device on a small fleet;
* ``--scaling``: the library at 10, 100 and 1,000 hosts (``--scaling-sizes``).

It prints one set of tables (Markdown) and the PASS/MISS of each target, and writes the same
figures as JSON (``--json``, default ``bench/results/latest.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.fleet import MAX_INTERFACES, MIN_INTERFACES, Fleet
from bench.measure import DEFAULT_WORKERS, Measurement, Phase, measure_baseline, measure_library
from bench.measure import peak_rss_mb as current_peak_rss_mb
from nornir_nb_ifsync import connect

logger = logging.getLogger("bench")

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"
LARGE_DEVICES = 1000
SWEEP_INTERFACES = (8, 48, 384)
DEFAULT_SCALING = (10, 100, 1000)

#: Targets of the issue.
STEADY_MAX_PER_DEVICE = 2
FIRST_MAX_PER_DEVICE = 6
REQUEST_RATIO_MIN = 25.0
TIME_RATIO_MIN = 15.0
RSS_LIMIT_MB = 150.0
RSS_AT_HOSTS = 1000
#: "Flat": time per host at the largest fleet at most this many times that of the smallest.
FLAT_GROWTH_MAX = 1.5


@dataclass
class Target:
    """One target of the issue and how the run measured up.

    Attributes:
        name: What is promised.
        measured: The figures it was judged on.
        status: ``PASS``, ``MISS`` or ``NOT RUN``.
    """

    name: str
    measured: str
    status: str


@dataclass
class Report:
    """Everything one invocation measured.

    Attributes:
        machine: Where it ran.
        settings: How it ran.
        comparison: The library and the baseline over same-size fleets.
        main: The library over the main fleet (one measurement, once it ran).
        sweep: The library at each interface count of ``--sweep``.
        scaling: The library at each fleet size of ``--scaling``.
        targets: The targets' verdicts.
    """

    machine: dict[str, Any]
    settings: dict[str, Any]
    comparison: list[Measurement] = field(default_factory=list)
    main: list[Measurement] = field(default_factory=list)
    sweep: list[Measurement] = field(default_factory=list)
    scaling: list[Measurement] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def peak_rss_mb(self) -> float:
        """Peak RSS of the process that measured: the highest after any phase, or now."""
        phases = [p.peak_rss_mb for m in self.measurements() for p in m.phases]
        return max(phases) if phases else round(current_peak_rss_mb(), 1)

    def measurements(self) -> list[Measurement]:
        """Every measurement, in the order they ran."""
        return [*self.comparison, *self.main, *self.sweep, *self.scaling]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return {
            "machine": self.machine,
            "settings": self.settings,
            "comparison": {
                "measurements": [m.to_dict() for m in self.comparison],
                "ratios": ratios(self.comparison),
            },
            "main": self.main[0].to_dict() if self.main else None,
            "sweep": [m.to_dict() for m in self.sweep],
            "scaling": [m.to_dict() for m in self.scaling],
            "targets": [asdict(t) for t in self.targets],
            "checks_ok": all(m.verified for m in self.measurements()),
            "peak_rss_mb": self.peak_rss_mb(),
        }


def load_report(path: Path) -> Report:
    """Rebuild a report from the JSON :meth:`Report.to_dict` wrote (targets judged anew)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    main = [data["main"]] if data.get("main") else []
    report = Report(
        machine=data["machine"],
        settings=data["settings"],
        comparison=[Measurement.from_dict(m) for m in data["comparison"]["measurements"]],
        main=[Measurement.from_dict(m) for m in main],
        sweep=[Measurement.from_dict(m) for m in data["sweep"]],
        scaling=[Measurement.from_dict(m) for m in data["scaling"]],
    )
    report.targets = evaluate(report)
    return report


def ratios(comparison: Sequence[Measurement]) -> dict[str, dict[str, float]]:
    """Baseline / library, for requests and wall time, per phase both methods ran.

    Requests are the larger of the client's count and gunicorn's, for each method.
    """
    by_method = {m.method: m for m in comparison}
    if "library" not in by_method or "baseline" not in by_method:
        return {}
    library, baseline = by_method["library"], by_method["baseline"]
    result: dict[str, dict[str, float]] = {}
    for name in ("first", "steady"):
        lib, base = library.find(name), baseline.find(name)
        if lib is None or base is None:
            continue
        result[name] = {
            "requests": round(base.counted_total / max(lib.counted_total, 1), 1),
            "wall_time": round(base.seconds / max(lib.seconds, 1e-9), 1),
        }
    return result


# ---------------------------------------------------------------------------- targets


def _status(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _per_device(phase: Phase) -> str:
    server = phase.server_per_device
    logged = "" if server is None else f", access log {server:g}/device"
    return f"client {phase.per_device_mean:g} mean, {phase.per_device_max} max{logged}"


def _label(m: Measurement) -> str:
    return f"{m.devices}x{m.interfaces}"


def evaluate(report: Report) -> list[Target]:
    """Judge the report against the issue's targets."""
    library = [m for m in report.measurements() if m.method == "library"]
    failed = [
        f"{_label(m)} {p.name}: {p.hosts_failed} hosts"
        for m in library
        for p in m.phases
        if p.hosts_failed
    ]
    targets = [
        Target(
            "every library run completed, no host failed",
            "; ".join(failed) or f"{len(library)} runs",
            _status(not failed),
        )
    ]
    for name, limit in (("steady", STEADY_MAX_PER_DEVICE), ("first", FIRST_MAX_PER_DEVICE)):
        ran = [(m, p) for m in library if (p := m.find(name)) is not None]
        missing = [_label(m) for m in library if m.find(name) is None and m.find("first")]
        title = f"{name}: <= {limit} requests/device (every library run)"
        if not ran:
            targets.append(Target(title, "-", "NOT RUN"))
            continue
        worst_m, worst = max(ran, key=lambda mp: mp[1].worst_per_device)
        note = f"; not reached at {', '.join(missing)}" if missing else ""
        targets.append(
            Target(
                title,
                f"worst {_per_device(worst)} ({_label(worst_m)}){note}",
                _status(worst.worst_per_device <= limit and not missing),
            )
        )
    targets.extend(_sweep_targets(report.sweep))
    targets.extend(_ratio_targets(report.comparison))
    targets.extend(_scale_targets(report))
    return targets


def _sweep_targets(sweep: Sequence[Measurement]) -> list[Target]:
    if len(sweep) < 2:
        return [Target("per-device requests independent of interfaces (--sweep)", "-", "NOT RUN")]
    targets = []
    sizes = ", ".join(str(m.interfaces) for m in sweep)
    for name, limit in (("steady", STEADY_MAX_PER_DEVICE), ("first", FIRST_MAX_PER_DEVICE)):
        found = {m.interfaces: m.find(name) for m in sweep}
        parts = [f"M={k}: {_req(p)}" if p else f"M={k}: did not run" for k, p in found.items()]
        ran = [p for p in found.values() if p is not None]
        same = len(ran) == len(found) and len({p.worst_per_device for p in ran}) == 1
        targets.append(
            Target(
                f"{name}: <= {limit}/device and the same at {sizes} interfaces (--sweep)",
                "per device (client mean / max, access log mean): " + ", ".join(parts),
                _status(same and all(p.worst_per_device <= limit for p in ran)),
            )
        )
    return targets


def _ratio_targets(comparison: Sequence[Measurement]) -> list[Target]:
    found = ratios(comparison)
    if not found:
        return [Target("vs baseline (requests, wall time)", "-", "NOT RUN")]
    targets = []
    for name in ("first", "steady"):
        if name not in found:
            targets.append(Target(f"{name}: vs baseline", "a method did not run it", "MISS"))
            continue
        got = found[name]
        targets.append(
            Target(
                f"{name}: >= {REQUEST_RATIO_MIN:g}x fewer requests than the baseline",
                f"{got['requests']:g}x",
                _status(got["requests"] >= REQUEST_RATIO_MIN),
            )
        )
        targets.append(
            Target(
                f"{name}: >= {TIME_RATIO_MIN:g}x less wall time than the baseline",
                f"{got['wall_time']:g}x",
                _status(got["wall_time"] >= TIME_RATIO_MIN),
            )
        )
    return targets


def _scale_targets(report: Report) -> list[Target]:
    targets = []
    big = [m for m in report.measurements() if m.method == "library" and m.devices >= RSS_AT_HOSTS]
    rss_name = f"peak RSS < {RSS_LIMIT_MB:g} MB at {RSS_AT_HOSTS} hosts x 48 interfaces"
    if big:
        rss = max(p.peak_rss_mb for m in big for p in m.phases)
        phases = sorted({p.name for m in big for p in m.phases})
        targets.append(
            Target(
                rss_name,
                f"{rss:g} MB (ru_maxrss; phases run at {RSS_AT_HOSTS}+: {', '.join(phases)})",
                _status(rss < RSS_LIMIT_MB),
            )
        )
    else:
        largest = max((m.devices for m in report.measurements()), default=0)
        targets.append(
            Target(rss_name, f"{report.peak_rss_mb():g} MB at {largest} hosts", "NOT RUN")
        )
    flat_name = (
        f"time per host flat from 10 to {RSS_AT_HOSTS} hosts, growth <= {FLAT_GROWTH_MAX:g}x "
        "(--scaling)"
    )
    if len(report.scaling) < 2:
        targets.append(Target(flat_name, "-", "NOT RUN"))
        return targets
    parts, ok, complete = [], True, True
    for name in ("first_dry", "first", "steady"):
        ran = [(m.devices, p.seconds_per_host) for m in report.scaling if (p := m.find(name))]
        if len(ran) < 2:
            complete = False
            continue
        (small, small_t), (large, large_t) = ran[0], ran[-1]
        growth = large_t / small_t
        ok = ok and growth <= FLAT_GROWTH_MAX
        complete = complete and large >= RSS_AT_HOSTS
        parts.append(
            f"{name} {small}->{large} hosts: {small_t:.3f}->{large_t:.3f} s/host ({growth:.2f}x)"
        )
    status = "MISS" if not ok else ("PASS" if complete else "PARTIAL")
    targets.append(Target(flat_name, "; ".join(parts) or "-", status))
    return targets


# ---------------------------------------------------------------------------- tables


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return a Markdown table with padded columns (readable as plain text too)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _methods(phase: Phase) -> str:
    return " ".join(f"{m} {n}" for m, n in sorted(phase.requests.items())) or "-"


def _log(phase: Phase) -> str:
    return "n/a" if phase.access_log is None else str(phase.access_log.total)


def _server_s(phase: Phase) -> str:
    return "n/a" if phase.access_log is None else f"{phase.access_log.server_ms / 1000:.1f}"


def _cell(m: Measurement, name: str, show: Callable[[Phase], object]) -> object:
    phase = m.find(name)
    return "-" if phase is None else show(phase)


def _req(phase: Phase) -> str:
    server = phase.server_per_device
    logged = "" if server is None else f" / {server:g}"
    return f"{phase.per_device_mean:g} / {phase.per_device_max}{logged}"


def _load(phase: Phase) -> str:
    return "?" if phase.load_average is None else f"{phase.load_average:g}"


def _per_host(phase: Phase) -> str:
    return f"{phase.seconds_per_host:.3f}"


def comparison_table(comparison: Sequence[Measurement]) -> str:
    """Both methods side by side on the same-size fleets."""
    found = ratios(comparison)
    rows: list[list[object]] = []
    for name in ("first", "steady"):
        for measurement in comparison:
            phase = measurement.find(name)
            if phase is None:
                rows.append([name, measurement.method, "did not run", *[""] * 7])
                continue
            ratio = found.get(name, {}) if measurement.method == "baseline" else {}
            rows.append(
                [
                    name,
                    measurement.method,
                    _methods(phase),
                    phase.total,
                    _log(phase),
                    f"{phase.per_device_mean:g}",
                    phase.per_device_max,
                    f"{phase.seconds:.2f}",
                    f"{ratio['requests']:g}x" if ratio else "",
                    f"{ratio['wall_time']:g}x" if ratio else "",
                ]
            )
    headers = [
        "phase",
        "method",
        "requests by method",
        "total",
        "access log",
        "per device",
        "max/device",
        "wall s",
        "requests ratio",
        "time ratio",
    ]
    return markdown_table(headers, rows)


def phases_table(measurement: Measurement) -> str:
    """Every phase of one library run."""
    rows = [
        [
            p.name,
            _methods(p),
            p.total,
            _log(p),
            f"{p.per_device_mean:g}",
            p.per_device_max,
            f"{p.seconds:.2f}",
            f"{p.seconds_per_host:.3f}",
            _server_s(p),
            p.hosts_changed,
            p.hosts_failed,
            p.interfaces_created + p.interfaces_updated,
            f"{p.peak_rss_mb:g}",
            "-" if p.load_average is None else f"{p.load_average:g}",
        ]
        for p in measurement.phases
    ]
    headers = [
        "phase",
        "requests by method",
        "total",
        "access log",
        "per device",
        "max/device",
        "wall s",
        "s/host",
        "server s",
        "hosts changed",
        "hosts failed",
        "interfaces written/planned",
        "peak RSS MB",
        "load avg",
    ]
    return markdown_table(headers, rows)


def sweep_table(sweep: Sequence[Measurement]) -> str:
    """Per-device requests and time per host at each interface count."""
    rows = [
        [
            m.interfaces,
            m.devices,
            *(_cell(m, name, _req) for name in ("first", "steady", "dry_run", "drift")),
            _cell(m, "first", _per_host),
            _cell(m, "steady", _per_host),
            sum(p.hosts_failed for p in m.phases),
        ]
        for m in sweep
    ]
    headers = [
        "interfaces/device",
        "devices",
        "first req/device (client mean / max / access log mean)",
        "steady",
        "dry run",
        "drift",
        "first s/host",
        "steady s/host",
        "hosts failed",
    ]
    return markdown_table(headers, rows)


def scaling_table(scaling: Sequence[Measurement]) -> str:
    """Time per host and per-device requests at each fleet size."""
    rows = [
        [
            m.devices,
            m.interfaces,
            _cell(m, "first_dry", _per_host),
            _cell(m, "first", _per_host)
            if m.seeded_seconds is None
            else f"seeded in the database ({m.seeded_seconds:g} s)",
            _cell(m, "steady", _per_host),
            _cell(m, "drift", _per_host),
            _cell(m, "first_dry", _req),
            _cell(m, "first", _req),
            _cell(m, "steady", _req),
            f"{max(p.peak_rss_mb for p in m.phases):g}",
            sum(p.hosts_failed for p in m.phases),
            " / ".join(str(_cell(m, n, _load)) for n in ("first_dry", "first", "steady")),
        ]
        for m in scaling
    ]
    headers = [
        "hosts",
        "interfaces/device",
        "first dry run s/host",
        "first s/host",
        "steady s/host",
        "drift s/host",
        "first dry run req/device (client mean / max / log mean)",
        "first req/device",
        "steady req/device",
        "peak RSS MB",
        "hosts failed",
        "load avg (first dry / first / steady)",
    ]
    return markdown_table(headers, rows)


def render(report: Report) -> str:
    """The whole report as text (Markdown)."""
    workers = report.settings["workers"]
    parts = [
        f"NetBox {report.machine.get('netbox_version', '?')} at {report.settings['netbox']}; "
        f"{report.machine['cpus']} CPUs ({report.machine['cpu_model']}); Nornir threaded runner, "
        f"{workers} workers; devices on NAPALM's mock driver",
    ]
    if report.comparison:
        size = report.comparison[0]
        parts += [
            f"\n## Library vs per-object baseline, {size.devices} devices x {size.interfaces} "
            "interfaces (each on its own fresh devices)\n",
            comparison_table(report.comparison),
        ]
    if report.main:
        main = report.main[0]
        parts += [
            f"\n## Library, {main.devices} devices x {main.interfaces} interfaces "
            f"(drift: {main.drifted_per_device} interfaces/device)\n",
            phases_table(main),
        ]
    if report.sweep:
        parts += ["\n## Sweep: interfaces per device\n", sweep_table(report.sweep)]
    if report.scaling:
        parts += ["\n## Scaling: hosts\n", scaling_table(report.scaling)]
    failed = [
        f"- {m.method} {m.devices}x{m.interfaces}: {name}"
        for m in report.measurements()
        for name, ok in m.checks.items()
        if not ok
    ]
    checks = sum(len(m.checks) for m in report.measurements())
    parts += [
        "\n## Targets\n",
        markdown_table(
            ["target", "measured", "status"],
            [[t.name, t.measured, t.status] for t in report.targets],
        ),
        f"\nCorrectness checks: {checks - len(failed)}/{checks} held"
        + ("" if not failed else ":\n" + "\n".join(failed)),
        f"Peak RSS of the benchmark process: {report.peak_rss_mb():g} MB",
    ]
    return "\n".join(parts)


# ---------------------------------------------------------------------------- running


def machine_info(api: Any | None) -> dict[str, Any]:
    """Describe the machine (and NetBox, when reachable)."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError):
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["library_revision"] = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    if api is not None:
        with contextlib.suppress(Exception):
            info["netbox_version"] = api.status()["netbox-version"]
    return info


@dataclass
class NetBoxUnderTest:
    """Where the NetBox under test is.

    Attributes:
        url: Base URL.
        token: Write token.
        access_log: gunicorn's access log, when known.
        own_lab: True when this invocation started it (its database goes with it).
        seeder: Writes a fleet's interfaces straight into the database (own lab only).
    """

    url: str
    token: str
    access_log: Path | None
    own_lab: bool
    seeder: Callable[[Fleet], float] | None = None


@contextlib.contextmanager
def netbox_under_test(args: argparse.Namespace) -> Iterator[NetBoxUnderTest]:
    """Start the lab NetBox, or use the one the arguments name."""
    if args.nb_url:
        if not args.nb_token:
            raise SystemExit("--nb-url needs --nb-token (or NB_TOKEN)")
        if args.scaling and args.scaling_seed_above is not None:
            raise SystemExit("--scaling-seed-above needs the lab this starts, not --nb-url")
        log = Path(args.access_log) if args.access_log else None
        yield NetBoxUnderTest(args.nb_url.rstrip("/"), args.nb_token, log, own_lab=False)
        return
    from bench.seed_direct import seed_interfaces
    from tests.lab.netbox_server import NetBoxLab, netbox_env

    logger.info("starting the lab NetBox (gunicorn, %d workers)", args.gunicorn_workers)
    with NetBoxLab.start(workers=args.gunicorn_workers) as lab:

        def seeder(fleet: Fleet) -> float:
            return seed_interfaces(lab.paths.python, netbox_env(lab.run_dir), lab.run_dir, fleet)

        yield NetBoxUnderTest(lab.url, lab.token_v1, lab.access_log, True, seeder)


class Runner:
    """Creates each measurement's fleet under a unique name and keeps device indexes apart."""

    def __init__(
        self,
        netbox: NetBoxUnderTest,
        args: argparse.Namespace,
        workdir: Path,
        report: Report,
        progress: Callable[[Report], None] | None,
    ) -> None:
        self.netbox = netbox
        self.args = args
        self.workdir = workdir
        self.report = report
        self.progress = progress
        self.tag = uuid.uuid4().hex[:6]
        self.next_index = 0

    def _fleet(self, label: str, devices: int) -> dict[str, Any]:
        first_index, self.next_index = self.next_index, self.next_index + devices
        return {
            "devices": devices,
            "workdir": self.workdir,
            "prefix": f"bench-{self.tag}-{label}",
            "first_index": first_index,
            "workers": self.args.workers,
            "access_log": self.netbox.access_log,
            "cleanup": not self.netbox.own_lab,
        }

    def library(
        self, into: list[Measurement], label: str, devices: int, interfaces: int, **extra: Any
    ) -> None:
        """Measure the library over a fresh fleet, append the measurement to ``into``."""
        logger.info("library: %d devices x %d interfaces (%s)", devices, interfaces, label)
        measurement = measure_library(
            self.netbox.url,
            self.netbox.token,
            interfaces=interfaces,
            read_timeout=self.args.read_timeout,
            **self._fleet(label, devices),
            **extra,
        )
        self._done(into, measurement)

    def baseline(self, into: list[Measurement], label: str, devices: int, interfaces: int) -> None:
        """Measure the per-object baseline over a fresh fleet, append it to ``into``."""
        logger.info("baseline: %d devices x %d interfaces (%s)", devices, interfaces, label)
        measurement = measure_baseline(
            self.netbox.url,
            self.netbox.token,
            interfaces=interfaces,
            **self._fleet(label, devices),
        )
        self._done(into, measurement)

    def _done(self, into: list[Measurement], measurement: Measurement) -> None:
        into.append(measurement)
        if self.progress is not None:
            self.progress(self.report)
        self._warn(measurement)

    @staticmethod
    def _warn(measurement: Measurement) -> None:
        for name, ok in measurement.checks.items():
            if not ok:
                logger.warning("check failed: %s %s", measurement.method, name)
        for phase in measurement.phases:
            for error in phase.errors:
                logger.warning("%s %s: %s", measurement.method, phase.name, error)


def run(args: argparse.Namespace, progress: Callable[[Report], None] | None = None) -> Report:
    """Run every measurement the arguments ask for and judge the targets.

    Args:
        args: The parsed command line.
        progress: Called with the report so far after each measurement.
    """
    with (
        netbox_under_test(args) as netbox,
        tempfile.TemporaryDirectory(prefix="nb-ifsync-bench-") as tmp,
    ):
        api = connect(netbox.url, netbox.token)
        report = Report(
            machine=machine_info(api),
            settings={
                "netbox": "lab (fresh database, gunicorn)" if netbox.own_lab else netbox.url,
                "gunicorn_workers": args.gunicorn_workers if netbox.own_lab else None,
                "workers": args.workers,
                "devices": args.devices,
                "interfaces": args.interfaces,
                "baseline_devices": args.baseline_devices,
                "sweep": list(SWEEP_INTERFACES) if args.sweep else [],
                "scaling": args.scaling_sizes if args.scaling else [],
                "scaling_seed_above": args.scaling_seed_above if args.scaling else None,
                "read_timeout": args.read_timeout,
                "command": " ".join(
                    [Path(sys.executable).name, "-m", "bench.sync_bench", *args.argv]
                ),
            },
        )
        runner = Runner(netbox, args, Path(tmp), report, progress)
        if args.baseline_devices > 0:
            runner.library(
                report.comparison, "cmp-lib", args.baseline_devices, args.interfaces, drift=False
            )
            runner.baseline(report.comparison, "cmp-base", args.baseline_devices, args.interfaces)
        if args.devices > 0:
            runner.library(
                report.main, "main", args.devices, args.interfaces, trace_memory=args.trace_memory
            )
        if args.sweep:
            for interfaces in SWEEP_INTERFACES:
                runner.library(report.sweep, f"sweep{interfaces}", args.sweep_devices, interfaces)
        if args.scaling:
            for devices in args.scaling_sizes:
                seeded = args.scaling_seed_above is not None and devices > args.scaling_seed_above
                runner.library(
                    report.scaling,
                    f"scale{devices}",
                    devices,
                    args.interfaces,
                    plan_first=True,
                    seed=netbox.seeder if seeded else None,
                    trace_memory=args.trace_memory and devices == args.scaling_sizes[-1],
                )
        report.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        if not netbox.own_lab:
            logger.info("deleted the benchmark's devices")
        else:
            logger.info("the lab's database (with the benchmark's devices) is dropped on stop")
    report.targets = evaluate(report)
    return report


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive host counts")
    return sizes


def _interfaces(text: str) -> int:
    value = int(text)
    if not MIN_INTERFACES <= value <= MAX_INTERFACES:
        raise argparse.ArgumentTypeError(f"must be {MIN_INTERFACES}..{MAX_INTERFACES}")
    return value


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync_bench",
        description="Measure the NetBox API cost of netbox_update_interfaces against a "
        "per-object baseline.",
    )
    parser.add_argument("--devices", type=int, default=100, help="main fleet (default 100)")
    parser.add_argument(
        "--interfaces", type=_interfaces, default=48, help="interfaces per device, 8..384 (48)"
    )
    parser.add_argument(
        "--large", action="store_true", help=f"main fleet of {LARGE_DEVICES} devices"
    )
    parser.add_argument(
        "--baseline-devices",
        type=int,
        default=10,
        help="devices of the library-vs-baseline comparison (default 10; 0 skips it)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"Nornir threaded-runner workers (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help=f"also run {', '.join(map(str, SWEEP_INTERFACES))} interfaces per device",
    )
    parser.add_argument(
        "--sweep-devices", type=int, default=10, help="devices of the sweep (default 10)"
    )
    parser.add_argument(
        "--scaling", action="store_true", help="also run the library at --scaling-sizes hosts"
    )
    parser.add_argument(
        "--scaling-sizes",
        type=_sizes,
        default=list(DEFAULT_SCALING),
        help="host counts of --scaling (default 10,100,1000)",
    )
    parser.add_argument(
        "--scaling-seed-above",
        type=int,
        default=None,
        metavar="N",
        help="in --scaling, fleets larger than N get their interfaces written straight into "
        "the lab's database (bench/seed_direct.py) instead of by a measured first sync; "
        "the lab this starts only",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=None,
        help="read timeout of the library's NetBox client, seconds (default: the library's)",
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="trace Python allocations during the first sync of the main fleet and of the "
        "largest --scaling fleet (tracemalloc; slower)",
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"JSON output (default {DEFAULT_JSON})"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="print the tables and targets of a saved JSON result instead of running",
    )
    parser.add_argument(
        "--nb-url", default=os.environ.get("NB_URL"), help="existing NetBox (env NB_URL)"
    )
    parser.add_argument(
        "--nb-token", default=os.environ.get("NB_TOKEN"), help="its write token (env NB_TOKEN)"
    )
    parser.add_argument(
        "--access-log", help="gunicorn access log of the existing NetBox, to cross-check counts"
    )
    parser.add_argument(
        "--gunicorn-workers",
        type=int,
        default=3,
        help="gunicorn workers of the lab NetBox this starts (default 3)",
    )
    args = parser.parse_args(argv)
    args.argv = list(argv)
    if args.large:
        args.devices = LARGE_DEVICES
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a target is missed or a check failed."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.report:
        report = load_report(args.report)
        print(render(report))
        return int(_failed(report))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("nornir", "nornir_nb_ifsync", "tests.lab"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.monotonic()

    def save(report: Report) -> None:
        report.targets = evaluate(report)
        report.settings["total_seconds"] = round(time.monotonic() - started, 1)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")

    report = run(args, save)
    save(report)
    print(render(report))
    print(f"\nJSON: {args.json}  (total {report.settings['total_seconds']:.0f} s)")
    return int(_failed(report))


def _failed(report: Report) -> bool:
    """True when a target was missed or a correctness check failed."""
    missed = any(t.status.startswith("MISS") for t in report.targets)
    return missed or not all(m.verified for m in report.measurements())


if __name__ == "__main__":
    sys.exit(main())
