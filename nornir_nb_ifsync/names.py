"""Rules that read an interface name: its kind, parent, NetBox type, and whether to skip it.

Every rule here is a pure function of the name (and, for the type, the speed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from netutils.constants import BASE_INTERFACES
from netutils.interface import canonical_interface_name

from nornir_nb_ifsync.models import Kind

#: Pseudo-interfaces skipped on every platform by default (full match, case-insensitive).
#: Junos internal interfaces, ``Null0`` and IOS's ``Control Plane Interface``; the names do
#: not collide across vendors. Junos logical units at or above 16384 are skipped as well
#: (on Junos only), and so are the children of every skipped interface.
DEFAULT_SKIP: tuple[str, ...] = (
    r"\.local\.",
    r"bme.*",
    r"cbp.*",
    r"demux.*",
    r"dsc",
    r"esi",
    r"gre",
    r"ipip",
    r"jsrv",
    r"lc-.*",
    r"lsi",
    r"mtun",
    r"pfe-.*",
    r"pfh-.*",
    r"pimd",
    r"pime",
    r"pip.*",
    r"pp0",
    r"ppd.*",
    r"ppe.*",
    r"rbeb",
    r"tap",
    r"vtep",
    r"Null0",
    r"Control Plane Interface",
)

#: Junos reserves logical units from this number up for internal use.
INTERNAL_UNIT_MIN = 16384
#: The NAPALM driver whose logical units from :data:`INTERNAL_UNIT_MIN` up are internal.
INTERNAL_UNIT_DRIVER = "junos"

#: The reason an interface outside ``include`` is skipped. Unlike the other reasons it does
#: not take the interface's children with it: ``include`` may name a subinterface alone.
NOT_INCLUDED = "not matched by include"

_DEFAULT_SKIP_RE = re.compile("|".join(f"(?:{p})" for p in DEFAULT_SKIP), re.IGNORECASE)

_SUBINTERFACE_RE = re.compile(r"^(?P<parent>.+?)\.(?P<unit>\d+)$")

_LAG_RE = re.compile(r"^(port-?channel|po\d|ae\d|bundle-ether|be\d|lag\d|reth\d)", re.IGNORECASE)

_VIRTUAL_RE = re.compile(
    r"^(loopback|lo\d|vlan|vl\d|irb|bvi|bdi|tunnel|tu\d|nve|vxlan|dialer|virtual|null|"
    r"pseudowire|pw-ether|pw-iw|nvi\d|lisp\d|"
    r"gr-|ip-|lt-|vt-|st0|mgmt-vrf|sup-eth|vif|svi)",
    re.IGNORECASE,
)

#: NetBox type for a physical port of a known speed (kbit/s). NetBox has no type for a
#: 10 Mbit/s port (``10base-t`` is refused): such a port is ``other``.
_TYPE_BY_SPEED: dict[int, str] = {
    100_000: "100base-tx",
    1_000_000: "1000base-t",
    2_500_000: "2.5gbase-t",
    5_000_000: "5gbase-t",
    10_000_000: "10gbase-x-sfpp",
    25_000_000: "25gbase-x-sfp28",
    40_000_000: "40gbase-x-qsfpp",
    50_000_000: "50gbase-x-sfp56",
    100_000_000: "100gbase-x-qsfp28",
    200_000_000: "200gbase-x-qsfp56",
    400_000_000: "400gbase-x-qsfpdd",
    800_000_000: "800gbase-x-qsfpdd",
}

#: NetBox type implied by the (canonical) name of a physical port, whatever speed it runs at.
_TYPE_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("fourhundredgig", "400gbase-x-qsfpdd"),
    ("hundredgig", "100gbase-x-qsfp28"),
    ("fiftygig", "50gbase-x-sfp56"),
    ("fortygig", "40gbase-x-qsfpp"),
    ("twentyfivegig", "25gbase-x-sfp28"),
    ("tengig", "10gbase-x-sfpp"),
    ("fivegigabitethernet", "5gbase-t"),
    ("twogigabitethernet", "2.5gbase-t"),
    ("xe-", "10gbase-x-sfpp"),
    ("fastethernet", "100base-tx"),
    ("fe-", "100base-tx"),
    ("gigabitethernet", "1000base-t"),
    ("ge-", "1000base-t"),
)

#: Every NetBox type :func:`guess_type` can return.
GUESSABLE_TYPES = frozenset(
    {"virtual", "lag", "other", *_TYPE_BY_SPEED.values(), *(t for _, t in _TYPE_BY_PREFIX)}
)

#: Short names netutils does not expand (IOS-XR's ``BE1``, ``Mg0/RP0/CPU0/0``).
_MORE_LONG_NAMES: dict[str, str] = {"BE": "Bundle-Ether", "Be": "Bundle-Ether", "Mg": "MgmtEth"}

#: Short names with more than one long name: netutils expands ``Fi`` to FiftyGigabitEthernet,
#: but Catalyst switches also abbreviate FiveGigabitEthernet so.
_OTHER_LONG_NAMES: dict[str, tuple[str, ...]] = {"Fi": ("FiveGigabitEthernet",)}

#: A name as a word and what follows from its first digit (``Mg`` + ``0/RP0/CPU0/0``).
_WORD_RE = re.compile(r"^(?P<word>[A-Za-z][A-Za-z-]*?)(?P<rest>\d.*)$")


def _long_name(word: str) -> str | None:
    """The long name of an interface name's word, in any case (``GI`` -> GigabitEthernet)."""
    for spelling in (word, word.capitalize()):
        long_name = _MORE_LONG_NAMES.get(spelling) or BASE_INTERFACES.get(spelling)
        if long_name:
            return str(long_name)
    return None


