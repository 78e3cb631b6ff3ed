"""`.ci/check_skips.py`: a CI pass fails when it skipped the PostgreSQL or the browser tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "check_skips.py"
REPORT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.unit.test_x" name="test_ok" time="0.1"/>
{skips}
</testsuite></testsuites>"""
PG = ('<testcase classname="tests.integration.test_pg" name="test_race"><skipped type="pytest.skip" '
      'message="needs PostgreSQL: set SMEFLOW_TEST_DATABASE_URL">skip</skipped></testcase>')
BROWSER = ('<testcase classname="tests.web.test_browser" name="test_path"><skipped type="pytest.skip" '
           'message="needs Debian\'s chromium at /usr/bin/chromium">skip</skipped></testcase>')


def check(tmp_path: Path, skips: str, *flags: str) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "junit.xml"
    report.write_text(REPORT.format(skips=skips), encoding="utf-8")
    return subprocess.run([sys.executable, str(SCRIPT), *flags, str(report)], capture_output=True, text=True,
                          check=False)


@pytest.mark.parametrize(("skips", "flags", "code"), [
    ("", ("--browser", "--postgres"), 0),
    (PG, ("--browser",), 0),                  # the SQLite pass may skip the PostgreSQL tests
    (PG, ("--browser", "--postgres"), 1),     # the PostgreSQL pass may not
    (BROWSER, ("--browser",), 1),             # no pass may skip the browser tests
    (BROWSER, ("--browser", "--postgres"), 1),
])
def test_a_pass_fails_when_it_skipped_what_it_must_run(tmp_path: Path, skips: str, flags: tuple[str, ...],
                                                      code: int) -> None:
    result = check(tmp_path, skips, *flags)
    assert result.returncode == code, result.stdout + result.stderr
    if code:
        assert "SKIPPED" in result.stdout and ("test_race" in result.stdout or "test_path" in result.stdout)
