"""Property tests: whatever ``get_interfaces`` returns, normalising it never raises and yields
only values NetBox can hold.

The generated replies mix the documented shape with everything a broken driver could send:
any unicode (control characters, unpaired surrogates), huge and negative numbers, NaN and
infinities, wrong types and missing keys. A small sample is sent through the real task to
the lab NetBox, which must accept every interface except names NetBox itself forbids.

Profiles (``IFSYNC_HYPOTHESIS_PROFILE``): ``ci`` (default, 300 examples), ``thorough``
(5000). The lab sample has 20 examples unless ``IFSYNC_LAB_EXAMPLES`` says otherwise.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from nornir_nb_ifsync import GetterOutputError, SyncReport, connect, netbox_update_interfaces
from nornir_nb_ifsync.models import Kind
from nornir_nb_ifsync.names import GUESSABLE_TYPES
from nornir_nb_ifsync.normalize import (
    DESCRIPTION_MAX_LENGTH,
    LAG_SPEED_MAX,
    MTU_MAX,
    MTU_MIN,
    NAME_MAX_LENGTH,
    PHYSICAL_SPEED_MAX,
    normalize,
)
from tests.lab.inventory import make_nornir, mock_host, write_mock_replies
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import create_device

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PROFILE = settings.get_profile(os.environ.get("IFSYNC_HYPOTHESIS_PROFILE", "ci"))
LAB_PROFILE = settings(
    PROFILE,
    max_examples=int(os.environ.get("IFSYNC_LAB_EXAMPLES", "20")),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)

MAC_RE = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
FORBIDDEN = ("Cc", "Cs")

any_text = st.text(st.characters(exclude_categories=()), max_size=300)
realistic_names = st.builds(
    lambda prefix, slot, unit: f"{prefix}{slot}{unit}",
    st.sampled_from(
        ["Ethernet", "GigabitEthernet0/", "xe-0/0/", "Port-Channel", "Loopback", "Vlan", "ae"]
    ),
    st.integers(0, 48),
    st.sampled_from(["", ".100", ".0", ".16384", ".7"]),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 0.0, -1.0, 1e-300, 5e-324, 65536, 65537, 1.5, 1500.0, 100000.0]),
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    any_text,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
macs = st.one_of(
    any_text,
    st.sampled_from(["None", "Unspecified", "", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"]),
    st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b)),
    st.binary(min_size=6, max_size=6).map(lambda b: b.hex(".", 2)),
    st.binary(min_size=6, max_size=6).map(lambda b: b.hex("-").upper()),
)
well_typed = st.fixed_dictionaries(
    {
        "is_enabled": st.booleans(),
        "is_up": st.booleans(),
        "description": any_text,
        "last_flapped": st.floats(),
        "speed": numbers,
        "mtu": numbers,
        "mac_address": macs,
    }
)
entries = st.one_of(
    well_typed,
    well_typed.flatmap(
        lambda entry: st.dictionaries(st.sampled_from(sorted(entry)), junk).map(
            lambda broken: {**entry, **broken}
        )
    ),
    well_typed.flatmap(
        lambda entry: st.sets(st.sampled_from(sorted(entry))).map(
            lambda gone: {k: v for k, v in entry.items() if k not in gone}
        )
    ),
    junk,
)
replies = st.dictionaries(
    st.one_of(realistic_names, any_text, st.integers(), st.none()), entries, max_size=12
)


def _entry_of(description: str, speed: float, mtu: float, mac: str) -> dict[str, Any]:
    return {
        "is_enabled": True,
        "is_up": True,
        "description": description,
        "last_flapped": -1.0,
        "speed": speed,
        "mtu": mtu,
        "mac_address": mac,
    }


def _clean_text(text: str) -> bool:
    return not any(unicodedata.category(ch) in FORBIDDEN for ch in text)


@settings(PROFILE)
@given(reply=replies)
def test_normalize_any_reply_never_raises_and_respects_netbox_limits(
    reply: Mapping[Any, Any],
) -> None:
    normalized = normalize("r1", reply)

    for interface in normalized.interfaces:
        assert isinstance(interface.name, str)
        assert 1 <= len(interface.name) <= NAME_MAX_LENGTH
        assert interface.name == interface.name.strip()
        assert _clean_text(interface.name)
        assert len(interface.description) <= DESCRIPTION_MAX_LENGTH
        assert interface.description == interface.description.strip()
        assert _clean_text(interface.description)
        assert interface.enabled in (True, False)
        assert interface.mtu is None or (
            type(interface.mtu) is int and MTU_MIN <= interface.mtu <= MTU_MAX
        )
        limit = {Kind.PHYSICAL: PHYSICAL_SPEED_MAX, Kind.LAG: LAG_SPEED_MAX, Kind.VIRTUAL: 0}
        assert interface.speed is None or (
            type(interface.speed) is int and 1 <= interface.speed <= limit[interface.kind]
        )
        assert interface.mac_address is None or MAC_RE.fullmatch(interface.mac_address)
        assert interface.mac_address != "00:00:00:00:00:00"
        assert interface.type in GUESSABLE_TYPES
    reported = {i.name for i in normalized.interfaces} | {s.name for s in normalized.skipped}
    assert {str(name) for name in reply} <= reported


@settings(PROFILE)
@given(reply=junk.filter(lambda value: not isinstance(value, Mapping)))
def test_normalize_non_mapping_reply_raises_getter_output_error(reply: object) -> None:
    with pytest.raises(GetterOutputError) as raised:
        normalize("r1", reply)

    assert raised.value.device == "r1"
    assert "not a mapping" in str(raised.value)


@settings(PROFILE)
@given(value=numbers)
def test_normalize_speed_number_is_whole_kbps_or_unknown(value: float) -> None:
    entry = {"is_enabled": True, "description": "", "speed": value, "mtu": 1500, "mac_address": ""}

    normalized = normalize("r1", {"Ethernet1": entry})

    [interface] = normalized.interfaces
    noted = [s for s in normalized.skipped if s.field == "speed"]
    if interface.speed is None:
        unknown = (isinstance(value, float) and not math.isfinite(value)) or value * 1000 < 0.5
        assert unknown or noted
    else:
        assert interface.speed == round(value * 1000)
        assert noted == []


# --------------------------------------------------------------------------- against the lab

lab_names = st.one_of(realistic_names, st.text(st.characters(exclude_categories=()), max_size=70))
lab_replies = st.dictionaries(lab_names, entries, min_size=1, max_size=8)


@pytest.mark.lab
@settings(LAB_PROFILE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply=lab_replies)
@example(
    reply={
        "Ethernet1": _entry_of(" #1 uplink\x00\ud800 ", 1_600_000.0, 65536, "aabb.ccdd.eeff"),
        "Ethernet1.100": _entry_of("\u202e\u200b" + "é" * 250, -1.0, 9000.5, "None"),
        "Port-Channel1": _entry_of("\U0001f600 lag", 100_000_000.0, 0, "00:00:00:00:00:00"),
        "x" * 64: _entry_of("", float("nan"), float("inf"), "Unspecified"),
        "Ethernet 2 ": _entry_of("", 1000.0, 1500, ""),
    }
)
def test_generated_reply_is_accepted_by_the_lab_netbox(
    netbox_lab: NetBoxLab, tmp_path_factory: pytest.TempPathFactory, reply: Mapping[str, Any]
) -> None:
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    host = f"prop-{uuid.uuid4().hex[:8]}"
    device_id = create_device(api, host, "mock")
    path: Path = write_mock_replies(tmp_path_factory.mktemp(host), {"get_interfaces": reply})
    nr = make_nornir([mock_host(host, device_id, path)])

    result = nr.run(task=netbox_update_interfaces, netbox=api, on_failed=True)

    report = result[host][0].result
    assert not result[host].failed, result[host].exception
    assert isinstance(report, SyncReport)
    refused = [s for s in report.skipped if s.reason.startswith("NetBox refused")]
    assert all(_forbidden_by_netbox(s.name, s.reason, reply) for s in refused), refused
    in_netbox = {str(r.name) for r in api.dcim.interfaces.filter(device_id=device_id)}
    assert in_netbox == {c.name for c in report.created}


def _forbidden_by_netbox(name: str, reason: str, reply: Mapping[str, Any]) -> bool:
    """True for a refusal NetBox makes of every client: a name rule, or the lab's validator.

    The lab NetBox has a custom validator that refuses a ``#`` in a description.
    """
    entry = reply.get(name)
    description = entry.get("description") if isinstance(entry, Mapping) else None
    if "Custom validation failed for description" in reason and "#" in str(description):
        return True
    return reason.startswith("NetBox refused: name:")
