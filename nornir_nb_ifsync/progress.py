"""A Nornir processor that shows a live progress bar of a run: hosts done, failed and changed.

Typical use::

    from nornir_nb_ifsync import SyncProgress, netbox_update_interfaces

    result = nr.with_processors([SyncProgress()]).run(task=netbox_update_interfaces)

The bar is drawn with :mod:`rich` on standard output, and only when that is a terminal: in a
pipe, a log file or CI the processor prints nothing and only keeps its counts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["ProgressCounts", "SyncProgress"]


@dataclass(frozen=True)
class ProgressCounts:
    """How far a run is.

    Attributes:
        total: Hosts the run covers.
        done: Hosts whose task has completed.
        failed: Completed hosts whose result failed.
        changed: Completed hosts whose result changed something (or, in a dry run, would).
    """

    total: int = 0
    done: int = 0
    failed: int = 0
    changed: int = 0


@dataclass(frozen=True)
class _Outcome:
    failed: bool
    changed: bool


class SyncProgress:
    """Nornir processor drawing one progress bar per ``nr.run``: hosts done / total, failed,
    changed.

    Counts come from each host's result of the top-level task (``failed`` and ``changed`` of
    the host's :class:`~nornir.core.task.MultiResult`); subtasks are not counted. A host the
    runner starts again (a retry, as nornir-salt's RetryRunner does) counts once, with its
    latest result, and when the run ends the counts are taken from the run's own result, so
    hosts the runner failed without starting their task (a connection that never opened) are
    counted too.

    The processor is safe to share between the runner's threads. Use one instance for one run
    at a time; it can be reused for the next run.

    Args:
        console: Where to draw the bar. Default: a new :class:`rich.console.Console` on
            standard output.
        enabled: True always draws the bar, False never does; None (default) draws it only
            when the console is a terminal.
        transient: Remove the bar when the run ends instead of leaving its last state.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        enabled: bool | None = None,
        transient: bool = False,
    ) -> None:
        self._console = console or Console()
        self._enabled = self._console.is_terminal if enabled is None else enabled
        self._transient = transient
        self._lock = threading.Lock()
        self._expected: set[str] = set()
        self._running: set[str] = set()
        self._outcomes: dict[str, _Outcome] = {}
        self._progress: Progress | None = None
        self._bar: TaskID | None = None

    @property
    def enabled(self) -> bool:
        """True when the processor draws the bar."""
        return self._enabled

    @property
    def counts(self) -> ProgressCounts:
        """The counts of the current (or last) run."""
        with self._lock:
            return self._counts()

    def task_started(self, task: Task) -> None:
        """Start counting a run and, when enabled, draw its bar.

        The total is every host of the inventory not marked failed by an earlier run (what
        ``nr.run`` covers by default); it is corrected as hosts start and when the run ends.
        """
        failed_before = task.nornir.data.failed_hosts
        with self._lock:
            self._stop_bar()
            self._expected = {n for n in task.nornir.inventory.hosts if n not in failed_before}
            self._running = set()
            self._outcomes = {}
            if self._enabled:
                self._start_bar(_description(task))

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        """Take the final counts from the run's result and leave the bar in its last state."""
        with self._lock:
            self._expected = set(result)
            self._running = set()
            self._outcomes = {
                name: _Outcome(failed=host.failed, changed=host.changed)
                for name, host in result.items()
            }
            self._refresh()
            self._stop_bar()

    def task_instance_started(self, task: Task, host: Host) -> None:
        """Mark a host running (again, if the runner retries it)."""
        with self._lock:
            self._expected.add(host.name)
            self._running.add(host.name)
            self._outcomes.pop(host.name, None)
            self._refresh()

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """Count a host done, with whether its result failed or changed."""
        with self._lock:
            self._running.discard(host.name)
            self._outcomes[host.name] = _Outcome(failed=result.failed, changed=result.changed)
            self._refresh()

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        """Subtasks are not counted."""

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """Subtasks are not counted."""

    def close(self) -> None:
        """Stop drawing (when a run ended with an exception before ``task_completed``)."""
        with self._lock:
            self._stop_bar()

    def _counts(self) -> ProgressCounts:
        outcomes = self._outcomes.values()
        return ProgressCounts(
            total=len(self._expected),
            done=len(self._outcomes),
            failed=sum(o.failed for o in outcomes),
            changed=sum(o.changed for o in outcomes),
        )

    def _start_bar(self, description: str) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("hosts"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("[yellow]{task.fields[changed]} changed"),
            TimeElapsedColumn(),
            console=self._console,
            transient=self._transient,
        )
        counts = self._counts()
        self._bar = self._progress.add_task(description, total=counts.total, failed=0, changed=0)
        self._progress.start()

    def _refresh(self) -> None:
        if self._progress is None or self._bar is None:
            return
        counts = self._counts()
        self._progress.update(
            self._bar,
            total=counts.total,
            completed=counts.done,
            failed=counts.failed,
            changed=counts.changed,
        )

    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._bar = None


def _description(task: Task) -> str:
    """The bar's label: the task name, and whether the run is a dry run."""
    dry_run = task.params.get("dry_run")
    dry = task.is_dry_run(dry_run if isinstance(dry_run, bool) else None)
    return f"{task.name} (dry run)" if dry else task.name
