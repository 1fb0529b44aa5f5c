"""Nornir objects for the tests: hosts served by NAPALM's mock driver, and request counting."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from nornir.core import Nornir
from nornir.core.configuration import Config, CoreConfig, LoggingConfig
from nornir.core.inventory import (
    ConnectionOptions,
    Defaults,
    Groups,
    Host,
    Hosts,
    Inventory,
)
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.state import GlobalState
from nornir.plugins.runners import ThreadedRunner

#: How many calls of a getter one mock connection can answer.
MOCK_CALLS = 8


def shared_dir() -> Path:
    """Return ``shared/`` beside the repository (or ``$NB_IFSYNC_SHARED``); it may be missing."""
    configured = os.environ.get("NB_IFSYNC_SHARED")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared"


def shared_files(subdir: str, pattern: str) -> list[Path]:
    """Return the shared test material's files, or [] when ``shared/`` is not there."""
    return sorted((shared_dir() / subdir).glob(pattern))


def require_shared(files: list[Path]) -> None:
    """Fail (not skip) a test when the shared material it runs on is missing."""
    if not files:
        raise AssertionError(
            f"no shared test material at {shared_dir()}: put shared/ beside the checkout "
            "or set NB_IFSYNC_SHARED"
        )


def write_mock_replies(directory: Path, replies: Mapping[str, Any]) -> Path:
    """Write getter replies as NAPALM mock driver files (``get_interfaces.1`` … ``.N``).

    A reply may also be ``{"exception": "module.Class", "args": [...]}``: the mock driver then
    raises it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for getter, reply in replies.items():
        text = json.dumps(reply)
        for call in range(1, MOCK_CALLS + 1):
            (directory / f"{getter}.{call}").write_text(text, encoding="utf-8")
    return directory


def mock_host(
    name: str, device_id: int | None, path: Path, *, platform: str = "mock", **optional: Any
) -> Host:
    """Return a host served by NAPALM's mock driver from the files in ``path``.

    ``platform`` is the host's own platform: the driver whose replies the files hold, so
    that the sync applies that platform's rules.
    """
    data: dict[str, Any] = {"id": device_id} if device_id is not None else {}
    return Host(
        name=name,
        hostname="127.0.0.1",
        username="admin",
        password="admin",
        platform=platform,
        data=data,
        connection_options={
            "napalm": ConnectionOptions(
                platform="mock", extras={"optional_args": {"path": str(path), **optional}}
            )
        },
    )


def make_nornir(hosts: list[Host], num_workers: int = 10, dry_run: bool = False) -> Nornir:
    """Return a Nornir object over the given hosts, with the threaded runner."""
    ConnectionPluginRegister.auto_register()
    defaults = Defaults()
    for host in hosts:
        host.defaults = defaults
    inventory = Inventory(
        hosts=Hosts({h.name: h for h in hosts}), groups=Groups(), defaults=defaults
    )
    config = Config(
        core=CoreConfig(raise_on_error=False),
        logging=LoggingConfig(enabled=False),
    )
    return Nornir(
        inventory=inventory,
        runner=ThreadedRunner(num_workers),
        config=config,
        data=GlobalState(dry_run=dry_run),
    )


class RequestCounter:
    """Counts HTTP requests by method on a ``requests`` session (a response hook)."""

    def __init__(self) -> None:
        self.by_method: Counter[str] = Counter()

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count one response (the hook's signature)."""
        self.by_method[str(response.request.method)] += 1

    @property
    def total(self) -> int:
        """All requests counted."""
        return sum(self.by_method.values())

    @property
    def writes(self) -> int:
        """POST, PATCH, PUT and DELETE requests counted."""
        return sum(n for m, n in self.by_method.items() if m in ("POST", "PATCH", "PUT", "DELETE"))


@contextmanager
def counting(api: Any) -> Iterator[RequestCounter]:
    """Count the requests made through a ``pynetbox.api`` while the block runs."""
    counter = RequestCounter()
    hooks = api.http_session.hooks.setdefault("response", [])
    hooks.append(counter)
    try:
        yield counter
    finally:
        hooks.remove(counter)
