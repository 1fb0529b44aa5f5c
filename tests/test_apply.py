"""Tests of the apply step that need no NetBox: what is left out before anything is sent."""

from __future__ import annotations

from typing import Any, cast

import pytest

from nornir_nb_ifsync.apply import Applied, apply_plan
from nornir_nb_ifsync.exceptions import WriteError
from nornir_nb_ifsync.models import (
    BulkOutcome,
    FieldChange,
    InterfaceCreate,
    InterfaceUpdate,
    Plan,
    Refusal,
    Skipped,
)
from nornir_nb_ifsync.netbox import NetBox


class _NoNetBox:
    """A NetBox client that must not be called."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"NetBox was called: {name}")


def test_apply_drops_an_update_whose_only_change_is_a_missing_parent() -> None:
    plan = Plan(updates=(InterfaceUpdate(8, "Gi0/0.100", (FieldChange("parent", None, "Gi0/0"),)),))

    applied = apply_plan(plan, cast(NetBox, _NoNetBox()), 1, "r1", {}, Applied())

    assert applied.dropped == ["Gi0/0.100"]
    assert applied.refused == [
        Skipped("Gi0/0.100", "parent not set: Gi0/0 was not created", "parent")
    ]
    assert applied.updated == []


def test_apply_refuses_a_create_whose_parent_is_unknown_without_sending_it() -> None:
    create = InterfaceCreate(
        "Gi0/0.100", {"name": "Gi0/0.100", "type": "virtual", "parent": "Gi0/0"}
    )

    applied = apply_plan(Plan(creates=(create,)), cast(NetBox, _NoNetBox()), 1, "r1", {}, Applied())

    assert applied.refused == [
        Skipped("Gi0/0.100", "not created: its parent Gi0/0 was not created")
    ]
    assert applied.created == []


class _FailingNetBox:
    """A NetBox client whose bulk create writes ``Eth1`` and then fails."""

    def create_interfaces(self, items: list[dict[str, Any]], device: str) -> BulkOutcome:
        outcome = BulkOutcome(written={"Eth1": 5}, refused=(Refusal("Eth3", "mtu: too big"),))
        raise WriteError("creating interfaces: gave up", device=device, outcome=outcome)


def test_apply_records_what_a_failed_write_wrote_before_failing() -> None:
    creates = tuple(
        InterfaceCreate(name, {"name": name, "type": "1000base-t"})
        for name in ("Eth1", "Eth2", "Eth3")
    )
    applied = Applied()

    with pytest.raises(WriteError):
        apply_plan(Plan(creates=creates), cast(NetBox, _FailingNetBox()), 1, "r1", {}, applied)

    assert [c.name for c in applied.created] == ["Eth1"]
    assert applied.refused == [Skipped("Eth3", "NetBox refused: mtu: too big")]
