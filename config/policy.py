"""Policy editions, loaded from TOML data files (review units: config.review_units).

The policy (洪府办发〔2022〕109号 and any successor) lives in ``config/policy/*.toml``,
one file per edition; the review units (districts, counties, development zones,
management offices) live in ``config/review_units.toml``. This module only reads,
validates and types that data: it holds no policy number, date or name itself.
A bad file raises :class:`PolicyError` naming the file and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from config.review_units import UNIT_KINDS, ReviewUnit, load_review_units, resolve_unit
from config.toml_reader import PolicyError, Reader, read_toml, unique

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
    "parse_edition",
    "parse_edition_text",
    "resolve_unit",
]

POLICY_DIR = Path(__file__).parent / "policy"


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
    #: set when read from the database: the stored revision (1, 2, ...), its row id and the file's SHA-256
    revision: int = 0
    revision_id: int | None = None
    sha256: str = ""

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


def _parse_award(r: Reader, edition: str, honours: set[str], levels: set[str]) -> AwardType:
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
    return parse_edition(read_toml(file))


def parse_edition_text(text: str, name: str) -> Edition:
    """Parse one edition from TOML text (``name`` labels errors); PolicyError on the first problem.

    ``config.policy_check.check_edition_text`` lists every problem instead; call it first.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(Path(name), "", f"invalid TOML: {exc}") from exc
    return parse_edition(Reader(Path(name), data))


def parse_edition(r: Reader) -> Edition:
    """Build an Edition from the root table of an edition file."""
    r.check_keys(_EDITION_KEYS)
    code = r.text("code")

    honour_readers = r.tables("honour_types")
    honours = []
    for h in honour_readers:
        h.check_keys(("code", "name_zh"))
        honours.append(HonourType(code=h.text("code"), name_zh=h.text("name_zh")))
    unique(honour_readers, "code", [h.code for h in honours])

    level_readers = r.tables("levels")
    levels = []
    for lv in level_readers:
        lv.check_keys(("code", "name_zh", "rank"))
        levels.append(Level(code=lv.text("code"), name_zh=lv.text("name_zh"), rank=lv.integer("rank")))
    unique(level_readers, "code", [lv.code for lv in levels])
    unique(level_readers, "rank", [str(lv.rank) for lv in levels], "rank")

    award_readers = r.tables("award_types")
    honour_codes = {h.code for h in honours}
    level_codes = {lv.code for lv in levels}
    awards = [_parse_award(a, code, honour_codes, level_codes) for a in award_readers]
    unique(award_readers, "code", [a.code for a in awards])
    unique(
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


