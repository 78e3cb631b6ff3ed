"""Fail a CI pass that silently skipped what it was meant to run.

Reads pytest's JUnit XML report and fails (exit 1, one line per skipped test) if:
  --postgres  any PostgreSQL test was skipped (skip reason mentions PostgreSQL), or
  --browser   any browser test was skipped (skip reason mentions chromium or playwright).
Prints the counts it found either way. Standard library only (runs before or without the venv).
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET

KINDS = {"postgres": ("postgresql",), "browser": ("chromium", "playwright")}


def skipped(report: str) -> list[tuple[str, str]]:
    """(test id, skip message) of every skipped test case in a JUnit XML report."""
    out = []
    for case in ET.parse(report).getroot().iter("testcase"):
        skip = case.find("skipped")
        if skip is not None:
            test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
            out.append((test_id, f"{skip.get('message', '')} {skip.text or ''}".strip()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="pytest --junitxml file")
    parser.add_argument("--postgres", action="store_true", help="no PostgreSQL test may be skipped")
    parser.add_argument("--browser", action="store_true", help="no browser test may be skipped")
    args = parser.parse_args(argv)
    tests = ET.parse(args.report).getroot().iter("testcase")
    total = sum(1 for _ in tests)
    found = skipped(args.report)
    required = [kind for kind in KINDS if getattr(args, kind)]
    bad = [(kind, test_id, message) for test_id, message in found for kind in required
           if any(word in message.lower() for word in KINDS[kind])]
    print(f"{args.report}: {total} tests, {len(found)} skipped; required to run: {', '.join(required) or 'nothing'}")
    for kind, test_id, message in bad:
        print(f"SKIPPED {kind} test {test_id}: {message}")
    if total == 0:
        print("no test in the report")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
