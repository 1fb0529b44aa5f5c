"""The progress processor: its counts, its bar, and its silence when output is no terminal."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from nornir.core import Nornir
from nornir.core.inventory import Host
from nornir.core.processor import Processors
from nornir.core.task import AggregatedResult, MultiResult, Result, Task
from nornir_salt.plugins.runners.RetryRunner import RetryRunner
from rich.console import Console

from nornir_nb_ifsync import SyncProgress
from nornir_nb_ifsync.progress import ProgressCounts
from tests.lab.inventory import make_nornir

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _hosts(count: int) -> list[Host]:
    return [Host(name=f"r{n}") for n in range(count)]


def _outcome_task(failed: set[str], changed: set[str]) -> Callable[[Task], Result]:
    """A task that fails on ``failed`` hosts and changes ``changed`` ones."""

    def task(task: Task) -> Result:
        if task.host.name in failed:
            raise RuntimeError(f"{task.host.name} unreachable")
        return Result(host=task.host, changed=task.host.name in changed)

    return task


def _terminal(width: int = 120) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, color_system=None, width=width), buffer


def _pipe() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False), buffer


def _last_frame(text: str) -> str:
    """The bar as last drawn: the last non-empty line once cursor controls are removed."""
    lines = [line for line in _ANSI.sub("", text).replace("\r", "\n").splitlines() if line]
    return lines[-1]


def _task(nr: Nornir) -> Task:
    return Task(_outcome_task(set(), set()), nr, global_dry_run=False, processors=Processors())


def _run(nr: Nornir, progress: SyncProgress, task: Callable[..., Result], **kwargs: Any) -> Any:
    return nr.with_processors([progress]).run(task=task, **kwargs)


def test_sync_progress_counts_done_failed_and_changed_hosts() -> None:
    progress = SyncProgress(_pipe()[0])
    nr = make_nornir(_hosts(6))

    result = _run(nr, progress, _outcome_task(failed={"r1", "r4"}, changed={"r0", "r2", "r3"}))

    assert progress.counts == ProgressCounts(total=6, done=6, failed=2, changed=3)
    assert set(result.failed_hosts) == {"r1", "r4"}


def test_sync_progress_prints_nothing_when_output_is_not_a_terminal() -> None:
    console, buffer = _pipe()
    progress = SyncProgress(console)
    nr = make_nornir(_hosts(3))

    _run(nr, progress, _outcome_task(failed={"r1"}, changed={"r0"}))

    assert progress.enabled is False
    assert buffer.getvalue() == ""
    assert progress.counts == ProgressCounts(total=3, done=3, failed=1, changed=1)


def test_sync_progress_disabled_prints_nothing_on_a_terminal() -> None:
    console, buffer = _terminal()
    progress = SyncProgress(console, enabled=False)

    _run(make_nornir(_hosts(2)), progress, _outcome_task(failed=set(), changed={"r0"}))

    assert buffer.getvalue() == ""
    assert progress.counts.changed == 1


def test_sync_progress_default_console_follows_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    progress = SyncProgress()

    _run(make_nornir(_hosts(2)), progress, _outcome_task(failed=set(), changed=set()))

    assert progress.enabled is False
    assert capsys.readouterr().out == ""


def test_sync_progress_bar_shows_done_failed_changed_on_a_terminal() -> None:
    console, buffer = _terminal()
    progress = SyncProgress(console)
    nr = make_nornir(_hosts(5))

    _run(nr, progress, _outcome_task(failed={"r3"}, changed={"r0", "r1"}), name="sync")

    frame = _last_frame(buffer.getvalue())
    assert re.search(r"sync .*\b5/5 hosts 1 failed 2 changed\b", frame), frame


def test_sync_progress_bar_says_dry_run() -> None:
    console, buffer = _terminal()
    progress = SyncProgress(console)

    def task(task: Task, dry_run: bool) -> Result:
        return Result(host=task.host, changed=True)

    _run(make_nornir(_hosts(2)), progress, task, dry_run=True)

    frame = _last_frame(buffer.getvalue())
    assert "task (dry run)" in frame
    assert "2/2 hosts 0 failed 2 changed" in frame


def test_sync_progress_bar_is_drawn_while_hosts_run() -> None:
    console, buffer = _terminal()
    progress = SyncProgress(console)
    release = threading.Event()
    seen: list[ProgressCounts] = []

    def task(task: Task) -> Result:
        if task.host.name == "r2":
            release.wait(5)
        return Result(host=task.host)

    def watch() -> None:
        deadline = time.monotonic() + 5
        while progress.counts.done < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(progress.counts)
        time.sleep(0.3)
        release.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    _run(make_nornir(_hosts(3)), progress, task)
    watcher.join()

    assert seen == [ProgressCounts(total=3, done=2, failed=0, changed=0)]
    frames = _ANSI.sub("", buffer.getvalue())
    assert "2/3 hosts" in frames
    assert "3/3 hosts" in _last_frame(buffer.getvalue())


def test_sync_progress_counts_only_the_top_level_task() -> None:
    console, _ = _pipe()
    progress = SyncProgress(console)

    def subtask(task: Task) -> Result:
        return Result(host=task.host, changed=True)

    def task(task: Task) -> Result:
        task.run(task=subtask)
        task.run(task=subtask)
        return Result(host=task.host, changed=False)

    _run(make_nornir(_hosts(2)), progress, task)

    assert progress.counts == ProgressCounts(total=2, done=2, failed=0, changed=2)


def test_sync_progress_ignores_subtask_events() -> None:
    progress = SyncProgress(_pipe()[0])
    nr = make_nornir(_hosts(1))
    host = nr.inventory.hosts["r0"]
    task = _task(nr)
    failed = MultiResult("subtask")
    failed.append(Result(host=host, failed=True, changed=True))

    progress.task_started(task)
    progress.subtask_instance_started(task, host)
    progress.subtask_instance_completed(task, host, failed)

    assert progress.counts == ProgressCounts(total=1, done=0, failed=0, changed=0)


def test_sync_progress_total_leaves_out_hosts_failed_before() -> None:
    progress = SyncProgress(_pipe()[0])
    nr = make_nornir(_hosts(4))
    nr.data.failed_hosts.add("r3")

    _run(nr, progress, _outcome_task(set(), set()))

    assert progress.counts == ProgressCounts(total=3, done=3, failed=0, changed=0)


def test_sync_progress_counts_a_restarted_host_once_with_its_latest_result() -> None:
    progress = SyncProgress(_pipe()[0])
    nr = make_nornir(_hosts(2))
    task = _task(nr)
    host = nr.inventory.hosts["r0"]

    def multi(failed: bool, changed: bool) -> MultiResult:
        results = MultiResult("task")
        results.append(Result(host=host, failed=failed, changed=changed))
        return results

    progress.task_started(task)
    progress.task_instance_started(task, host)
    progress.task_instance_completed(task, host, multi(failed=True, changed=False))
    after_first = progress.counts
    progress.task_instance_started(task, host)
    while_retrying = progress.counts
    progress.task_instance_completed(task, host, multi(failed=False, changed=True))

    assert after_first == ProgressCounts(total=2, done=1, failed=1, changed=0)
    assert while_retrying == ProgressCounts(total=2, done=0, failed=0, changed=0)
    assert progress.counts == ProgressCounts(total=2, done=1, failed=0, changed=1)


def test_sync_progress_final_counts_come_from_the_run_result() -> None:
    progress = SyncProgress(_pipe()[0])
    nr = make_nornir(_hosts(3))
    task = _task(nr)
    result = AggregatedResult("task")
    for name in ("r0", "r1", "r2"):
        host = nr.inventory.hosts[name]
        result[name] = MultiResult("task")
        result[name].append(Result(host=host, failed=name == "r2", changed=name == "r0"))

    progress.task_started(task)
    progress.task_completed(task, result)

    assert progress.counts == ProgressCounts(total=3, done=3, failed=1, changed=1)


def test_sync_progress_with_retry_runner_counts_a_retried_host_once() -> None:
    console, buffer = _terminal()
    progress = SyncProgress(console)
    nr = make_nornir(_hosts(4))
    nr = Nornir(
        inventory=nr.inventory,
        runner=RetryRunner(
            num_workers=4,
            num_connectors=2,
            connect_backoff=10,
            connect_splay=1,
            task_retry=1,
            task_backoff=10,
            task_splay=1,
        ),
        config=nr.config,
        data=nr.data,
    )
    attempts: dict[str, int] = {}
    lock = threading.Lock()

    def flaky(task: Task) -> Result:
        with lock:
            attempts[task.host.name] = attempts.get(task.host.name, 0) + 1
            attempt = attempts[task.host.name]
        if task.host.name == "r1" and attempt == 1:
            raise ConnectionError("first attempt fails")
        if task.host.name == "r3":
            raise ConnectionError("always fails")
        return Result(host=task.host, changed=task.host.name == "r1")

    result = _run(nr, progress, flaky)

    assert attempts == {"r0": 1, "r1": 2, "r2": 1, "r3": 2}
    assert set(result.failed_hosts) == {"r3"}
    assert progress.counts == ProgressCounts(total=4, done=4, failed=1, changed=1)
    assert "4/4 hosts 1 failed 1 changed" in _last_frame(buffer.getvalue())


def test_sync_progress_is_reused_for_the_next_run() -> None:
    console, buffer = _terminal()
    progress = SyncProgress(console)
    nr = make_nornir(_hosts(3))

    _run(nr, progress, _outcome_task(set(), changed={"r0", "r1", "r2"}), name="first")
    _run(nr, progress, _outcome_task(set(), changed=set()), name="second")

    lines = _ANSI.sub("", buffer.getvalue()).replace("\r", "\n").splitlines()
    first = [line for line in lines if " first " in line]
    assert "3/3 hosts 0 failed 3 changed" in first[-1]
    assert "3/3 hosts 0 failed 0 changed" in _last_frame(buffer.getvalue())
    assert progress.counts == ProgressCounts(total=3, done=3, failed=0, changed=0)


def test_sync_progress_close_stops_a_bar_left_running() -> None:
    console, buffer = _terminal()
    progress = SyncProgress(console)
    nr = make_nornir(_hosts(1))
    task = _task(nr)

    progress.task_started(task)
    progress.close()
    progress.close()

    assert "0/1 hosts" in _last_frame(buffer.getvalue())
    assert buffer.getvalue().endswith("\x1b[?25h")
