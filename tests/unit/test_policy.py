"""Policy editions and review units loaded from config/ data."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from config.policy import (
    POLICY_DIR,
    Edition,
    PolicyError,
    edition_for,
    find_award,
    load_editions,
    load_review_units,
    resolve_unit,
)

EDITION_FILE = POLICY_DIR / "2022-109.toml"


@pytest.fixture(scope="module")
def edition() -> Edition:
    editions = load_editions()
    assert [e.code for e in editions] == ["2022-109"]
    return editions[0]


def test_edition_header(edition: Edition) -> None:
    assert edition.doc_no == "洪府办发〔2022〕109号"
    assert edition.in_force_from == date(2022, 9, 1)
    assert edition.in_force_until == date(2025, 9, 1)
    assert edition.coverage_from == date(2021, 1, 1)
    assert edition.fund_name == "市级中小企业发展专项资金"
    assert edition.fund_name in edition.fund_clause
    assert edition.issuer == "南昌市人民政府办公室"
    assert "2025年9月1日" in edition.in_force_clause
    assert edition.source


def test_twelve_award_types_with_exact_caps(edition: Edition) -> None:
    caps = {a.code: a.cap_fen for a in edition.award_types}
    assert caps == {
        "m2-little-giant-national": 30_000_000,
        "m2-single-champion-national": 30_000_000,
        "m2-single-champion-province": 20_000_000,
        "m2-specialised-little-giant-province": 20_000_000,
        "m2-srdi-sme-province": 6_000_000,
        "m2-srdi-sme-city": 5_000_000,
        "m8-service-platform-national": 30_000_000,
        "m8-service-platform-province": 20_000_000,
        "m8-service-platform-city": 10_000_000,
        "m9-innovation-base-national": 30_000_000,
        "m9-innovation-base-province": 20_000_000,
        "m9-innovation-base-city": 10_000_000,
    }
    assert all(type(a.cap_fen) is int for a in edition.award_types)
    assert [len(edition.awards_for_measure(m)) for m in (2, 8, 9)] == [6, 3, 3]


def test_caps_agree_with_their_clause(edition: Edition) -> None:
    for award in edition.award_types:
        match = re.search(r"最高不超过(\d+)万元", award.clause)
        assert match, award.code
        assert award.cap_fen == int(match.group(1)) * 10_000 * 100, award.code
        assert edition.level(award.level).name_zh.rstrip("级") in award.clause, award.code


def test_routes_and_references(edition: Edition) -> None:
    routes = {m: {a.route for a in edition.awards_for_measure(m)} for m in (2, 8, 9)}
    assert routes == {2: {"award_enterprise_honour"}, 8: {"award_service_platform"}, 9: {"award_base"}}
    assert {h.code for h in edition.honour_types} == {
        "little_giant",
        "single_champion",
        "specialised_little_giant",
        "srdi_sme",
        "service_platform",
        "innovation_base",
    }
    levels = sorted(edition.levels, key=lambda lv: -lv.rank)
    assert [(lv.code, lv.name_zh) for lv in levels] == [
        ("national", "国家级"),
        ("province", "江西省"),
        ("city", "南昌市"),
    ]
    assert all(a.edition == "2022-109" for a in edition.award_types)


def test_edition_for_and_find_award(edition: Edition) -> None:
    editions = [edition]
    assert edition_for(editions, date(2022, 9, 1)) is edition
    assert edition_for(editions, date(2025, 9, 1)) is edition  # 有效期至 is inclusive
    assert edition_for(editions, date(2025, 9, 2)) is None
    assert edition_for(editions, date(2022, 8, 31)) is None
    assert find_award(editions, "m2-little-giant-national").cap_fen == 30_000_000
    with pytest.raises(KeyError):
        find_award(editions, "m3-nothing")
    assert edition.covers(date(2021, 1, 1)) and not edition.covers(date(2020, 12, 31))


def _second_edition(tmp_path: Path) -> Path:
    text = EDITION_FILE.read_text(encoding="utf-8")
    text = text.replace('code = "2022-109"', 'code = "2025-001"', 1)
    text = text.replace("in_force_from = 2022-09-01", "in_force_from = 2025-09-02")
    text = text.replace("in_force_until = 2025-09-01", "in_force_until = 2028-09-01")
    text = text.replace("cap_fen = 5_000_000", "cap_fen = 8_000_000")
    (tmp_path / "2025-001.toml").write_text(text, encoding="utf-8")
    shutil.copy(EDITION_FILE, tmp_path / EDITION_FILE.name)
    return tmp_path


def test_second_edition_loads_without_code_change(tmp_path: Path) -> None:
    editions = load_editions(_second_edition(tmp_path))
    assert [e.code for e in editions] == ["2022-109", "2025-001"]
    new = edition_for(editions, date(2026, 1, 1))
    assert new is not None and new.code == "2025-001"
    assert new.award("m2-srdi-sme-city").cap_fen == 8_000_000
    assert edition_for(editions, date(2024, 1, 1)) == editions[0]
    with pytest.raises(LookupError):
        find_award(editions, "m2-srdi-sme-city")  # ambiguous across editions
    assert find_award(editions, "m2-srdi-sme-city", edition="2022-109").cap_fen == 5_000_000


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = EDITION_FILE.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "bad.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("cap_fen = 30_000_000", "cap_fen = 300000.0", "award_types[0].cap_fen"),
        ("cap_fen = 30_000_000", "cap_fen = -1", "award_types[0].cap_fen"),
        ('honour_type = "little_giant"', 'honour_type = "giant"', "award_types[0].honour_type"),
        ('level = "national"', 'level = "planet"', "award_types[0].level"),
        ('code = "m2-single-champion-national"', 'code = "m2-little-giant-national"', "award_types[1].code"),
        ("in_force_until = 2025-09-01", "in_force_until = 2021-09-01", "in_force_until"),
        ('name_zh = "国家级"', 'name_zh = "国家级"\ncolour = "red"', "levels[0].colour"),
        ('doc_no = "洪府办发〔2022〕109号"\n', "", "doc_no"),
    ],
)
def test_broken_file_names_file_and_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    directory = _broken(tmp_path, old, new)
    with pytest.raises(PolicyError) as info:
        load_editions(directory)
    assert info.value.file == directory / "bad.toml"
    assert info.value.field == field
    assert "bad.toml" in str(info.value) and field in str(info.value)


def test_duplicate_edition_code_and_empty_dir(tmp_path: Path) -> None:
    shutil.copy(EDITION_FILE, tmp_path / "a.toml")
    shutil.copy(EDITION_FILE, tmp_path / "b.toml")
    with pytest.raises(PolicyError, match="duplicate edition code"):
        load_editions(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PolicyError):
        load_editions(empty)


def test_review_units() -> None:
    units = {u.code: u for u in load_review_units()}
    assert len(units) == 14
    kinds = [u.kind for u in units.values()]
    assert (kinds.count("district"), kinds.count("county")) == (6, 3)
    assert kinds.count("development_zone") == 4 and kinds.count("management_office") == 1
    assert {u.name_zh for u in units.values()} >= {
        "东湖区",
        "西湖区",
        "青云谱区",
        "青山湖区",
        "新建区",
        "红谷滩区",
        "南昌县",
        "进贤县",
        "安义县",
        "南昌高新技术产业开发区",
        "南昌经济技术开发区",
        "小蓝经济技术开发区",
        "南昌临空经济区",
        "湾里管理局",
    }
    linkong = units["linkong"]
    assert linkong.valid_until == date(2023, 4, 1) and linkong.successor == "jingkai"
    assert "April 2023" in linkong.note
    assert units["wanli"].successor == "xinjian" and "2020" in units["wanli"].note
    assert units["xiaolan"].parent == "nanchang_county"
    assert resolve_unit(units.values(), "linkong", date(2023, 3, 31)).code == "linkong"
    assert resolve_unit(units.values(), "linkong", date(2024, 1, 2)).code == "jingkai"
    assert resolve_unit(units.values(), "wanli", date(2024, 1, 2)).code == "wanli"


def test_review_units_validation(tmp_path: Path) -> None:
    bad = tmp_path / "units.toml"
    unit = 'source = "x"\n[[units]]\ncode = "a"\nname_zh = "甲"\n'
    bad.write_text(unit + 'kind = "district"\nsuccessor = "b"\n', encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_review_units(bad)
    assert info.value.file == bad and info.value.field == "units[0].successor"
    bad.write_text(unit + 'kind = "province"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"units\[0\]\.kind"):
        load_review_units(bad)