def canonical_key(name: str) -> str:
    """Return the key two spellings of one interface share (``Gi0/1`` ~ ``gigabitethernet0/1``).

    netutils expands the short names it knows; a name it leaves alone is tried once more
    with its word in any case (``GI0/1``) or in :data:`_MORE_LONG_NAMES` (``Mg0/RP0/CPU0/0``).
    """
    canonical = canonical_interface_name(name, addl_name_map=_MORE_LONG_NAMES)
    match = _WORD_RE.match(name)
    if canonical == name and match is not None:
        long_name = _long_name(match.group("word"))
        if long_name is not None:
            canonical = long_name + match.group("rest")
    return canonical.lower()


def name_keys(name: str) -> frozenset[str]:
    """Return every key a spelling of this interface may share: :func:`canonical_key`, and
    those of the other long names an ambiguous short name may stand for (``Fi1/0/1``)."""
    match = _WORD_RE.match(name)
    others = _OTHER_LONG_NAMES.get(match.group("word"), ()) if match is not None else ()
    rest = match.group("rest") if match is not None else ""
    return frozenset({canonical_key(name), *(f"{other}{rest}".lower() for other in others)})


def parent_name(name: str) -> str | None:
    """Return the parent of a subinterface (``Ethernet1.100`` -> ``Ethernet1``), else None."""
    match = _SUBINTERFACE_RE.match(name)
    return match.group("parent") if match else None


def interface_kind(name: str) -> Kind:
    """Classify an interface by its name: subinterfaces and logical interfaces are virtual."""
    if parent_name(name) is not None or _VIRTUAL_RE.match(name):
        return Kind.VIRTUAL
    if _LAG_RE.match(name):
        return Kind.LAG
    return Kind.PHYSICAL


def guess_type(name: str, kind: Kind, speed: int | None) -> str:
    """Return the NetBox type for a new interface.

    Args:
        name: Interface name.
        kind: Its kind, from :func:`interface_kind`.
        speed: Speed in kbit/s, or None when unknown.

    Returns:
        ``virtual`` or ``lag`` by kind; for a physical port, the type its name implies, else the
        type of its speed; ``other`` only when neither says anything.
    """
    if kind is Kind.VIRTUAL:
        return "virtual"
    if kind is Kind.LAG:
        return "lag"
    canonical = canonical_interface_name(name).lower()
    for prefix, netbox_type in _TYPE_BY_PREFIX:
        if canonical.startswith(prefix):
            return netbox_type
    if speed is not None and speed in _TYPE_BY_SPEED:
        return _TYPE_BY_SPEED[speed]
    return "other"


def _is_internal_unit(name: str, driver: str) -> bool:
    match = _SUBINTERFACE_RE.match(name)
    return (
        driver == INTERNAL_UNIT_DRIVER
        and match is not None
        and int(match.group("unit")) >= INTERNAL_UNIT_MIN
    )


def matches(patterns: Sequence[re.Pattern[str]], name: str) -> bool:
    """True when a pattern matches the whole name, as given or in its long form (a pattern
    ``GigabitEthernet0/1`` matches ``Gi0/1`` too)."""
    if not patterns:
        return False
    long_name = canonical_interface_name(name, addl_name_map=_MORE_LONG_NAMES)
    return any(p.fullmatch(name) or p.fullmatch(long_name) for p in patterns)


def check_not_a_string(values: Iterable[str], option: str) -> None:
    """Refuse one string where a list of them is expected: Python would read it one
    character at a time, and ``protect="Eth9"`` would protect nothing.

    Raises:
        ValueError: ``values`` is a string.
    """
    if isinstance(values, str):
        raise ValueError(f"{option} takes a list, not the string {values!r}: write [{values!r}]")


def compile_patterns(patterns: Iterable[str], option: str) -> tuple[re.Pattern[str], ...]:
    """Compile user-given regular expressions, naming the option in the error.

    Raises:
        ValueError: ``patterns`` is one string, or a pattern is not a regular expression.
    """
    check_not_a_string(patterns, option)
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"{option}: {pattern!r} is not a regular expression: {exc}") from exc
    return tuple(compiled)


def skip_reason(
    name: str,
    include: Sequence[re.Pattern[str]] = (),
    exclude: Sequence[re.Pattern[str]] = (),
    driver: str = "",
) -> str | None:
    """Return why an interface is skipped, or None when it is synced.

    An ``include`` pattern that matches brings back an interface the default list skips;
    when ``include`` is given, names it does not match are skipped. Children of an interface
    skipped by ``exclude`` or the default list are skipped with it.

    Args:
        name: Interface name.
        include: Patterns of the interfaces to sync (see :func:`matches`).
        exclude: Patterns of more interfaces to skip.
        driver: The NAPALM driver that reported the name (some rules are a platform's own).
    """
    included = matches(include, name)
    if include and not included:
        return NOT_INCLUDED
    if matches(exclude, name):
        return "matched by exclude"
    if included:
        return None
    if _DEFAULT_SKIP_RE.fullmatch(name):
        return "pseudo-interface (default skip list)"
    if _is_internal_unit(name, driver):
        return f"internal logical unit (>= {INTERNAL_UNIT_MIN})"
    parent = parent_name(name)
    if parent is not None and skip_reason(parent, (), exclude, driver) is not None:
        return f"child of skipped interface {parent}"
    return None
