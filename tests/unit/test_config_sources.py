"""The configuration files cite the public documents their figures come from (document number,
article, date), never a file on some machine that a reader of the file does not have."""

from __future__ import annotations

import re
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / "config"
# an absolute path, a home directory, or a project-internal notes file
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|root|tmp|Users|var)/|~/|DOMAIN\.md|\bseeds/")


def test_no_config_file_cites_a_path_on_a_machine() -> None:
    found = [f"{p.relative_to(CONFIG)}:{n}: {line.strip()}"
             for p in sorted(CONFIG.rglob("*")) if p.suffix in {".toml", ".md", ".py"}
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if MACHINE_PATH.search(line)]
    assert found == []


def test_the_edition_and_the_statutes_name_their_documents() -> None:
    edition = (CONFIG / "policy" / "2022-109.toml").read_text(encoding="utf-8")
    assert "洪府办发〔2022〕109号" in edition and "2022-09-01" in edition
    arrears = (CONFIG / "arrears.toml").read_text(encoding="utf-8")
    for cited in ("国务院令第728号", "国务院令第802号", "2020-09-01", "2025-06-01", "投诉处理暂行办法"):
        assert cited in arrears, cited
