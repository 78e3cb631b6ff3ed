"""The pool's data (config/pool.toml): tiers, the honours a list may carry beyond the edition's, level
words and division codes; and resolving what a list writes into the edition's codes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import config
from config.policy import Edition

POOL_FILE = Path(config.__file__).resolve().parent / "pool.toml"
_QUOTES = str.maketrans("", "", "\"'“”‘’「」 ")


@dataclass(frozen=True)
class Tier:
    code: str
    rank: int
    name_zh: str
    honours: tuple[str, ...]


@dataclass(frozen=True)
class PoolData:
    honour_names: dict[str, str]  # code -> name, pool-only honour types
    tiers: tuple[Tier, ...]  # lowest first
    level_aliases: dict[str, str]
    divisions: dict[str, str]  # division code -> review unit code


@lru_cache(maxsize=4)
def load(path: Path = POOL_FILE) -> PoolData:
    """Read and check config/pool.toml; ValueError naming the field on a bad file."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    names = {}
    for h in raw.get("honour_types", []):
        if not h.get("code") or not h.get("name_zh") or not h.get("source"):
            raise ValueError(f"{path.name}: honour_types needs code, name_zh and source")
        names[str(h["code"])] = str(h["name_zh"])
    tiers = tuple(
        sorted(
            (
                Tier(str(t["code"]), int(t["rank"]), str(t["name_zh"]), tuple(t["honours"]))
                for t in raw.get("tiers", [])
            ),
            key=lambda t: t.rank,
        )
    )
    if not tiers or len({t.rank for t in tiers}) != len(tiers):
        raise ValueError(f"{path.name}: tiers must be present with distinct ranks")
    return PoolData(
        names,
        tiers,
        {str(k): str(v) for k, v in raw.get("level_aliases", {}).items()},
        {str(k): str(v) for k, v in raw.get("divisions", {}).items()},
    )


def _key(text: str) -> str:
    return text.translate(_QUOTES).lower()


@dataclass(frozen=True)
class Vocabulary:
    """What a list may write for an honour type and a level, resolved to codes (the editions' and the pool's)."""

    honours: dict[str, str]
    levels: dict[str, str]
    honour_names: dict[str, str]
    level_names: dict[str, str]

    def honour(self, text: str) -> str | None:
        return self.honours.get(_key(text))

    def level(self, text: str) -> str | None:
        return self.levels.get(_key(text))


def vocabulary(editions: list[Edition], data: PoolData | None = None) -> Vocabulary:
    """Every honour type and level the loaded editions know (plus the pool's own honour types)."""
    data = data or load()
    honours: dict[str, str] = {}
    levels: dict[str, str] = {}
    honour_names = dict(data.honour_names)
    level_names: dict[str, str] = {}
    for ed in editions:
        for h in ed.honour_types:
            honour_names.setdefault(h.code, h.name_zh)
        for lv in ed.levels:
            level_names.setdefault(lv.code, lv.name_zh)
    for code, name in honour_names.items():
        honours[_key(code)] = code
        honours[_key(name)] = code
        honours.setdefault(_key(name.removesuffix("企业")), code)
    for code, name in level_names.items():
        levels[_key(code)] = code
        levels[_key(name)] = code
    for alias, code in data.level_aliases.items():
        if code in level_names:
            levels.setdefault(_key(alias), code)
    return Vocabulary(honours, levels, honour_names, level_names)


def tier_of(honour_types: set[str], data: PoolData | None = None) -> Tier | None:
    """The highest tier one of the honour types reaches, or None."""
    data = data or load()
    for tier in reversed(data.tiers):
        if honour_types.intersection(tier.honours):
            return tier
    return None
