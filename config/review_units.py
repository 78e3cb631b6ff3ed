"""Review units (districts, counties, development zones, management offices) from ``config/review_units.toml``.

A unit has validity dates and may hand its open work to a successor when it ends; this module reads and
validates that data and resolves which unit acts on a date. It holds no unit itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from config.toml_reader import Reader, read_toml, unique

__all__ = ["REVIEW_UNITS_FILE", "UNIT_KINDS", "ReviewUnit", "load_review_units", "resolve_unit"]

REVIEW_UNITS_FILE = Path(__file__).parent / "review_units.toml"

#: Kinds of review unit (schema vocabulary, not policy).
UNIT_KINDS = frozenset({"district", "county", "development_zone", "management_office"})


@dataclass(frozen=True)
class ReviewUnit:
    """A first-line review unit (district authority).

    ``valid_from``/``valid_until`` are inclusive and ``None`` when not recorded or
    open-ended; ``successor`` takes over open work once the unit ends; ``parent``
    is the unit whose territory contains this one.
    """

    code: str
    name_zh: str
    kind: str
    valid_from: date | None
    valid_until: date | None
    successor: str | None
    parent: str | None
    note: str = ""

    def active_on(self, on: date) -> bool:
        """Return whether the unit acts as a review unit on ``on``."""
        if self.valid_from is not None and on < self.valid_from:
            return False
        return self.valid_until is None or on <= self.valid_until


# --- reading TOML with errors that name file and field -----------------------


_UNIT_KEYS = ("code", "name_zh", "kind", "valid_from", "valid_until", "successor", "parent", "note")


def _parse_unit(r: Reader) -> ReviewUnit:
    r.check_keys(_UNIT_KEYS)
    kind = r.text("kind")
    if kind not in UNIT_KINDS:
        raise r.error("kind", f"unknown kind {kind!r}; known: {sorted(UNIT_KINDS)}")
    valid_from, valid_until = r.opt_day("valid_from"), r.opt_day("valid_until")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise r.error("valid_until", f"{valid_until} is before valid_from {valid_from}")
    return ReviewUnit(
        code=r.text("code"),
        name_zh=r.text("name_zh"),
        kind=kind,
        valid_from=valid_from,
        valid_until=valid_until,
        successor=r.opt_text("successor"),
        parent=r.opt_text("parent"),
        note=r.opt_text("note") or "",
    )


def load_review_units(path: Path | None = None) -> list[ReviewUnit]:
    """Load and validate the review units file (default: the package's ``review_units.toml``).

    Checks unique codes, known kinds, ordered dates, and that every successor and
    parent is a known unit with no successor cycle. Raises :class:`PolicyError`.
    """
    path = REVIEW_UNITS_FILE if path is None else path
    r = read_toml(path)
    r.check_keys(("source", "units"))
    r.text("source")
    readers = r.tables("units")
    units = [_parse_unit(u) for u in readers]
    unique(readers, "code", [u.code for u in units])
    by_code = {u.code: u for u in units}
    for reader, unit in zip(readers, units, strict=True):
        for key, ref in (("successor", unit.successor), ("parent", unit.parent)):
            if ref is not None and (ref not in by_code or ref == unit.code):
                raise reader.error(key, f"must be the code of another unit, got {ref!r}")
        seen = {unit.code}
        nxt = unit.successor
        while nxt is not None:
            if nxt in seen:
                raise reader.error("successor", f"successor chain loops back to {nxt!r}")
            seen.add(nxt)
            nxt = by_code[nxt].successor
    return units


def resolve_unit(units: Iterable[ReviewUnit], code: str, on: date) -> ReviewUnit:
    """Return the unit that handles work of unit ``code`` on ``on``, following successors.

    A merged unit's open work moves to its successor. Raises KeyError for an
    unknown code and LookupError when no unit of the chain is active on ``on``.
    """
    by_code = {u.code: u for u in units}
    unit = by_code[code]
    seen: set[str] = set()
    while not unit.active_on(on):
        seen.add(unit.code)
        if unit.successor is None or unit.successor in seen:
            raise LookupError(f"review unit {code!r} has no active successor on {on}")
        unit = by_code[unit.successor]
    return unit
