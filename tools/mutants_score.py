"""Print the result of `mutmut run` (make mutants): the score per module and every surviving mutant.

Reads mutmut's own records (mutants/**/*.py.meta, the exit code of each mutant's test run) and
mutmut's status names. Score = killed / (killed + survived); mutants no test reaches ("no tests"),
timeouts and those not run (a run stopped by its time limit) are counted apart.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from mutmut.stats import status_by_exit_code


def main(root: Path = Path("mutants")) -> int:
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print("no mutmut results under mutants/: run `make mutants`")
        return 1
    total: Counter[str] = Counter()
    survivors: list[str] = []
    print(f"mutmut {version('mutmut')}, results as of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{'module':40} {'killed':>7} {'survived':>9} {'no tests':>9} {'other':>6} {'score':>7}")
    for meta in metas:
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        counts = Counter(status_by_exit_code[code] for code in codes.values())
        total.update(counts)
        survivors += sorted(k for k, code in codes.items() if status_by_exit_code[code] == "survived")
        killed, survived = counts["killed"], counts["survived"]
        other = sum(counts.values()) - killed - survived - counts["no tests"]
        score = f"{100 * killed / (killed + survived):.1f}%" if killed + survived else "-"
        module = str(meta.relative_to(root)).removesuffix(".meta")
        print(f"{module:40} {killed:7} {survived:9} {counts['no tests']:9} {other:6} {score:>7}")
    killed, survived = total["killed"], total["survived"]
    score = f"{100 * killed / (killed + survived):.1f}%" if killed + survived else "-"
    print(f"{'all':40} {killed:7} {survived:9} {total['no tests']:9} "
          f"{sum(total.values()) - killed - survived - total['no tests']:6} {score:>7}")
    not_run = total["not checked"]
    if not_run:
        print(f"{not_run} mutants not run (the run stopped at its time limit, or was narrowed to other mutants)")
    print(f"\nsurviving mutants ({len(survivors)}; `.venv/bin/mutmut show NAME` prints the change):")
    for name in survivors:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
