"""Policy editions and review units, loaded from TOML data files.

The policy (洪府办发〔2022〕109号 and any successor) lives in ``config/policy/*.toml``,
one file per edition; the review units (districts, counties, development zones,
management offices) live in ``config/review_units.toml``. This module only reads,
validates and types that data: it holds no policy number, date or name itself.
A bad file raises :class:`PolicyError` naming the file and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "UNIT_KINDS",
    "AwardType",
    "Edition",
    "HonourType",
    "Level",
    "PolicyError",
    "ReviewUnit",
    "edition_for",
    "find_award",
    "load_editions",
    "load_review_units",
    "resolve_unit",
]

POLICY_DIR = Path(__file__).parent / "policy"
REVIEW_UNITS_FILE = Path(__file__).parent / "review_units.toml"

#: Kinds of review unit (schema vocabulary, not policy).
UNIT_KINDS = frozenset({"district", "county", "development_zone", "management_office"})


class PolicyError(ValueError):
    """A policy or review-unit data file is missing, unreadable or invalid."""

    def __init__(self, file: Path, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else str(file)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class HonourType:
    """An honour (title) whose holders an award type pays, e.g. 专精特新“小巨人”企业."""

    code: str
    name_zh: str


@dataclass(frozen=True)
class Level:
    """The level of the recognising authority; a higher ``rank`` is a higher level."""

    code: str
    name_zh: str
    rank: int


@dataclass(frozen=True)
class AwardType:
    """One award of an edition: a one-time payment of at most ``cap_fen`` fen.

    ``route`` is the BPMN process id that runs applications for it; ``clause`` is
    the exact sentence of the notice it comes from; ``edition`` the edition code.
    """

    code: str
    measure: int
    honour_type: str
    level: str
    name_zh: str
    cap_fen: int
    clause: str
    route: str
    edition: str = ""


@dataclass(frozen=True)
class Edition:
    """One edition of the policy (one notice) with its dates and award types.

    ``in_force_from`` and ``in_force_until`` are both inclusive (有效期至);
    ``coverage_from`` is the first day an honour may have been gained to qualify.
    """

    code: str
    doc_no: str
    title: str
    in_force_from: date
    in_force_until: date
    coverage_from: date
    fund_name: str
    award_types: tuple[AwardType, ...]
    honour_types: tuple[HonourType, ...]
    levels: tuple[Level, ...]
    source: str
    issuer: str = ""
    fund_clause: str = ""
    matching_clause: str = ""
    in_force_clause: str = ""
    coverage_clause: str = ""

    def in_force_on(self, on: date) -> bool:
        """Return whether the edition is in force on ``on`` (both ends inclusive)."""
        return self.in_force_from <= on <= self.in_force_until

    def covers(self, qualified_on: date) -> bool:
        """Return whether an honour gained on ``qualified_on`` falls in the coverage period."""
        return self.coverage_from <= qualified_on <= self.in_force_until

    def award(self, code: str) -> AwardType:
        """Return the award type ``code`` of this edition; KeyError if absent."""
        for award in self.award_types:
            if award.code == code:
                return award
        raise KeyError(f"edition {self.code} has no award type {code!r}")

    def level(self, code: str) -> Level:
        """Return the level ``code`` of this edition; KeyError if absent."""
        for level in self.levels:
            if level.code == code:
                return level
        raise KeyError(f"edition {self.code} has no level {code!r}")

    def honour_type(self, code: str) -> HonourType:
        """Return the honour type ``code`` of this edition; KeyError if absent."""
        for honour in self.honour_types:
            if honour.code == code:
                return honour
        raise KeyError(f"edition {self.code} has no honour type {code!r}")

    def awards_for_measure(self, measure: int) -> tuple[AwardType, ...]:
        """Return the award types of one measure, in file order."""
        return tuple(a for a in self.award_types if a.measure == measure)


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


class _Reader:
    """Typed access to one TOML table; every error names the file and field path."""

    def __init__(self, file: Path, data: Mapping[str, Any], prefix: str = "") -> None:
        self.file = file
        self.data = data
        self.prefix = prefix

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str, message: str) -> PolicyError:
        return PolicyError(self.file, self.path(key) if key else self.prefix, message)

    def check_keys(self, allowed: Iterable[str]) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise self.error(unknown[0], "unknown key (typo?)")

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise self.error(key, "missing")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, got {value!r}")
        return value

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if key in self.data else None

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {value!r}")
        return value

    def day(self, key: str) -> date:
        value = self._get(key)
        if isinstance(value, datetime) or not isinstance(value, date):
            raise self.error(key, f"must be a TOML date (YYYY-MM-DD), got {value!r}")
        return value

    def opt_day(self, key: str) -> date | None:
        return self.day(key) if key in self.data else None

    def table(self, key: str) -> _Reader:
        value = self._get(key)
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return _Reader(self.file, value, self.path(key))

    def tables(self, key: str) -> list[_Reader]:
        value = self._get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.error(key, "must be a non-empty array of tables")
        return [_Reader(self.file, v, f"{self.path(key)}[{i}]") for i, v in enumerate(value)]


def _read_toml(file: Path) -> _Reader:
    try:
        with file.open("rb") as fh:
            return _Reader(file, tomllib.load(fh))
    except OSError as exc:
        raise PolicyError(file, "", f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(file, "", f"invalid TOML: {exc}") from exc


def _unique(readers: list[_Reader], key: str, values: list[str], what: str = "code") -> None:
    seen: set[str] = set()
    for reader, value in zip(readers, values, strict=True):
        if value in seen:
            raise reader.error(key, f"duplicate {what} {value!r}")
        seen.add(value)


# --- editions ------------------------------------------------------------------

_EDITION_KEYS = (
    "code",
    "doc_no",
    "title",
    "issuer",
    "in_force_from",
    "in_force_until",
    "coverage_from",
    "fund",
    "source",
    "honour_types",
    "levels",
    "award_types",
)
_AWARD_KEYS = ("code", "measure", "honour_type", "level", "name_zh", "cap_fen", "route", "clause")


def _parse_award(r: _Reader, edition: str, honours: set[str], levels: set[str]) -> AwardType:
    r.check_keys(_AWARD_KEYS)
    measure = r.integer("measure")
    if measure <= 0:
        raise r.error("measure", f"must be a positive measure number, got {measure}")
    cap_fen = r.integer("cap_fen")
    if cap_fen <= 0:
        raise r.error("cap_fen", f"must be a positive amount in fen, got {cap_fen}")
    honour_type = r.text("honour_type")
    if honour_type not in honours:
        raise r.error("honour_type", f"unknown honour type {honour_type!r}; known: {sorted(honours)}")
    level = r.text("level")
    if level not in levels:
        raise r.error("level", f"unknown level {level!r}; known: {sorted(levels)}")
    route = r.text("route")
    if not route.isidentifier():
        raise r.error("route", f"must be a BPMN process id (identifier), got {route!r}")
    return AwardType(
        code=r.text("code"),
        measure=measure,
        honour_type=honour_type,
        level=level,
        name_zh=r.text("name_zh"),
        cap_fen=cap_fen,
        clause=r.text("clause"),
        route=route,
        edition=edition,
    )


def _parse_edition(file: Path) -> Edition:
    r = _read_toml(file)
    r.check_keys(_EDITION_KEYS)
    code = r.text("code")

    honour_readers = r.tables("honour_types")
    honours = []
    for h in honour_readers:
        h.check_keys(("code", "name_zh"))
        honours.append(HonourType(code=h.text("code"), name_zh=h.text("name_zh")))
    _unique(honour_readers, "code", [h.code for h in honours])

    level_readers = r.tables("levels")
    levels = []
    for lv in level_readers:
        lv.check_keys(("code", "name_zh", "rank"))
        levels.append(Level(code=lv.text("code"), name_zh=lv.text("name_zh"), rank=lv.integer("rank")))
    _unique(level_readers, "code", [lv.code for lv in levels])
    _unique(level_readers, "rank", [str(lv.rank) for lv in levels], "rank")

    award_readers = r.tables("award_types")
    honour_codes = {h.code for h in honours}
    level_codes = {lv.code for lv in levels}
    awards = [_parse_award(a, code, honour_codes, level_codes) for a in award_readers]
    _unique(award_readers, "code", [a.code for a in awards])
    _unique(
        award_readers,
        "level",
        [f"{a.measure}/{a.honour_type}/{a.level}" for a in awards],
        "measure/honour_type/level",
    )

    in_force_from, in_force_until = r.day("in_force_from"), r.day("in_force_until")
    coverage_from = r.day("coverage_from")
    if in_force_until < in_force_from:
        raise r.error("in_force_until", f"{in_force_until} is before in_force_from {in_force_from}")
    if coverage_from > in_force_until:
        raise r.error("coverage_from", f"{coverage_from} is after in_force_until {in_force_until}")

    fund = r.table("fund")
    fund.check_keys(("name", "clause", "matching_clause"))
    source = r.table("source")
    source.check_keys(("document", "notes", "in_force_clause", "coverage_clause"))
    notes = "\n".join(filter(None, (source.opt_text("document"), source.text("notes").strip())))
    return Edition(
        code=code,
        doc_no=r.text("doc_no"),
        title=r.text("title"),
        in_force_from=in_force_from,
        in_force_until=in_force_until,
        coverage_from=coverage_from,
        fund_name=fund.text("name"),
        award_types=tuple(awards),
        honour_types=tuple(honours),
        levels=tuple(levels),
        source=notes,
        issuer=r.text("issuer"),
        fund_clause=fund.text("clause"),
        matching_clause=fund.opt_text("matching_clause") or "",
        in_force_clause=source.opt_text("in_force_clause") or "",
        coverage_clause=source.opt_text("coverage_clause") or "",
    )


def load_editions(directory: Path | None = None) -> list[Edition]:
    """Load and validate every edition file ``*.toml`` of ``directory``.

    The default directory is the package's own ``config/policy``. Editions are
    returned ordered by ``in_force_from``. Raises :class:`PolicyError` (naming the
    file and field) on any invalid file, duplicate edition code or empty directory.
    """
    directory = POLICY_DIR if directory is None else directory
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise PolicyError(directory, "", "no policy edition files (*.toml)")
    editions: list[Edition] = []
    seen: dict[str, Path] = {}
    for file in files:
        edition = _parse_edition(file)
        if edition.code in seen:
            other = seen[edition.code]
            raise PolicyError(file, "code", f"duplicate edition code {edition.code!r} (also in {other})")
        seen[edition.code] = file
        editions.append(edition)
    return sorted(editions, key=lambda e: (e.in_force_from, e.code))


def edition_for(editions: Iterable[Edition], on: date) -> Edition | None:
    """Return the edition in force on ``on`` (the latest-starting one if several), or None."""
    in_force = [e for e in editions if e.in_force_on(on)]
    return max(in_force, key=lambda e: e.in_force_from, default=None)


def find_award(editions: Iterable[Edition], code: str, edition: str | None = None) -> AwardType:
    """Return the award type ``code``, optionally restricted to edition code ``edition``.

    Raises KeyError when no edition has it, and LookupError when the code is
    found in several editions and ``edition`` is not given.
    """
    matches = [
        award
        for e in editions
        if edition is None or e.code == edition
        for award in e.award_types
        if award.code == code
    ]
    if not matches:
        where = f" in edition {edition!r}" if edition else ""
        raise KeyError(f"no award type {code!r}{where}")
    if len(matches) > 1:
        found = ", ".join(a.edition for a in matches)
        raise LookupError(f"award type {code!r} is in several editions ({found}); pass edition=")
    return matches[0]


# --- review units --------------------------------------------------------------

_UNIT_KEYS = ("code", "name_zh", "kind", "valid_from", "valid_until", "successor", "parent", "note")


def _parse_unit(r: _Reader) -> ReviewUnit:
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
    r = _read_toml(path)
    r.check_keys(("source", "units"))
    r.text("source")
    readers = r.tables("units")
    units = [_parse_unit(u) for u in readers]
    _unique(readers, "code", [u.code for u in units])
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
